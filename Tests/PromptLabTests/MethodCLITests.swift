import Foundation
import LLMKit
import Testing
import TestSupport

/// `relabel --method` through the real binary.
@Suite struct MethodCLITests {
    @Test func theLexiconMethodRelabelsWithoutAModelAndBadInvocationsAreOneLine() async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(40, in: dir)
        let lexicon = dir.appendingPathComponent("lex.tsv").path
        // The corpus's descriptions are "typed N": only "typed" is in this lexicon, as surprise.
        try "typed\tsurprise\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path
        let r = try await CLI.run(["relabel", "--method", "lexicon", "--lexicon", lexicon, "--description-weight", "0.5", "--dataset", dataset,
                                   "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("none (method lexicon)"))
        let lines = try ResumeCLITests.linesByID(out)
        #expect(lines.ids == ids)
        #expect(lines.lines.values.allSatisfy { $0.contains("\"method\":\"lexicon\"") && $0.contains("lexicon: surprise 1 (typed)") })
        let header = try #require(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").first)
        #expect(header.contains("\"method\":\"lexicon\"") && header.contains("\"weight\":0.5"))

        for (arguments, message) in [
            (["--method", "lexicon"], "--method lexicon needs --lexicon FILE"),
            (["--method", "nope"], "unknown method 'nope' (known: adjust, logprob, lexicon)"),
            (["--method", "logprob", "--dry-run"], "--dry-run prices the prompted adjustment; it does not go with --method logprob"),
            (["--method", "logprob", "--min-mass", "1.5"], "--min-mass must be a number from 0.0 to 1.0, not 1.5"),
            (["--lexicon", lexicon], "--lexicon goes with --method lexicon"),
            (["--method", "lexicon", "--lexicon", lexicon, "--description-weight", "2"], "--description-weight must be a number from 0.0 to 1.0, not 2.0"),
        ] {
            let bad = try await CLI.run(["relabel", "--dataset", dataset, "--out", dir.appendingPathComponent("bad.jsonl").path] + arguments)
            #expect(bad.status == 64 && bad.stderr.contains(message) && bad.stderr.split(separator: "\n").count == 1, "\(arguments): \(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.jsonl").path))
        }
    }

    /// `--method logprob` on the bundled next-token recordings of the real Gemma 3 270M (the
    /// embedded default provider): every sample item relabeled from its next-token distribution.
    @Test func theLogprobMethodReplaysTheBundledRecordings() async throws {
        let dir = try ResumeCLITests.directory()
        let out = dir.appendingPathComponent("out.jsonl").path
        let sample = "fixtures/sample/sample.jsonl"   // tests run in the checkout
        let r = try await CLI.run(["relabel", "--method", "logprob", "--dataset", sample, "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("logprob-fewshot@"), "the bundled few-shot prompt is the default: \(r.stdout)")
        let lines = try ResumeCLITests.linesByID(out)
        #expect(lines.ids.count == 72)
        let relabeled = lines.lines.values.filter { $0.contains("\"status\":\"relabeled\"") }
        #expect(relabeled.count >= 60 && relabeled.allSatisfy { $0.contains("\"method\":\"logprob\"") && ($0.contains("\"mass\":") || $0.contains("no_evidence")) })
    }
}
