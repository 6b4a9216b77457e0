import Foundation
import Testing
@testable import LLMKit

/// "Unchanged (as shown)": a model that copies what it was shown scores 100%, whatever the
/// prompt's decimals, while the tau rates against the exact reference depend on them.
@Suite struct AsShownTests {
    /// References of 1/3, 1/6, 1/12 and 1/7 (from votes).
    static let votes: [[String]] = [
        ["A", "S", "N"],                                    // 1/3 each
        ["A", "A", "S", "N", "N", "N"],                     // 1/3, 1/6, 1/2
        ["H"] + Array(repeating: "N", count: 11),           // 1/12, 11/12
        ["A", "S", "S", "N", "N", "H", "H"],                // 1/7, 2/7
        ["F", "F", "F", "F", "U"],                          // 0.8, 0.2 (exact at any decimals)
    ]

    /// Renders the batch with `prompt`, answers every data point with the values it was shown
    /// (copied character for character), parses the answer with the contract's parser and
    /// writes the records as a relabeled JSONL file.
    static func copyingRun(_ items: [DatasetItem], prompt: PromptVersion) throws -> String {
        let user = prompt.render(items).messages.last!.content
        let points = user.components(separatedBy: prompt.separator)
        let entries = points.enumerated().map { index, point -> String in
            let values = point.split(separator: "#").last!.split(separator: ",").map(String.init)
            let members = zip(Emotion.allCases, values).map { "\"\($0.name)\": \($1)" }.joined(separator: ", ")
            return "{\"index\": \(index + 1), \(members), \"reason\": \"copied\"}"
        }
        let result = ChunkAnswerParser(count: items.count, expectsReason: true).parse("{\"items\": [\(entries.joined(separator: ", "))]}")
        let lines = zip(items, result.outcomes).map { item, outcome in
            RelabeledRecord(id: item.id, reference: item.reference, outcome: outcome, promptVersion: prompt.id, provider: "copy", model: "m").jsonLine
        }
        return TestPaths.write(lines.joined(separator: "\n") + "\n", name: "copy.jsonl")
    }

    static func dataset() -> (items: [DatasetItem], path: String) {
        let lines = votes.enumerated().map { i, v in "{\"id\": \"u\(i)\", \"descriptions\": [\"calm\"], \"votes\": [\(v.map { "\"\($0)\"" }.joined(separator: ", "))]}" }
        let path = TestPaths.write(lines.joined(separator: "\n") + "\n", name: "votes.jsonl")
        return (try! DatasetReader(path: path).readAll(), path)
    }

    @Test(arguments: [4, 9, 1, 12])
    func aProviderThatCopiesWhatItWasShownScoresOneHundredPercent(decimals: Int) throws {
        let (items, dataset) = Self.dataset()
        let (prompt, file) = BoundaryCorpus.promptFile(decimals: decimals)
        let output = try Self.copyingRun(items, prompt: prompt)
        // The prompt is found from the id the records name, in the folder it was written to.
        let library = PromptLibrary(directories: [file.deletingLastPathComponent()])
        let report = try Scoring.scoreFiles(ScoreFilesRequest(dataset: dataset, files: [output], library: library))
        let card = report.columns[0].card
        #expect(card.relabeled.value == 1)
        #expect(card.unchangedAsShown?.value == 1, "a copy of what was shown is unchanged as shown at \(decimals) decimals")
        #expect(card.shownDecimals == decimals && card.prompt == prompt.id)
        #expect(!report.warnings.contains { $0.contains("prompt") }, "\(report.warnings)")
        // Against the exact reference, the copy is unchanged at tau 1e-6 only with enough decimals.
        let exact = card.unchanged[0].value
        // Below 9 decimals only 0.8/0.2 and the thirds survive (0.3333 ×3 renormalises to exact thirds).
        if decimals >= 9 { #expect(exact == 1) } else { #expect(exact == 0.4, "\(exact)") }
        if decimals == 4 { #expect(card.unchanged[1].value == 1, "4 decimals are within 0.01") }
    }

    @Test func theComparisonIsBetweenRenormalisedDistributions() throws {
        let (items, _) = Self.dataset()
        let prompt = BoundaryCorpus.prompt(decimals: 4)
        // Shown 0.3333 ×3 (sum 0.9999): 0.33 ×3 renormalises to the same thirds, so it is the
        // same distribution as shown; comparing raw digits would call it an edit.
        let thirds = try EmotionDistribution.normalizing([0.33, 0.33, 0, 0, 0, 0.33, 0, 0]).distribution
        #expect(thirds.isWithin(0, of: prompt.shownReference(items[0].reference)))
        // 1/12 is shown as 0.0833 and 0.9167: an answer of 0.08 and 0.92 is not what was shown,
        // though it is within 0.01 of the exact reference.
        let shown = prompt.shownReference(items[2].reference)
        let rounded = try EmotionDistribution.normalizing([0, 0, 0, 0, 0, 0.92, 0, 0.08]).distribution
        #expect(shown[.happy] == 0.0833 && shown[.neutral] == 0.9167)
        #expect(!rounded.isWithin(0, of: shown) && rounded.isWithin(0.01, of: items[2].reference))
    }
}
