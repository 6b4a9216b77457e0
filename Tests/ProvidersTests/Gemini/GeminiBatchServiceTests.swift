import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

@Suite struct GeminiBatchServiceTests {
    @Test func aCreatedBatchIsFoundAgainByItsSpoolIdAndEndsWithInlinedResponses() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.01
        configuration.batches.inProgressDelay = 0.05
        configuration.batches.finalizingDelay = 0.01
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let service = GeminiBatchService(provider: GeminiProvider(baseURL: server.server.baseURL, apiKey: "k"), spool: Repo.temporaryDirectory())
        let request = AnthropicProviderTests.request
        let bytes = service.inputLine(for: request, customID: "a") + [0x0A] + service.inputLine(for: request, customID: "b") + [0x0A]
        let id = try await service.upload(bytes, filename: "x.jsonl")
        var info = try await service.create(inputFileID: id, metadata: [:])
        #expect(info.id.hasPrefix("batches/") && info.inputFileID == id)
        #expect(try await service.list(after: nil, limit: 10).batches.contains { $0.inputFileID == id }, "a lost create answer is found again by listing")
        while !info.status.isTerminal {
            try await Task.sleep(for: .milliseconds(20))
            info = try await service.batch(info.id)
        }
        #expect(info.status == .completed)
        let path = Repo.temporaryDirectory().appendingPathComponent("out.jsonl").path
        _ = try await service.download(file: try #require(info.outputFileID), to: path, maximumBytes: 1 << 20)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let results = lines.compactMap { service.decodeResult(Array($0.utf8)[...], model: "m") }
        #expect(Set(results.map(\.customID)) == ["a", "b"])
        #expect(results.allSatisfy { (try? $0.result.get().text) != nil })
    }

    @Test func anInlinedJobErrorCarriesAGoogleRPCCode() throws {
        let service = GeminiBatchService(provider: GeminiProvider(baseURL: "http://x.invalid", apiKey: nil))
        func kind(_ code: Int) -> LLMError.Kind? {
            let line = Array("{\"key\":\"k\",\"error\":{\"code\":\(code),\"message\":\"m\"}}".utf8)
            guard case .failure(let error)? = service.decodeResult(line[...], model: "m")?.result else { return nil }
            return error.kind
        }
        #expect(kind(14)?.isRetryable == true && kind(13) == .serverError && kind(3) == .badRequest && kind(8) == .rateLimited)
    }
}
