import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

@Suite struct AnthropicProviderTests {
    static let request = CompletionRequest(
        model: "claude-sonnet-4-5", messages: [.system("sys"), .user("1. calm#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")],
        responseSchema: ChunkAnswerSchema.responseSchema(count: 30, includeReason: true), temperature: 0.2, seed: 7, maxTokens: 4000)

    static func body(_ http: HTTPRequest) throws -> JSONValue { try StrictJSON.parse(String(decoding: http.body ?? [], as: UTF8.self)) }

    @Test func theBodyHoldsOnlyKeysTheSDKDefinesAndTheSchemaAsStructuredOutput() throws {
        let provider = AnthropicProvider(baseURL: "https://example.invalid/", apiKey: "sk-ant-test-key")
        let http = provider.httpRequest(for: Self.request)
        #expect(http.url == "https://example.invalid/v1/messages", "the base URL is the API root")
        let headers = Dictionary(uniqueKeysWithValues: http.headers.map { ($0.name.lowercased(), $0.value) })
        #expect(headers["authorization"] == "Bearer sk-ant-test-key" && headers["anthropic-version"] == AnthropicProvider.apiVersion)
        let body = try Self.body(http)
        #expect(Set(body.objectValue?.keys ?? []) == ["model", "max_tokens", "system", "messages", "output_config"], "no temperature, no seed: the SDK defines neither")
        #expect(body["system"] == "sys" && body["messages"]?.arrayValue?.count == 1 && body["max_tokens"] == 4000)
        #expect(body["output_config"]?["format"]?["type"] == "json_schema")
        #expect(body["output_config"]?["format"]?["schema"] == Self.request.responseSchema?.schema)
    }

    @Test func theToolModeForcesOneToolWhoseInputSchemaIsTheAnswerSchema() throws {
        let body = AnthropicWire.body(for: Self.request, mode: .tool)
        #expect(body["output_config"] == nil)
        let tool = try #require(body["tools"]?.arrayValue?.first)
        #expect(tool["input_schema"] == Self.request.responseSchema?.schema)
        #expect(body["tool_choice"]?["type"] == "tool" && body["tool_choice"]?["name"] == tool["name"])
    }

    static func http(_ status: Int, _ body: JSONValue, headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Array(body.description.utf8))
    }

    static func message(_ content: [JSONValue], stop: String) -> JSONValue {
        ["id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": .array(content), "stop_reason": .string(stop),
         "stop_sequence": .null, "usage": ["input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 60, "cache_creation_input_tokens": 5]]
    }

    @Test func answersDecodeWithStopReasonsUsageAndToolInput() throws {
        let text = try AnthropicWire.decode(Self.http(200, Self.message([["type": "text", "text": "{\"items\":[]}"]], stop: "end_turn")), model: "m")
        #expect(text.text == "{\"items\":[]}" && text.finishReason == .stop)
        #expect(text.usage == TokenUsage(promptTokens: 165, completionTokens: 20, cachedTokens: 60), "cache reads and writes are prompt tokens, reads are cached")
        let tool = try AnthropicWire.decode(Self.http(200, Self.message([["type": "tool_use", "id": "t", "name": "x", "input": ["items": []]]], stop: "tool_use")), model: "m")
        #expect(tool.text == "{\"items\":[]}" && tool.finishReason == .stop)
        let cut = try AnthropicWire.decode(Self.http(200, Self.message([["type": "text", "text": "{\"ite"]], stop: "max_tokens")), model: "m")
        #expect(cut.finishReason == .length, "max_tokens is a truncation: the chunk is split")
        let refused = try AnthropicWire.decode(Self.http(200, Self.message([], stop: "refusal")), model: "m")
        #expect(refused.refusal != nil && refused.text == nil)
    }

    static func error(_ status: Int, _ type: String, headers: [String: String] = [:]) -> LLMError? {
        do {
            _ = try AnthropicWire.decode(http(status, ["type": "error", "error": ["type": .string(type), "message": "m"]], headers: headers), model: "m")
            return nil
        } catch { return error }
    }

    @Test func errorsMapOntoTheKindsAndTheRateLimitHeadersFeedTheLimiter() throws {
        let reset = ISO8601DateFormatter().string(from: Date().addingTimeInterval(30))
        let limited = try #require(Self.error(429, "rate_limit_error", headers: ["retry-after": "2", "anthropic-ratelimit-requests-remaining": "0",
                                                                                 "anthropic-ratelimit-requests-reset": reset, "request-id": "req_9"]))
        #expect(limited.kind == .rateLimited && limited.retryAfter == .seconds(2) && limited.context.requestID == "req_9")
        #expect(limited.raw?.headers["x-ratelimit-remaining-requests"] == "0", "anthropic-ratelimit-* under the names the limiter reads")
        let reset29 = try #require(limited.raw?.headers["x-ratelimit-reset-requests"].flatMap { Int($0.dropLast(2)) })
        #expect((25_000...30_000).contains(reset29))
        let overloaded = try #require(Self.error(529, "overloaded_error"))
        #expect(overloaded.kind.isRetryable && !overloaded.kind.isFatal)
        #expect(try #require(Self.error(401, "authentication_error")).kind.isFatal)
        #expect(try #require(Self.error(403, "permission_error")).kind.isFatal)
        #expect(try #require(Self.error(500, "api_error")).kind == .serverError)
    }

    @Test func aModelThatRefusesStructuredOutputsIsAskedWithTheForcedToolFromThenOn() async throws {
        let transport = MockHTTPTransport { request in
            let body = try StrictJSON.parse(String(decoding: request.body ?? [], as: UTF8.self))
            if body["output_config"] != nil {
                return Self.http(400, ["type": "error", "error": ["type": "invalid_request_error", "message": "output_config.format: not supported for this model"]])
            }
            return Self.http(200, Self.message([["type": "tool_use", "id": "t", "name": "x", "input": ["items": []]]], stop: "tool_use"))
        }
        let provider = AnthropicProvider(baseURL: "http://x.invalid", apiKey: nil, transport: transport)
        #expect(try await provider.complete(Self.request).text == "{\"items\":[]}")
        #expect(try await provider.complete(Self.request).text == "{\"items\":[]}")
        #expect(transport.requests.count == 3, "one refusal, then the tool for both requests")
        #expect(provider.mode(for: Self.request.model) == .tool)
    }

    @Test func theKeyIsRequiredForTheRealAPIAndScrubbed() throws {
        #expect(throws: LLMError.self) { try AnthropicProvider.fromEnvironment([:], baseURL: nil) }
        _ = try AnthropicProvider.fromEnvironment(["ANTHROPIC_API_KEY": "sk-ant-scrub-me-123456"], baseURL: nil)
        #expect(!SecretRedactor.shared.scrub("key sk-ant-scrub-me-123456").contains("sk-ant-scrub-me-123456"))
    }

    @Test func itConformsAgainstTheFaultServerAndSaysWhoItIs() async throws {
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let provider = AnthropicProvider(baseURL: server.server.baseURL, apiKey: "sk-ant-conformance")
        let problems = await ProviderConformance.check(provider, requireIdentity: true)
        #expect(problems.isEmpty, "\(problems)")
        #expect(provider.identity == server.server.baseURL)
        #expect(server.counts.dialects["anthropic"] ?? 0 > 0 && server.counts.malformed == 0)
    }
}
