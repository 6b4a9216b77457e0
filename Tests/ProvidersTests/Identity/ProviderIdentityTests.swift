import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// A provider says who it is (``LLMProvider/identity``): the cache and the recordings keep
/// answers apart by it, with no cast to a known type, and a provider that says nothing is
/// never cached.
@Suite struct ProviderIdentityTests {
    /// A third party's provider: answers with its own marker, counts its calls.
    struct Echo: LLMProvider {
        let id = ProviderID("echo")
        let capabilities = ProviderCapabilities(constrainsOutput: true)
        let marker: String
        let identity: String?
        let calls = Calls()
        func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
            calls.count.withLock { $0 += 1 }
            let response = CompletionResponse(text: "{\"from\":\"\(marker)\"}", usage: TokenUsage(promptTokens: 1, completionTokens: 1))
            var withRaw = response
            withRaw.raw = ChatCompletionsWire.synthesizedRaw(for: response)
            return withRaw
        }
    }

    final class Calls: Sendable { let count = Mutex(0) }

    static let request = CompletionRequest(model: "same-model", messages: [.user("hello")])

    static func stack(_ provider: Echo, cache: URL, record: URL? = nil) async throws -> ClientStack.Prepared {
        var registry = ProviderRegistry()
        registry.register("echo", summary: "test") { _ in provider }
        let stack = ClientStack(provider: "echo", configuration: ProviderConfiguration(model: "same-model"), cache: .at(cache), retry: .none,
                                record: record.map { ($0, RecordMode.all) })
        return try await stack.make(registry: registry)
    }

    @Test func twoIdentitiesWithOneModelNameGetTwoCacheEntries() async throws {
        let cache = Repo.temporaryDirectory()
        let a = Echo(marker: "a", identity: "http://server-a"), b = Echo(marker: "b", identity: "http://server-b")
        let clientA = try await Self.stack(a, cache: cache), clientB = try await Self.stack(b, cache: cache)
        #expect(try await clientA.client.complete(Self.request).text == "{\"from\":\"a\"}")
        #expect(try await clientB.client.complete(Self.request).text == "{\"from\":\"b\"}", "b's answer, not a's cached one")
        #expect(try await clientA.client.complete(Self.request).text == "{\"from\":\"a\"}")
        #expect(a.calls.count.withLock { $0 } == 1 && b.calls.count.withLock { $0 } == 1, "each answered once, then from its own cache entry")
        let namespaces = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasPrefix("echo-") }
        #expect(namespaces.count == 2, "\(namespaces)")
        #expect(clientA.baseURL == "http://server-a", "the fingerprint records the identity")
    }

    @Test func aProviderWithoutIdentityIsNeverCached() async throws {
        let cache = Repo.temporaryDirectory()
        let anonymous = Echo(marker: "x", identity: nil)
        let prepared = try await Self.stack(anonymous, cache: cache)
        #expect(!prepared.client.middlewares.contains { $0 is CacheMiddleware })
        _ = try await prepared.client.complete(Self.request)
        _ = try await prepared.client.complete(Self.request)
        #expect(anonymous.calls.count.withLock { $0 } == 2)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).isEmpty, "nothing written to the cache")
        let problems = await ProviderConformance.check(anonymous, expectAllRelabeled: false, requireIdentity: true)
        #expect(problems.contains { $0.contains("identity is nil") })
    }

    @Test func twoIdentitiesGetTwoRecordingsAndEachReplaysItsOwn() async throws {
        let folder = Repo.temporaryDirectory()
        let a = Echo(marker: "a", identity: "http://server-a"), b = Echo(marker: "b", identity: "http://server-b")
        _ = try await Self.stack(a, cache: Repo.temporaryDirectory(), record: folder).client.complete(Self.request)
        _ = try await Self.stack(b, cache: Repo.temporaryDirectory(), record: folder).client.complete(Self.request)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(files.count == 2 && files.allSatisfy { $0.hasPrefix(Self.request.canonicalHash + "-") }, "\(files)")
        for (identity, marker) in [("http://server-a", "a"), ("http://server-b", "b")] {
            let replay = RecordingMiddleware(directory: folder, mode: .none, providerName: "echo", identity: identity)
            let answer = try await replay.intercept(Self.request) { _ in Issue.record("no call in replay mode"); throw CancellationError() }
            #expect(answer.text == "{\"from\":\"\(marker)\"}")
        }
        // The fixture provider, which knows no identity, still replays a recording.
        #expect(try await FixtureProvider(directory: folder).complete(Self.request).text?.hasPrefix("{\"from\":") == true)
    }

    @Test func conformanceChecksTheIdentity() async {
        #expect(ProviderConformance.identityProblems(Echo(marker: "a", identity: "  "), required: false).contains { $0.contains("empty") })
        #expect(ProviderConformance.identityProblems(Echo(marker: "a", identity: "http://a"), required: true).isEmpty)
        #expect(ProviderConformance.identityProblems(Echo(marker: "a", identity: nil), required: false).isEmpty)
    }
}
