import Foundation
import Testing
@testable import LLMKit

/// The dev-split oracles of REFERENCE.md section 3 on GPT-4's published relabels, and the
/// independent numpy/scipy check on a generated corpus full of boundary cases.
@Suite struct ScoringOracleTests {
    static let published = TestPaths.exists(TestPaths.gpt4Output) && TestPaths.exists(TestPaths.gpt4Input)

    @Test(.enabled(if: published, "GPT-4's relabels not found under $LLMKIT_SHARED_DIR or ../shared (data/emo-superb-gpt4): dev-split oracles SKIPPED"))
    func devSplitOracles() async throws {
        let prompt = try PromptVersion.load(contentsOf: TestPaths.releasedPrompt)
        let nine = { var version = prompt; version.decimals = 9; return version }()
        let report = try await OffPool.run {
            try Scoring.scoreFiles(ScoreFilesRequest(dataset: TestPaths.gpt4Input, files: [TestPaths.gpt4Output], prompt: prompt))
        }
        let card = report.columns[0].card
        #expect(card.items == 6602)
        let oracles: [(String, Double)] = [("unchanged.1e-06", 0.1260224174492578), ("unchanged.0.01", 0.1264768252044835), ("unchanged.0.05", 0.2481066343532263)]
        for (key, oracle) in oracles {
            let value = try #require(ScoreMetric.named(key)?.value(in: card))
            #expect(abs(value - oracle) <= 1e-9, "\(key) = \(value), oracle \(oracle)")
        }
        // Prompt.txt says nothing of decimals, so 4 are assumed; GPT-4 copied 9-decimal references
        // (0.333333333), so the copies are "as shown" only at 9 decimals, where the rate equals U_1e-6.
        #expect(card.shownDecimals == 4 && card.unchangedAsShown!.value < card.unchanged[0].value)
        #expect(report.warnings.contains { $0.contains("49 answers equal the exact reference but not the reference as shown at 4 decimals") })
        let items = report.columns[0].items
        let copiesAt9 = items.filter { item in item.adjusted.map { $0.isWithin(0, of: nine.shownReference(item.reference)) } == true }.count
        #expect(Double(copiesAt9) / Double(items.count) == 0.1260224174492578)
    }

    /// Runs `scripts/check_scores.py` and returns its exit status and output.
    static func checkScores(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/check_scores.py"] + arguments
        process.currentDirectoryURL = TestPaths.repository
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test(.enabled(if: PythonCheck.available, "python3 with numpy and scipy not found"), arguments: [4, 9])
    func aBoundaryCorpusAgreesWithAnIndependentNumpyScipyComputation(decimals: Int) async throws {
        let corpus = BoundaryCorpus(count: 400, decimals: decimals, seed: UInt64(decimals))
        let input = TestPaths.write(corpus.inputCSV, name: "input.csv"), output = TestPaths.write(corpus.outputCSV, name: "output.csv")
        let report = try await OffPool.run { try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output], prompt: corpus.prompt)) }
        let card = report.columns[0].card
        #expect(card.unchangedAsShown!.value > 0.1 && card.echoRate!.value > 0 && card.failures["zero_sum"]! > 0 && card.failures["missing_from_output"]! > 0,
                "the corpus exercises as-shown copies, echoes and failures")
        let json = TestPaths.write(JSONSerializer.string(report.json, style: .pretty), name: "scores.json")
        let arguments = [input, output, json, "--prompt", corpus.promptURL.path]
        let (status, text) = try await OffPool.run { try Self.checkScores(arguments) }
        #expect(status == 0, "\(text)")
        #expect(text.contains("all metrics agree to 1e-9") && !text.contains("nan") && !text.contains("NOT RECOMPUTED"), "\(text)")
    }

    @Test(.enabled(if: PythonCheck.available, "python3 with numpy and scipy not found"))
    func theCheckNoticesADifferentNumber() async throws {
        // The check must be able to fail: change one value in the JSON and it reports a mismatch.
        let corpus = BoundaryCorpus(count: 60, decimals: 4, seed: 1)
        let input = TestPaths.write(corpus.inputCSV, name: "input.csv"), output = TestPaths.write(corpus.outputCSV, name: "output.csv")
        let report = try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output], prompt: corpus.prompt))
        let text = JSONSerializer.string(report.json, style: .pretty)
        let value = try #require(ScoreMetric.named("unchanged.0.05")?.value(in: report.columns[0].card))
        let tampered = text.replacingOccurrences(of: "\"value\": \(JSONSerializer.format(value))", with: "\"value\": \(JSONSerializer.format(value + 1e-6))")
        #expect(tampered != text)
        let arguments = [input, output, TestPaths.write(tampered, name: "scores.json"), "--prompt", corpus.promptURL.path]
        let (status, out) = try await OffPool.run { try Self.checkScores(arguments) }
        #expect(status == 1 && out.contains("MISMATCH"), "\(out)")
    }
}
