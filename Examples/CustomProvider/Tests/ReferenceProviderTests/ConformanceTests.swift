import Foundation
import LLMKit
import ReferenceProvider
import TestSupport
import Testing

@Test func theReferenceProviderKeepsTheProviderContract() async {
    let problems = await ProviderConformance.check(ReferenceProvider())
    #expect(problems.isEmpty, "\(problems)")
}

/// A method from outside LLMKit runs through the library's run like the built-in ones: one
/// line per item naming the method, the parameters in the journal header.
@Test func aThirdPartyMethodRunsThroughTheRun() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sharpen-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let dataset = dir.appendingPathComponent("data.jsonl").path
    try "{\"id\": \"a\", \"descriptions\": [\"calm\"], \"votes\": [\"N\", \"N\", \"H\"]}\n".write(toFile: dataset, atomically: true, encoding: .utf8)
    var configuration = RelabelConfiguration(prompt: try PromptLibrary(directories: []).resolve("paper-reason"), model: "none")
    configuration.method = SharpenMethod(weight: 0.5)
    let out = dir.appendingPathComponent("out.jsonl").path
    let report = try await RelabelRunner(client: LLMClient(provider: ReferenceProvider())).run(RelabelJob(dataset: dataset, output: out, configuration: configuration))
    #expect(report.summary.relabeled == 1 && report.summary.requests == 0)
    let text = try String(contentsOfFile: out, encoding: .utf8)
    #expect(text.contains("\"method\":\"sharpen\"") && text.contains("\"method_parameters\":{\"weight\":0.5}"))
    // neutral 2/3 -> 0.5 * 2/3 + 0.5 = 0.8333...
    #expect(text.contains("\"neutral\":0.8333333333333333") || text.contains("\"neutral\":0.8333333333333334"), "\(text)")
}
