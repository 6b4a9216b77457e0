import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// A llama.cpp provider in front of a loopback server whose answers the test scripts.
struct ScriptedServer {
    let server: LoopbackHTTPServer
    let provider: LlamaCppProvider

    init(_ respond: @escaping @Sendable (Int) -> LoopbackHTTPServer.Action) throws {
        let count = Mutex(0)
        server = try LoopbackHTTPServer { _ in respond(count.withLock { c -> Int in c += 1; return c }) }
        provider = LlamaCppProvider(baseURL: server.baseURL)
    }

    static func completion(_ content: String, finish: String = "stop") -> String {
        let choices: JSONValue = [["index": 0, "finish_reason": .string(finish), "message": ["role": "assistant", "content": .string(content)]]]
        let usage: JSONValue = ["prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": ["cached_tokens": 4]]
        return JSONValue.object(JSONObject([("choices", choices), ("usage", usage)])).description
    }
}

@Suite struct FixtureStoreTests {
    static func request(_ text: String) -> CompletionRequest {
        CompletionRequest(model: "m", messages: [.system("s"), .user(text)], temperature: 0, seed: 1)
    }

    @Test func recordThenReplayOfflineByteForByte() async throws {
        let dir = Repo.temporaryDirectory()
        let scripted = try ScriptedServer { n in .json(200, ScriptedServer.completion("answer \(n)"), headers: [("X-Request-Id", "r\(n)"), ("Set-Cookie", "s=1")]) }
        let recorder = LLMClient(provider: scripted.provider, middlewares: [RecordingMiddleware(directory: dir, mode: .newEpisodes, providerName: "llamacpp")])
        let live = try await recorder.complete(Self.request("a"))
        #expect(live.text == "answer 1")
        // Replayed from the file: the server is not asked again.
        #expect(try await recorder.complete(Self.request("a")).text == "answer 1")
        #expect(scripted.server.requestsServed == 1)
        scripted.server.stop()

        let replay = FixtureProvider(directory: dir)
        let replayed = try await replay.complete(Self.request("a"))
        #expect(replayed.text == "answer 1")
        #expect(replayed.usage == TokenUsage(promptTokens: 10, completionTokens: 5, cachedTokens: 4))
        #expect(replayed.headers["x-request-id"] == "r1")
        #expect(replayed.raw?.body == live.raw?.body)

        let file = try String(contentsOf: dir.appendingPathComponent("\(Self.request("a").canonicalHash).json"), encoding: .utf8)
        let parsed = try StrictJSON.parse(file)
        #expect(parsed["interactions"]?.arrayValue?.first?["body"]?.stringValue == live.raw?.body)
        #expect(!file.lowercased().contains("set-cookie"))
    }

