import Foundation
import LLMKit
import Synchronization
import Testing
@testable import Providers

/// The dry run's prompt-token estimate against a real llama-server (Gemma 3 270M from
/// `scripts/llama-server start`): each request's reported `prompt_tokens` within 10%.
/// Skipped unless `LLAMA_SERVER_URL` names a server that answers `/health` (scripts/e2e.sh sets it).
@Suite struct TokenEstimateLiveTests {
    static let server: String? = {
        guard let url = ProcessInfo.processInfo.environment["LLAMA_SERVER_URL"], !url.isEmpty else { return nil }
        let semaphore = DispatchSemaphore(value: 0)
        let up = LockedFlag()
        Task {
            let ok = (try? await CurlTransport.shared.send(HTTPRequest(method: "GET", url: url + "/health", timeout: .seconds(3))))?.status == 200
            up.set(ok)
            semaphore.signal()
        }
        semaphore.wait()
        return up.value ? url : nil
    }()

    @Test(.enabled(if: server != nil, "needs a running llama-server at $LLAMA_SERVER_URL"), arguments: [("paper-reason", 30), ("paper-reason", 12), ("paper-no-reason", 20)])
    func theEstimateIsWithinTenPercentOfTheServersPromptTokens(prompt name: String, size: Int) async throws {
        let reader = try DatasetReader(path: Repo.root.appendingPathComponent("fixtures/sample/sample.jsonl").path, format: nil, policy: .default)
        var items: [DatasetItem] = []
        while items.count < size, let item = try reader.next() { items.append(item) }
        let prompt = try PromptLibrary(directories: []).resolve(name)
        // One token of answer: the server still reports the whole prompt.
        let request = RelabelConfiguration(prompt: prompt, model: "gemma", chunkSize: size, maxTokens: 1).request(for: items)
        let response = try await LlamaCppProvider(baseURL: Self.server!, stream: false).complete(request)
        let reported = try #require(response.usage?.promptTokens)
        let estimate = TokenEstimate.promptTokens(request)
        print("token estimate: \(name) × \(size): estimated \(estimate), llama.cpp reported \(reported)")
        #expect(abs(Double(estimate - reported)) / Double(reported) <= 0.10, "estimated \(estimate), reported \(reported)")
    }
}

/// A flag set from another task.
final class LockedFlag: Sendable {
    private let flag = Mutex(false)
    var value: Bool { flag.withLock { $0 } }
    func set(_ value: Bool) { flag.withLock { $0 = value } }
}
