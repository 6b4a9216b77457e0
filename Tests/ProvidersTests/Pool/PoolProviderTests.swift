import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// An endpoint of a pool in memory: it reports `served` at prepare, counts its sends and
/// answers with `answer` (or throws).
final class StubEndpoint: LLMProvider {
    let id: ProviderID = "stub"
    let baseURL: String
    let served: String?
    let answer: @Sendable (CompletionRequest) async throws -> CompletionResponse
    private let count = Mutex(0)
    var sends: Int { count.withLock { $0 } }
    var capabilities: ProviderCapabilities { ProviderCapabilities(parallelSlots: 4) }

    init(_ baseURL: String, served: String? = "m", answer: @escaping @Sendable (CompletionRequest) async throws -> CompletionResponse = StubEndpoint.good) {
        self.baseURL = baseURL
        self.served = served
        self.answer = answer
    }

    func prepare() async throws -> ProviderCapabilities {
        var capabilities = capabilities
        capabilities.servedModel = served
        return capabilities
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        count.withLock { $0 += 1 }
        return try await answer(request)
    }

    /// A good answer naming the model asked for.
    static let good: @Sendable (CompletionRequest) async throws -> CompletionResponse = { request in
        CompletionResponse(text: "{}", model: request.model)
    }

    /// Fails every request with `kind`.
    static func failing(_ kind: LLMError.Kind) -> @Sendable (CompletionRequest) async throws -> CompletionResponse {
        { _ in throw LLMError(kind, "stub failure (\(kind))") }
    }

    /// Answers with `model` (`nil`: no model in the answer).
    static func answering(model: String?) -> @Sendable (CompletionRequest) async throws -> CompletionResponse {
        { _ in CompletionResponse(text: "{}", model: model) }
    }
}

/// The events a request reported.
final class EventLog: Sendable {
    let events = Mutex<[RelabelEvent]>([])
}

@Suite struct PoolProviderTests {
    static let request = CompletionRequest(model: "m", messages: [.user("hi")])

    static func pool(_ stubs: [StubEndpoint], model: String? = "m", settings: PoolSettings = PoolSettings(failuresToTakeOut: 3, coolDown: .seconds(60)))
        -> PoolProvider {
        PoolProvider(id: "stub", members: stubs.map { (PoolEndpoint(baseURL: $0.baseURL), $0 as any LLMProvider) }, model: model, settings: settings)
    }

    // MARK: 6. An endpoint that breaks its answers goes out like one that refuses connections.

    @Test(arguments: [LLMError.Kind.responseTooLarge, .invalidOutput, .transport])
    func anEndpointThatBreaksItsAnswersIsTakenOutAndItsRequestsMove(kind: LLMError.Kind) async throws {
        let broken = StubEndpoint("http://a/v1", answer: StubEndpoint.failing(kind)), healthy = StubEndpoint("http://b/v1")
        let pool = Self.pool([broken, healthy])
        _ = try await pool.prepare()
        for _ in 0..<20 {
            let response = try await pool.complete(Self.request)
            #expect(response.model == "m")
        }
        let statistics = await pool.statistics()
        #expect(statistics[0].takenOut == 1 && statistics[0].isOut, "\(kind): \(statistics[0])")
        #expect(broken.sends == 3, "three broken answers take it out (then it waits for its cool-down)")
        #expect(healthy.sends == 20)
    }

    // MARK: 4. The model an endpoint reports and answers with is checked, and recorded.

    @Test func anEndpointAnsweringWithAnotherModelIsTakenOutAndItsAnswerIsNotUsed() async throws {
        let evil = StubEndpoint("http://a/v1", answer: StubEndpoint.answering(model: "evil-model")), honest = StubEndpoint("http://b/v1")
        let pool = Self.pool([evil, honest])
        _ = try await pool.prepare()
        for _ in 0..<10 {
            let response = try await pool.complete(Self.request)
            #expect(response.model == "m")
        }
        let statistics = await pool.statistics()
        #expect(statistics[0].takenOut == 1 && evil.sends == 1, "a wrong model takes the endpoint out at once: \(statistics[0])")
    }

