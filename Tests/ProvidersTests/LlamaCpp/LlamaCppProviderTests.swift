import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// The adapter against a loopback server that answers with what the real llama-server sent
/// (the recordings under fixtures/, captured by scripts/record-llamacpp-wire.sh and
/// `promptlab relabel --record`).
@Suite struct LlamaCppProviderTests {
    /// A recorded real completion: its canonical request and the HTTP body the server returned.
    static func recordedCompletion() throws -> (request: JSONValue, body: String) {
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: Repo.recordings.path).filter { $0.hasSuffix(".json") }.sorted().first)
        let value = try StrictJSON.parse(try String(contentsOf: Repo.recordings.appendingPathComponent(file), encoding: .utf8))
        return (try #require(value["request"]), try #require(value["interactions"]?.arrayValue?.first?["body"]?.stringValue))
    }

    static let request = CompletionRequest(
        model: "gemma3-270m-q4_k_m", messages: [.system("sys"), .user("1. calm#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")],
        responseSchema: ChunkAnswerSchema.responseSchema(count: 1, includeReason: true), temperature: 0, seed: 42, maxTokens: 512)

    @Test func sendsTheNestedSchemaShapeAndDecodesARealAnswer() async throws {
        let recorded = try Self.recordedCompletion()
        let seen = Mutex<[LoopbackHTTPServer.Request]>([])
        let server = try LoopbackHTTPServer { request in
            seen.withLock { $0.append(request) }
            return .json(200, recorded.body)
        }
        defer { server.stop() }
        let provider = LlamaCppProvider(baseURL: server.baseURL + "/")
        let response = try await provider.complete(Self.request)

        let sent = try #require(seen.withLock { $0.first })
        #expect(sent.method == "POST" && sent.path == "/v1/chat/completions")
        #expect(sent.headers["content-type"] == "application/json")
        let body = try StrictJSON.parse(sent.bodyText)
        #expect(body["response_format"]?["type"] == "json_schema")
        #expect(body["response_format"]?["json_schema"]?["schema"] == Self.request.responseSchema?.schema)
        #expect(body["response_format"]?["schema"] == nil, "the flat shape is ignored by llama.cpp")
        #expect(body["cache_prompt"] == true)
        #expect(body["seed"] == 42 && body["temperature"] == 0 && body["max_tokens"] == 512)
        #expect(body["messages"]?[""] == nil && body["messages"]?.arrayValue?.count == 2)

        let expected = try StrictJSON.parse(recorded.body)
        #expect(response.text == expected["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
        #expect(response.finishReason == FinishReason(expected["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue ?? ""))
        #expect(response.usage?.promptTokens == expected["usage"]?["prompt_tokens"]?.intValue)
        #expect(response.usage?.completionTokens == expected["usage"]?["completion_tokens"]?.intValue)
        #expect(response.timings?.predictedTokens == expected["timings"]?["predicted_n"]?.intValue)
        #expect(response.timings?.cachedTokens == expected["timings"]?["cache_n"]?.intValue)
        #expect(response.raw?.body == recorded.body)
        // The recorded request is what this project sends: nested schema, the bundled prompt.
        #expect(recorded.request["response_schema"]?["name"] == .string(ChunkAnswerSchema.name))
    }

    @Test func theRealErrorEnvelopeMapsToBadRequest() async throws {
        let body = try Repo.text("fixtures/llamacpp/error-400.body")
        let server = try LoopbackHTTPServer { _ in .json(400, body) }
        defer { server.stop() }
        await #expect { try await LlamaCppProvider(baseURL: server.baseURL).complete(Self.request) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .badRequest && !e.isRetryable && e.message.contains("Expected 'messages' to be an array")
                && e.context.httpStatus == 400 && e.raw?.body == body
        }
    }

    @Test func waitsWhileTheModelLoadsThenReadsSlots() async throws {
        let loading = try Repo.text("fixtures/llamacpp/health-loading.body")
        let ready = try Repo.text("fixtures/llamacpp/health-ready.body")
        let props = try Repo.text("fixtures/llamacpp/props.body")
        let polls = Mutex(0)
        let server = try LoopbackHTTPServer { request in
            switch request.path {
            case "/health":
                let n = polls.withLock { p -> Int in p += 1; return p }
                return n <= 3 ? .json(503, loading) : .json(200, ready)
            case "/props": return .json(200, props)
            default: return .json(404, "{}")
            }
        }
        defer { server.stop() }
        let provider = LlamaCppProvider(baseURL: server.baseURL)
        // The bound is far from what the test needs (four loopback polls): under the whole
        // suite's load on 2 cores, four polls once took over 10 s. What is checked is the count.
        try await provider.waitUntilReady(timeout: .seconds(120), interval: .milliseconds(10))
        #expect(polls.withLock { $0 } == 4)
        let capabilities = try await provider.prepare()
        let expectedSlots = try StrictJSON.parse(props)["total_slots"]?.intValue
        #expect(capabilities.parallelSlots == expectedSlots)
        #expect(capabilities.constrainsOutput)
        // The loading answer itself maps to "unavailable", which is retryable.
        let loadingError = ChatCompletionsWire.error(status: 503, body: try StrictJSON.parse(loading), headers: [:], context: .init(provider: "llamacpp"), raw: RawResponse(status: 503, headers: [:], body: loading))
        #expect(loadingError.kind == .unavailable && loadingError.isRetryable)
    }

    @Test func givesUpWaitingWithAClearError() async throws {
        let loading = try Repo.text("fixtures/llamacpp/health-loading.body")
        let server = try LoopbackHTTPServer { _ in .json(503, loading) }
        defer { server.stop() }
        await #expect { try await LlamaCppProvider(baseURL: server.baseURL).waitUntilReady(timeout: .milliseconds(300), interval: .milliseconds(20)) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .unavailable && e.message.contains("not ready within") && e.message.contains("Loading model")
        }
    }

    @Test func statusesMapToErrorKinds() throws {
        func error(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> LLMError {
            ChatCompletionsWire.error(status: status, body: try? StrictJSON.parse(body), headers: headers, context: .init(), raw: RawResponse(status: status, headers: headers, body: body))
        }
        func kind(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> LLMError.Kind { error(status, body, headers).kind }
        #expect(kind(401, #"{"error":{"message":"bad key"}}"#) == .authentication)
        #expect(kind(403, "{}") == .permissionDenied)
        #expect(kind(404, "{}") == .notFound)
        #expect(kind(408, "{}") == .conflict)
        #expect(kind(429, #"{"error":{"code":"insufficient_quota"}}"#) == .quotaExhausted)
        #expect(kind(429, "{}", ["retry-after": "1.5"]) == .rateLimited && error(429, "{}", ["retry-after": "1.5"]).retryAfter == .milliseconds(1500))
        #expect(error(429, "{}", ["retry-after-ms": "250", "retry-after": "9"]).retryAfter == .milliseconds(250))
        // One parser: an HTTP date and x-ratelimit-reset count too.
        let date = Date().addingTimeInterval(30)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let fromDate = try #require(error(429, "{}", ["retry-after": formatter.string(from: date)]).retryAfter)
        #expect(fromDate > .seconds(25) && fromDate <= .seconds(30))
        #expect(error(429, "{}", ["x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"]).retryAfter == .milliseconds(1500))
        #expect(kind(500, "oops") == .serverError)
        #expect(kind(301, "", ["location": "http://elsewhere/v1"]) == .badRequest && error(301, "", ["location": "http://elsewhere/v1"]).message.contains("http://elsewhere/v1"))
        #expect(kind(422, "{}") == .badRequest)
    }

    @Test func registryBuildsLlamaCppFromFlagOrEnvironment() throws {
        let registry = BuiltinProviders.registry()
        #expect(registry.all.map(\.name) == ["anthropic", "fixture", "gemini", "llamacpp", "openai"])
        let fromEnv = try #require(try registry.make("llamacpp", configuration: .init(environment: ["LLAMA_SERVER_URL": "http://10.0.0.1:9"])) as? LlamaCppProvider)
        #expect(fromEnv.baseURL == "http://10.0.0.1:9")
        let fromFlag = try #require(try registry.make("llamacpp", configuration: .init(baseURL: "http://127.0.0.1:7/", environment: ["LLAMA_SERVER_URL": "x"])) as? LlamaCppProvider)
        #expect(fromFlag.baseURL == "http://127.0.0.1:7")
        let byDefault = try #require(try registry.make("llamacpp", configuration: .init()) as? LlamaCppProvider)
        #expect(byDefault.baseURL == "http://127.0.0.1:8080")
        #expect(throws: LLMError.self) { try registry.make("fixture", configuration: .init()) }
    }
}
