import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// Next-token requests on the wire: llama.cpp's `/completion` and OpenAI's chat `logprobs`,
/// against a loopback server answering with bodies a real llama-server sent
/// (fixtures/logprob: the recordings of `LogProbLiveTests.recordTheSampleRun` and
/// `chat-logprobs.body`, its `/v1/chat/completions` answer with `logprobs: true`); recorded and
/// replayed by the fixture store and the response cache.
@Suite struct NextTokenWireTests {
    static let folder = Repo.root.appendingPathComponent("fixtures/logprob/gemma3-270m")

    /// One real recording: its prompt and the `/completion` body the server returned.
    static func recorded() throws -> (request: CompletionRequest, body: String) {
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted().first)
        let value = try StrictJSON.parse(try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8))
        let request = CompletionRequest.nextToken(model: try #require(value["request"]?["model"]?.stringValue),
                                                  prompt: try #require(value["request"]?["prompt"]?.stringValue),
                                                  topTokens: try #require(value["request"]?["top_tokens"]?.intValue))
        #expect(request.canonicalHash == value["key"]?.stringValue, "the recorded key is the request's hash")
        return (request, try #require(value["interactions"]?.arrayValue?.first?["body"]?.stringValue))
    }

    @Test func llamaCppPostsToCompletionAndDecodesTheTopLogprobsAndTimings() async throws {
        let (request, body) = try Self.recorded()
        let seen = Mutex<[LoopbackHTTPServer.Request]>([])
        let server = try LoopbackHTTPServer { r in
            seen.withLock { $0.append(r) }
            return .json(200, body)
        }
        defer { server.stop() }
        let provider = LlamaCppProvider(baseURL: server.baseURL + "/")
        #expect(provider.capabilities.nextTokenProbabilities)
        let response = try await provider.complete(request)

        let sent = try #require(seen.withLock { $0.first })
        #expect(sent.method == "POST" && sent.path == "/completion")
        let sentBody = try StrictJSON.parse(sent.bodyText)
        #expect(sentBody == ["prompt": .string(request.prompt!), "n_predict": 1, "n_probs": 20, "temperature": 0, "cache_prompt": true])

        let real = try StrictJSON.parse(body)
        let top = try #require(real["completion_probabilities"]?.arrayValue?.first?["top_logprobs"]?.arrayValue)
        let tokens = try #require(response.nextTokens)
        #expect(tokens.count == top.count && tokens.count == 20)
        #expect(tokens.map(\.token) == top.map { $0["token"]?.stringValue ?? "" })
        #expect(tokens.map(\.logprob) == top.map { $0["logprob"]?.doubleValue ?? .nan })
        let timings = try #require(real["timings"])
        #expect(response.timings == ServerTimings(promptTokens: timings["prompt_n"]!.intValue!, promptMilliseconds: timings["prompt_ms"]!.doubleValue!,
                                                  predictedTokens: timings["predicted_n"]!.intValue!, predictedMilliseconds: timings["predicted_ms"]!.doubleValue!,
                                                  cachedTokens: timings["cache_n"]!.intValue!))
        #expect(response.usage?.cachedTokens == timings["cache_n"]?.intValue)
        #expect(response.usage?.promptTokens == timings["prompt_n"]!.intValue! + timings["cache_n"]!.intValue!)
        #expect(response.finishReason == .stop, "a one-token answer is complete (and may be cached)")
        #expect(response.raw?.body == body)
        // A chat request still goes to the chat endpoint.
        #expect(provider.httpRequest(for: CompletionRequest(model: "m", messages: [.user("x")])).url.hasSuffix("/v1/chat/completions"))
    }

    @Test func openAIAsksChatLogprobsAndDecodesARealAnswer() async throws {
        let body = try Repo.text("fixtures/logprob/chat-logprobs.body")
        let seen = Mutex<[LoopbackHTTPServer.Request]>([])
        let server = try LoopbackHTTPServer { r in
            seen.withLock { $0.append(r) }
            return .json(200, body)
        }
        defer { server.stop() }
        let provider = OpenAIProvider(baseURL: server.baseURL, apiKey: "sk-test")
        #expect(provider.capabilities.nextTokenProbabilities)
        let response = try await provider.complete(.nextToken(model: "gpt-x", prompt: "Word: furious -> Emotion:", topTokens: 50))

        let sent = try #require(seen.withLock { $0.first })
        #expect(sent.path == "/chat/completions")
        let sentBody = try StrictJSON.parse(sent.bodyText)
        #expect(sentBody["messages"] == [["role": "user", "content": "Word: furious -> Emotion:"]])
        #expect(sentBody["max_completion_tokens"] == 1 && sentBody["logprobs"] == true && sentBody["temperature"] == 0)
        #expect(sentBody["top_logprobs"] == 20, "OpenAI takes at most 20")
        #expect(sentBody["stream"] == nil && sentBody["response_format"] == nil)

        let top = try #require(try StrictJSON.parse(body)["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue?.first?["top_logprobs"]?.arrayValue)
        #expect(response.nextTokens?.map(\.token) == top.map { $0["token"]?.stringValue ?? "" })
        #expect(response.nextTokens?.count == 20)
    }

    @Test func aChatAnswerWithoutLogprobsIsAClearError() async throws {
        let chat = try LlamaCppProviderTests.recordedCompletion().body
        let server = try LoopbackHTTPServer { _ in .json(200, chat) }
        defer { server.stop() }
        await #expect { try await OpenAIProvider(baseURL: server.baseURL, apiKey: nil).complete(.nextToken(model: "m", prompt: "p", topTokens: 5)) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .invalidOutput && e.message.contains("no log-probabilities") && e.raw?.body == chat
        }
    }

    @Test func anErrorStatusKeepsItsEnvelope() async throws {
        let body = try Repo.text("fixtures/llamacpp/error-400.body")
        let server = try LoopbackHTTPServer { _ in .json(400, body) }
        defer { server.stop() }
        await #expect { try await LlamaCppProvider(baseURL: server.baseURL).complete(.nextToken(model: "m", prompt: "p", topTokens: 5)) } throws: { error in
            (error as? LLMError)?.kind == .badRequest && (error as? LLMError)?.context.httpStatus == 400
        }
    }

    @Test func recordedAndReplayedLikeChatAnswersAndCached() async throws {
        let (request, body) = try Self.recorded()
        let server = try LoopbackHTTPServer { _ in .json(200, body) }
        let live = LlamaCppProvider(baseURL: server.baseURL)
        let dir = Repo.temporaryDirectory()
        let recorder = LLMClient(provider: live, middlewares: [RecordingMiddleware(directory: dir, mode: .all, providerName: "llamacpp")])
        let recorded = try await recorder.complete(request)
        let cache = CacheMiddleware(root: Repo.temporaryDirectory(), provider: "llamacpp", baseURL: server.baseURL)
        let cached = LLMClient(provider: live, middlewares: [cache])
        _ = try await cached.complete(request)
        #expect(server.requestsServed == 2)
        server.stop()

        let replayed = try await FixtureProvider(directory: dir).complete(request)
        #expect(replayed.nextTokens == recorded.nextTokens && replayed.nextTokens?.count == 20)
        #expect(replayed.timings == recorded.timings)
        let hit = try await cached.complete(request)
        #expect(hit.servedFromCache && hit.nextTokens == recorded.nextTokens)
        // The bundled recordings replay too.
        #expect(try await FixtureProvider(directory: Self.folder).complete(request).nextTokens?.count == 20)
    }

    @Test func anAnswerFromNoHTTPServerIsRecordedInTheShapeItsReplayReads() async throws {
        struct Swifty: LLMProvider {
            let id = ProviderID("swifty")
            let capabilities = ProviderCapabilities(nextTokenProbabilities: true)
            func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
                var response = CompletionResponse(text: " sad")
                response.nextTokens = [TokenProbability(token: " sad", logprob: -0.1), TokenProbability(token: " Angry", logprob: -2.5)]
                return response
            }
        }
        let dir = Repo.temporaryDirectory()
        let request = CompletionRequest.nextToken(model: "m", prompt: "Word: down -> Emotion:", topTokens: 2)
        _ = try await LLMClient(provider: Swifty(), middlewares: [RecordingMiddleware(directory: dir, mode: .all, providerName: "swifty")]).complete(request)
        let replayed = try await FixtureProvider(directory: dir).complete(request)
        #expect(replayed.nextTokens == [TokenProbability(token: " sad", logprob: -0.1), TokenProbability(token: " Angry", logprob: -2.5)])
    }
}
