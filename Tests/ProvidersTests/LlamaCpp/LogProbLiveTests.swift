import Foundation
import LLMKit
import Testing
@testable import Providers

/// The `logprob` method against a real llama-server (Gemma 3 270M from
/// `scripts/llama-server start`). Skipped unless `LLAMA_SERVER_URL` names a server that answers
/// `/health`. With `LLMKIT_RECORD_LOGPROB=1` as well, the sample's run is recorded into
/// `fixtures/logprob/gemma3-270m` (the recordings the replay tests read):
///
///     LLAMA_SERVER_URL=http://127.0.0.1:18190 LLMKIT_RECORD_LOGPROB=1 \
///         swift test --skip-build --disable-xctest --filter LogProbLiveTests
@Suite struct LogProbLiveTests {
    static let server = TokenEstimateLiveTests.server
    static let records = ProcessInfo.processInfo.environment["LLMKIT_RECORD_LOGPROB"] == "1"

    @Test(.enabled(if: server != nil, "needs a running llama-server at $LLAMA_SERVER_URL"))
    func theRealServerAnswersANextTokenRequestThatFollowsTheDescription() async throws {
        let method = LogProbMethod(prompt: try PromptLibrary(directories: []).resolve(LogProbMethod.defaultPromptName))
        let item = DatasetItem(id: "x", descriptions: ["Haaapy", "joyful"], reference: EmotionDistribution(oneHot: .neutral))
        let request = try #require(method.request(for: item, model: "gemma3-270m-q4_k_m"))
        let response = try await LlamaCppProvider(baseURL: Self.server!).complete(request)
        let tokens = try #require(response.nextTokens)
        #expect(tokens.count == LogProbMethod.defaultTopTokens)
        #expect((response.usage?.promptTokens ?? 0) > 0 && response.timings != nil)
        let evidence = LogProbMethod.evidence(tokens)
        #expect(evidence.reduce(0, +) >= LogProbMethod.defaultMinimumMass)
        #expect(evidence.firstIndex(of: evidence.max()!) == Emotion.happy.rawValue)
    }

    @Test(.enabled(if: server != nil && records, "records only with LLMKIT_RECORD_LOGPROB=1 and a llama-server at $LLAMA_SERVER_URL"))
    func recordTheSampleRun() async throws {
        let folder = Repo.root.appendingPathComponent("fixtures/logprob/gemma3-270m")
        try? FileManager.default.removeItem(at: folder)
        let provider = LlamaCppProvider(baseURL: Self.server!)
        let client = LLMClient(provider: provider, middlewares: [RecordingMiddleware(directory: folder, mode: .all, providerName: provider.id.name)])
        var configuration = RelabelConfiguration(prompt: try PromptLibrary(directories: []).resolve(LogProbMethod.defaultPromptName),
                                                 model: "gemma3-270m-q4_k_m", concurrency: 2)
        // Calibrated, so the three content-free answers are recorded too.
        configuration.method = LogProbMethod(prompt: configuration.prompt, calibrates: true)
        let out = Repo.temporaryDirectory().appendingPathComponent("run.jsonl").path
        let report = try await RelabelRunner(client: client).run(RelabelJob(dataset: Repo.path("fixtures/sample/sample.jsonl"), output: out,
                                                                            configuration: configuration))
        print("recorded \(report.summary.requests) next-token answers into \(folder.path): \(report.summary.relabeled) relabeled, failures \(report.summary.failedByKind)")
    }
}