    @Test func aDatedSnapshotOfTheModelIsTheModel() async throws {
        let dated = StubEndpoint("http://a/v1", answer: StubEndpoint.answering(model: "m-2024-08-06"))
        let pool = Self.pool([dated, StubEndpoint("http://b/v1")])
        _ = try await pool.prepare()
        #expect(try await pool.complete(Self.request).model == "m-2024-08-06")
    }

    /// llama.cpp answers with the path of the file it loaded and reports the file's stem in
    /// `/props` (the recorded bodies in fixtures/llamacpp say so): the same model. The live pool
    /// of two llama-servers in `make e2e` failed every item before this.
    @Test func llamaCppsModelPathIsItsReportedModel() throws {
        let recorded = try String(contentsOfFile: "fixtures/llamacpp/stream-2-items.body", encoding: .utf8)
        let path = try #require(recorded.firstMatch(of: /"model":"([^"]+)"/)).1
        #expect(PoolProvider.isSameModel(String(path), as: "gemma3-270m-q4_k_m"))
        #expect(!PoolProvider.isSameModel(".venv-llama/models/other.gguf", as: "gemma3-270m-q4_k_m"))
        #expect(!PoolProvider.isSameModel("evil-model", as: "m"))
    }

    @Test func anEndpointThatReportsNoModelIsRefusedUnlessMixedModelsAreAllowed() async throws {
        let silent = StubEndpoint("http://b/v1", served: nil)
        await #expect(throws: LLMError.self) { try await Self.pool([StubEndpoint("http://a/v1"), silent]).prepare() }
        do {
            _ = try await Self.pool([StubEndpoint("http://a/v1"), silent]).prepare()
        } catch let error as LLMError {
            #expect(error.kind == .configuration && error.message.contains("http://b/v1 reports no model"), "\(error)")
        }
        var mixed = PoolSettings()
        mixed.allowMixedModels = true
        _ = try await Self.pool([StubEndpoint("http://a/v1"), silent], settings: mixed).prepare()
        // No endpoint reporting a model: nothing to compare at the start (the answers are checked).
        _ = try await Self.pool([StubEndpoint("http://a/v1", served: nil), StubEndpoint("http://b/v1", served: nil)]).prepare()
    }

    @Test func withMixedModelsAnAnswerWithoutAModelCarriesItsEndpointsReportedModel() async throws {
        let other = StubEndpoint("http://a/v1", served: "m2", answer: StubEndpoint.answering(model: nil))
        let pool = Self.pool([other, StubEndpoint("http://b/v1")], settings: PoolSettings(coolDown: .seconds(60), allowMixedModels: true))
        _ = try await pool.prepare()
        #expect(try await pool.complete(Self.request).model == "m2")
        let evil = StubEndpoint("http://c/v1", answer: StubEndpoint.answering(model: "evil-model"))
        let mixed = Self.pool([evil], settings: PoolSettings(allowMixedModels: true))
        _ = try await mixed.prepare()
        #expect(try await mixed.complete(Self.request).model == "evil-model", "the real model is kept for the journal")
    }

    // MARK: 9. Every send to every endpoint is an attempt.

    @Test func attemptsCountEverySendToEveryEndpoint() async throws {
        let down = StubEndpoint("http://a/v1", answer: StubEndpoint.failing(.transport)), up = StubEndpoint("http://b/v1")
        let retry = RetryMiddleware(policy: RetryPolicy(maxAttempts: 3, base: .milliseconds(1), cap: .milliseconds(1)))
        let client = LLMClient(provider: Self.pool([down, up]), middlewares: [retry])
        #expect(try await client.complete(Self.request).attempts == 2, "one send to each endpoint")

        let a = StubEndpoint("http://a/v1", answer: StubEndpoint.failing(.serverError)), b = StubEndpoint("http://b/v1", answer: StubEndpoint.failing(.serverError))
        let failing = LLMClient(provider: Self.pool([a, b], settings: PoolSettings(failuresToTakeOut: 100)), middlewares: [retry])
        do {
            _ = try await failing.complete(Self.request)
            Issue.record("expected an error")
        } catch {
            #expect(a.sends + b.sends == 6 && error.context.attempt == 6, "three rounds of two sends: \(error.context)")
        }
    }

