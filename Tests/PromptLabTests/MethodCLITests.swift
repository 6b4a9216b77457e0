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

    /// `score --method`: the methods run through the same runs as the prompts (PromptRuns), one
    /// column per method × prompt × provider, gold agreement on every column, and the report's
    /// one-item-across-columns table.
    @Test func scoreRunsMethodsBesideThePromptsAdjustment() async throws {
        let dir = try ResumeCLITests.directory()
        let lexicon = dir.appendingPathComponent("lex.tsv").path
        try "happy\tjoy\njoyful\tjoy\nangry\tanger\nsad\tsadness\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let (json, html, md) = (dir.appendingPathComponent("s.json").path, dir.appendingPathComponent("r.html").path, dir.appendingPathComponent("r.md").path)
        let sample = "fixtures/sample/sample.jsonl"
        let r = try await CLI.run(["score", "--dataset", sample, "--method", "adjust", "--method", "logprob", "--method", "lexicon", "--lexicon", lexicon,
                                   "--description-weight", "0.1", "--gold", sample, "--out-dir", dir.path, "--quiet",
                                   "--json", json, "--html", html, "--markdown", md])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try StrictJSON.parse(String(contentsOfFile: json, encoding: .utf8))
        let columns = try #require(report["columns"]?.arrayValue)
        #expect(columns.compactMap { $0["label"]?.stringValue } == ["adjust · paper-reason · fixture", "logprob · logprob-fewshot · fixture", "lexicon · lex"])
        #expect(columns.allSatisfy { $0["gold"]?["argmax_agreement"] != nil }, "--gold adds agreement to every column")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files.contains { $0.hasPrefix("sample.logprob.logprob-fewshot.fixture.") } && files.contains { $0.hasPrefix("sample.lexicon.") && $0.contains(".none.lex.") })
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("One item across the columns") && page.contains("descriptions name ") && page.contains("next token: "))
        let markdown = try String(contentsOfFile: md, encoding: .utf8)
        #expect(markdown.contains("**One item across the columns**") && markdown.contains("| logprob · logprob-fewshot · fixture |"))
        #expect(markdown.contains("no evidence (no_evidence") || markdown.contains("unchanged only when the item had no evidence"))

        let bad = try await CLI.run(["score", "--dataset", sample, "--method", "logprob", "--prompt", "paper-reason"])
        #expect(bad.status == 64 && bad.stderr.contains("--prompt versions run with --method adjust"))
        let colon = try await CLI.run(["score", "--dataset", sample, "--method", "lexicon:x", "--lexicon", lexicon])
        #expect(colon.status == 64 && colon.stderr.contains("only logprob takes a prompt version"))
    }

    /// `promptlab fit` on a lexicon run of the sample, against the sample's gold.
    @Test func fitWritesTheRunRemixedAndRefusesARunOfTheAdjustment() async throws {
        let dir = try ResumeCLITests.directory()
        let lexicon = dir.appendingPathComponent("lex.tsv").path
        try "happy\tjoy\ncheerful\tjoy\nmad\tanger\nsad\tsadness\nscared\tfear\nmocking\tdisgust\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let sample = "fixtures/sample/sample.jsonl"
        let run = dir.appendingPathComponent("lex.jsonl").path, out = dir.appendingPathComponent("fitted.jsonl").path
        let r = try await CLI.run(["relabel", "--method", "lexicon", "--lexicon", lexicon, "--dataset", sample, "--out", run, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let fit = try await CLI.run(["fit", run, "--dataset", sample, "--gold", sample, "--folds", "2", "--out", out])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stdout.contains("cross-validated: JS ") && fit.stdout.contains("fitted on all items: w = "))
        let header = try #require(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").first)
        #expect(header.contains("\"fitted\":{") && header.contains("\"cv_js\":") && header.contains("\"gold_sha256\":"))
        let again = try await CLI.run(["fit", run, "--dataset", sample, "--gold", sample, "--out", out])
        #expect(again.status != 0 && again.stderr.contains("give --overwrite"))
        let adjust = dir.appendingPathComponent("adjust.jsonl").path
        _ = try await CLI.run(["relabel", "--dataset", sample, "--out", adjust, "--quiet"])
        let refused = try await CLI.run(["fit", adjust, "--dataset", sample, "--gold", sample])
        #expect(refused.status != 0 && refused.stderr.contains("field 'method': the run's method is adjust"))
    }
}
