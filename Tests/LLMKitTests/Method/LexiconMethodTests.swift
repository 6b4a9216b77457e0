import Foundation
import Testing
import TestSupport
@testable import LLMKit

/// The lexicon baseline and the method seam: parsing with file:line errors, NRC's categories,
/// the evidence mix computed independently, "no evidence", and a resume with another method
/// or other parameters refused like a resume with another dataset.
@Suite struct LexiconMethodTests {
    static let nrcStyle = """
        # word, NRC category, association
        furious\tanger\t1
        furious\tnegative\t1
        furious\tjoy\t0
        cheerful\tjoy\t1
        cheerful\ttrust\t1
        scream\tfear\t1
        scream\tsurprise\t1
        upset\tsadness
        """

    @Test func nrcCategoriesMapOntoTheEightAndTheRestAreLeftOut() throws {
        let lexicon = try Lexicon(text: Self.nrcStyle)
        #expect(lexicon.lookup("Furious") == [.angry])
        #expect(lexicon.lookup("cheerful") == [.happy])
        #expect(lexicon.lookup("screams") == [.fear, .surprise], "an -s ending is tried without it")
        #expect(lexicon.lookup("upset") == [.sad])
        #expect(lexicon.lookup("calm").isEmpty)
        #expect(lexicon.ignoredEntries == 3, "negative, trust and a 0 association are read and left out")
    }

    @Test(arguments: [
        ("angry\n", "lex.tsv:1: expected WORD CATEGORY [0|1], found one field 'angry'"),
        ("ok\tanger\nbad\tcalmness\n", "lex.tsv:2: field 'category': 'calmness' is not an emotion"),
        ("a\tanger\t2\n", "lex.tsv:1: field 'association': '2' is not 0 or 1"),
        ("a\tanger\t1\textra\n", "lex.tsv:1: expected WORD CATEGORY [0|1], found 4 fields"),
        ("a\ttrust\n", "lex.tsv: the lexicon has no entry for any of the 8 emotions"),
    ])
    func badLinesNameTheFileTheLineAndTheField(text: String, message: String) throws {
        let path = TestPaths.temporaryDirectory().appendingPathComponent("lex.tsv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try Lexicon(path: path) } throws: { error in
            let description = (error as? DatasetError)?.description ?? "\(error)"
            return description.contains(message) && !description.contains("\n")
        }
    }