    // MARK: 5. Waits for a cool-down are bounded and reported.

    @Test func withEveryEndpointOutARequestWaitsABoundedTimeAndSaysSo() async throws {
        let a = StubEndpoint("http://a/v1", answer: StubEndpoint.failing(.transport)), b = StubEndpoint("http://b/v1", answer: StubEndpoint.failing(.transport))
        let coolDown = Duration.milliseconds(500)
        let pool = Self.pool([a, b], settings: PoolSettings(failuresToTakeOut: 1, coolDown: coolDown))
        _ = try await pool.prepare()
        let events = EventLog()
        let results = await withTaskGroup(of: (Double, LLMError.Kind?).self) { group in
            for n in 0..<20 {
                group.addTask {
                    let observer = RequestObserver(request: n) { event in events.events.withLock { $0.append(event) } }
                    let started = ContinuousClock.now
                    do {
                        _ = try await RequestObserver.$current.withValue(observer) { try await pool.complete(Self.request) }
                        return ((ContinuousClock.now - started).seconds, nil)
                    } catch let error as LLMError {
                        return ((ContinuousClock.now - started).seconds, error.kind)
                    } catch { return ((ContinuousClock.now - started).seconds, .cancelled) }
                }
            }
            var all: [(Double, LLMError.Kind?)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0.1 == .transport || $0.1 == .unavailable }, "\(results)")
        let slowest = results.map(\.0).max() ?? 0
        #expect(slowest < 4 * coolDown.seconds, "each request waits at most twice the cool-down (and a probe): slowest \(slowest) s")
        let waits = events.events.withLock { $0 }.compactMap { event -> Duration? in
            if case .waiting(_, .poolCoolDown, let duration) = event { return duration }
            return nil
        }
        #expect(!waits.isEmpty && waits.allSatisfy { $0 > .zero && $0 <= coolDown * 2 }, "the waits are reported: \(waits)")
    }

    // MARK: 1 and 4. One endpoint is that endpoint; a pool's identity names its endpoints.

    static func registry() -> ProviderRegistry {
        var registry = ProviderRegistry()
        registry.register("stub", summary: "in memory") { configuration in
            StubEndpoint(configuration.baseURL ?? "http://default/v1")
        }
        return registry
    }

    @Test func oneEndpointIsThatEndpoint() async throws {
        var stack = ClientStack(provider: "stub", configuration: ProviderConfiguration(model: "m"), cache: .off)
        stack.endpoints = [PoolEndpoint(baseURL: "http://only/v1", maxConcurrency: 2)]
        let prepared = try await stack.make(registry: Self.registry())
        #expect(prepared.baseURL == "http://only/v1")
        #expect((prepared.client.provider as? StubEndpoint)?.baseURL == "http://only/v1")
        #expect(prepared.capabilities.parallelSlots == 2, "its max concurrency still applies")
    }

    @Test func aPoolsBaseURLNamesItsEndpointsInAnyOrder() async throws {
        func baseURL(_ urls: [String]) async throws -> String? {
            var stack = ClientStack(provider: "stub", configuration: ProviderConfiguration(model: "m"), cache: .off)
            stack.endpoints = urls.map { PoolEndpoint(baseURL: $0) }
            return try await stack.make(registry: Self.registry()).baseURL
        }
        let ab = try await baseURL(["http://a/v1", "http://b/v1"])
        #expect(ab == "http://a/v1 http://b/v1")
        #expect(try await baseURL(["http://b/v1", "http://a/v1", "http://a/v1"]) == ab)
        #expect(try await baseURL(["http://c/v1", "http://d/v1"]) != ab)
    }

    // MARK: 9. The endpoints file.

    @Test func anInlineCommentInAnEndpointsFileIsAComment() throws {
        let file = Repo.temporaryDirectory().appendingPathComponent("endpoints.txt").path
        try "http://a/v1 2 3 # the fast box\nhttp://b/v1\t# slow\n  # indented\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try PoolEndpoint.parseFile(file) == [PoolEndpoint(baseURL: "http://a/v1", weight: 2, maxConcurrency: 3), PoolEndpoint(baseURL: "http://b/v1")])
    }
}