    @Test func aMissNamesTheKeyAndTheClosestRecording() async throws {
        let dir = Repo.temporaryDirectory()
        let scripted = try ScriptedServer { _ in .json(200, ScriptedServer.completion("x")) }
        defer { scripted.server.stop() }
        let recorder = LLMClient(provider: scripted.provider, middlewares: [RecordingMiddleware(directory: dir, mode: .all, providerName: "llamacpp")])
        _ = try await recorder.complete(Self.request("relabel these items"))
        _ = try await recorder.complete(CompletionRequest(model: "other", messages: [.user("zzz")]))
        let wanted = Self.request("relabel those items")
        await #expect { try await FixtureProvider(directory: dir).complete(wanted) } throws: { error in
            guard let e = error as? LLMError else { return false }
            let closest = String(Self.request("relabel these items").canonicalHash.prefix(12))
            return e.kind == .configuration && e.message.contains(String(wanted.canonicalHash.prefix(12)))
                && e.message.contains("closest recording is \(closest)") && e.message.contains("/messages/1/content (character 10)")
        }
    }

    @Test func modes() async throws {
        let scripted = try ScriptedServer { n in .json(200, ScriptedServer.completion("live \(n)")) }
        defer { scripted.server.stop() }
        func client(_ dir: URL, _ mode: RecordMode) -> LLMClient {
            LLMClient(provider: scripted.provider, middlewares: [RecordingMiddleware(directory: dir, mode: mode, providerName: "llamacpp")])
        }
        // once: an empty folder records everything...
        let dir = Repo.temporaryDirectory()
        #expect(try await client(dir, .once).complete(Self.request("a")).text == "live 1")
        #expect(try await client(dir, .once).complete(Self.request("a")).text == "live 1")
        // ...and a folder with recordings replays only: a new request is an error.
        await #expect(throws: LLMError.self) { try await client(dir, .once).complete(Self.request("b")) }
        // new_episodes records what is new and replays the rest.
        #expect(try await client(dir, .newEpisodes).complete(Self.request("b")).text == "live 2")
        #expect(try await client(dir, .newEpisodes).complete(Self.request("a")).text == "live 1")
        // all always asks the server and replaces the recording.
        #expect(try await client(dir, .all).complete(Self.request("a")).text == "live 3")
        #expect(try await FixtureProvider(directory: dir).complete(Self.request("a")).text == "live 3")
        // none never calls the server.
        let before = scripted.server.requestsServed
        await #expect(throws: LLMError.self) { try await client(dir, .none).complete(Self.request("c")) }
        #expect(scripted.server.requestsServed == before)
    }

    @Test func errorsAreRecordedAndReplayInOrder() async throws {
        let dir = Repo.temporaryDirectory()
        let scripted = try ScriptedServer { n in
            n == 1 ? .json(429, #"{"error":{"message":"slow down","type":"rate_limit"}}"#, headers: [("Retry-After", "2"), ("X-Ratelimit-Remaining-Requests", "0")])
                   : .json(200, ScriptedServer.completion("ok"))
        }
        defer { scripted.server.stop() }
        // Mode `all` records every answer of this run: the 429, then the retry's success.
        let recorder = LLMClient(provider: scripted.provider, middlewares: [RecordingMiddleware(directory: dir, mode: .all, providerName: "llamacpp")])
        await #expect { try await recorder.complete(Self.request("a")) } throws: { ($0 as? LLMError)?.kind == .rateLimited && ($0 as? LLMError)?.retryAfter == .seconds(2) }
        #expect(try await recorder.complete(Self.request("a")).text == "ok")

        let store = FixtureStore(directory: dir)
        let interactions = try #require(try store.interactions(for: Self.request("a").canonicalHash))
        #expect(interactions.map(\.raw.status) == [429, 200])
        #expect(interactions[0].raw.headers == ["retry-after": "2", "x-ratelimit-remaining-requests": "0"])

        // Offline, the same sequence: the rate limit with its header, then the answer, which repeats.
        let replay = FixtureProvider(directory: dir)
        await #expect { try await replay.complete(Self.request("a")) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .rateLimited && e.retryAfter == .seconds(2) && e.raw?.headers["x-ratelimit-remaining-requests"] == "0"
        }
        #expect(try await replay.complete(Self.request("a")).text == "ok")
        #expect(try await replay.complete(Self.request("a")).text == "ok")
    }

    @Test func secretsAreNeverWritten() async throws {
        let dir = Repo.temporaryDirectory()
        let scripted = try ScriptedServer { _ in
            .json(200, ScriptedServer.completion("x"), headers: [("Authorization", "Bearer sk-live-secret"), ("OpenAI-Organization", "org-secret"), ("Set-Cookie", "session=secret"), ("X-Request-Id", "req-1")])
        }
        defer { scripted.server.stop() }
        let recorder = LLMClient(provider: scripted.provider, middlewares: [RecordingMiddleware(directory: dir, mode: .all, providerName: "llamacpp")])
        _ = try await recorder.complete(Self.request("a"))
        var files = try FileManager.default.contentsOfDirectory(atPath: dir.path).map { dir.appendingPathComponent($0).path }
        // The bundled recordings too.
        files += try FileManager.default.contentsOfDirectory(atPath: Repo.recordings.path).map { Repo.recordings.appendingPathComponent($0).path }
        #expect(files.count > 1)
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8).lowercased()
            for secret in ["authorization", "bearer", "sk-live", "openai-organization", "org-secret", "cookie", "api_key", "api-key"] {
                #expect(!text.contains(secret), "\(file) contains \(secret)")
            }
        }
    }
}