    /// nrclex's `nrc_en.json` shape: `{"word": [categories]}`.
    @Test func theJSONShapeOfNrclexReadsTheSame() throws {
        let lexicon = try Lexicon(text: #"{"furious": ["anger", "negative"], "cheerful": ["joy", "trust"], "upset": ["sadness"]}"#)
        #expect(lexicon.lookup("furious") == [.angry] && lexicon.lookup("cheerful") == [.happy] && lexicon.lookup("upset") == [.sad])
        #expect(lexicon.ignoredEntries == 2)
        #expect { try Lexicon(text: "{\n\"a\": [\"anger\"],\n\"a\": [\"joy\"]}", path: "nrc.json") } throws: {
            ($0 as? DatasetError)?.description.hasPrefix("nrc.json:3: not a JSON lexicon: duplicate") == true
        }
        #expect { try Lexicon(text: #"{"a": ["calm"]}"#, path: "nrc.json") } throws: {
            ($0 as? DatasetError)?.description == "nrc.json: field 'a': 'calm' is not an emotion category"
        }
    }

    @Test func evidenceIsCountedAndMixedWithTheWeight() throws {
        let method = LexiconMethod(lexicon: try Lexicon(text: Self.nrcStyle), weight: 0.25)
        let reference = try EmotionDistribution(votes: [.emotion(.neutral), .emotion(.neutral), .emotion(.angry), .emotion(.happy)])
        let item = DatasetItem(id: "a", descriptions: ["Furious!", "screams, furious"], reference: reference)
        let relabel = try #require(method.relabel(item).relabel)
        // Hits: angry 2 (furious twice), fear 1, surprise 1 -> evidence 0.5, 0.25, 0.25.
        var expected = reference.values.map { 0.75 * $0 }
        expected[Emotion.angry.rawValue] += 0.25 * 0.5
        expected[Emotion.fear.rawValue] += 0.25 * 0.25
        expected[Emotion.surprise.rawValue] += 0.25 * 0.25
        for (got, want) in zip(relabel.adjusted.values, expected) { #expect(abs(got - want) < 1e-12) }
        #expect(!relabel.noEvidence)
        #expect(relabel.reason == "lexicon: angry 2 (furious); fear 1 (screams); surprise 1 (screams)")
    }

    @Test func anItemWithoutEvidenceKeepsItsReferenceAndSaysSo() throws {
        let method = LexiconMethod(lexicon: try Lexicon(text: Self.nrcStyle))
        let reference = EmotionDistribution(oneHot: .sad)
        let outcome = method.relabel(DatasetItem(id: "b", descriptions: ["quiet, calm"], reference: reference))
        let relabel = try #require(outcome.relabel)
        #expect(relabel.adjusted == reference && relabel.noEvidence)
        let line = RelabeledRecord(id: "b", reference: reference, outcome: outcome, promptVersion: "p", provider: "none", model: "lex", method: "lexicon").jsonLine
        #expect(line.contains("\"no_evidence\":true") && line.contains("\"method\":\"lexicon\""))
        #expect(try RelabeledRecord.parse(line: line, file: "f", line: 1).outcome.relabel?.noEvidence == true)
    }

    /// The scorecard says how many "unchanged" items were so for want of evidence.
    @Test func theScorecardCountsItemsWithoutEvidence() throws {
        let reference = EmotionDistribution(oneHot: .sad)
        var items = (0..<4).map { ScoredItem(id: "\($0)", descriptions: [], reference: reference, adjusted: reference) }
        items[0].noEvidence = true
        let card = Scorecard.score(label: "lexicon", items: items, example: nil, chunkSize: 30)
        #expect(card.noEvidence?.value == 0.25 && card.noEvidence?.n == 4)
        #expect(Scorecard.score(label: "adjust", items: Array(items.dropFirst()), example: nil, chunkSize: 30).noEvidence == nil,
                "n/a for a column whose items never say")
        #expect(ScoreMetric.named("no_evidence") != nil)
    }

    @Test func theMixIsTheWeightedSum() throws {
        let reference = EmotionDistribution(oneHot: .neutral), evidence = EmotionDistribution(oneHot: .happy)
        for w in [0.0, 0.05, 0.25, 1.0] {
            let mixed = EvidenceMix.combine(reference: reference, evidence: evidence, weight: w)
            #expect(abs(mixed[.neutral] - (1 - w)) < 1e-15 && abs(mixed[.happy] - w) < 1e-15)
        }
    }

    /// A journal made with one method is not continued with another, nor with other parameters.
    @Test func aResumeWithAnotherMethodOrOtherParametersIsRefused() async throws {
        let (data, _) = RelabelRunnerTests.dataset(20)
        let out = data + ".out.jsonl"
        let lexicon = try Lexicon(text: "word\tanger\n")
        var job = RelabelRunnerTests.job(data, out: out)
        job.configuration.method = LexiconMethod(lexicon: lexicon, weight: 0.25)
        job.limit = 10
        let client = LLMClient(provider: RelabelRunnerTests.good)
        let first = try await RelabelRunner(client: client).run(job)
        #expect(first.summary.relabeled == 10 && first.summary.requests == 0, "the lexicon sends nothing")
        #expect(try RelabelRunnerTests.lines(out).ids.count == 10)

        job.limit = nil
        job.mode = .resume(retryFailed: false, force: false)
        var other = job
        other.configuration.method = LexiconMethod(lexicon: lexicon, weight: 0.5)
        await #expect { try await RelabelRunner(client: client).run(other) } throws: { error in
            let run = error as? RunError
            return run?.code == .differentRun && run?.differences.contains { $0.hasPrefix("method_parameters:") } == true
        }
        var adjust = job
        adjust.configuration.method = nil
        await #expect { try await RelabelRunner(client: client).run(adjust) } throws: { error in
            (error as? RunError)?.differences.contains("method: lexicon in the output, adjust now") == true
        }
        let resumed = try await RelabelRunner(client: client).run(job)
        #expect(resumed.summary.items == 10, "the same method and parameters continue")
    }
}
