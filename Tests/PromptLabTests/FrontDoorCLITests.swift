import Foundation
import LLMKit
import Testing
import TestSupport

/// What a user meets first: the bundled sample by name from any folder, a missing recording
/// that says how to record it, the dry run's missing model, the cost in `--summary-json`, and a
/// `--concurrency` below what the servers offer.
@Suite struct FrontDoorCLITests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("frontdoor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    @Test func theBundledSampleRelabelsByNameFromAFolderOutsideTheCheckout() async throws {
        let dir = try Self.scratch()
        let r = try await CLI.run(["relabel", "--dataset", "sample", "--quiet", "--no-cache"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir + "/out/sample.paper-reason.fixture.gemma3-270m-q4_k_m.jsonl"
        let lines = try CLI.recordLines(out)
        #expect(lines.count == 72 && lines.allSatisfy { $0.contains(#""status":"relabeled""#) })
        // A file named 'sample' in the folder is the user's, not the bundled one.
        try "not a dataset\n".write(toFile: dir + "/sample", atomically: true, encoding: .utf8)
        let own = try await CLI.run(["relabel", "--dataset", "sample", "--quiet", "--no-cache", "--out", "out/own.jsonl"], in: dir)
        #expect(own.status != 0 && own.stderr.contains("sample: "), "\(own.stderr)")
    }

    @Test func aMissingRecordingSaysHowToRecordIt() async throws {
        let dir = try Self.scratch()
        let r = try await CLI.run(["relabel", "--dataset", "sample", "--seed", "7", "--quiet", "--no-cache"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("--record DIR") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        let folder = try await CLI.run(["relabel", "--dataset", "sample", "--fixtures", dir + "/none", "--quiet", "--no-cache"], in: dir)
        #expect(folder.status == 1 && folder.stderr.contains("--record DIR"), "\(folder.stderr)")
    }

    @Test func theDryRunWithoutAModelFailsAsTheRealRunDoes() async throws {
        let dir = try Self.scratch()
        let arguments = ["relabel", "--provider", "openai", "--dataset", "sample", "--quiet", "--no-cache"]
        let real = try await CLI.run(arguments, environment: ["OPENAI_API_KEY": "sk-test"], in: dir)
        let dry = try await CLI.run(arguments + ["--dry-run"], environment: ["OPENAI_API_KEY": "sk-test"], in: dir)
        #expect(real.status == 1 && dry.status == 1)
        #expect(dry.stderr == real.stderr && dry.stderr.contains("pass --model") && dry.stderr.split(separator: "\n").count == 1, "dry: \(dry.stderr) real: \(real.stderr)")
        #expect(dry.stdout.isEmpty)
    }

    @Test func theSummaryJSONCarriesTheCostThePrintedSummaryShows() async throws {
        let dir = try Self.scratch()
        let prices = dir + "/prices.json"
        try #"{"source": "test", "date": "2026-12", "models": {"gemma3-270m": {"input": 0.1, "cached_input": 0.05, "output": 0.4}}}"#
            .write(toFile: prices, atomically: true, encoding: .utf8)
        let r = try await CLI.run(["relabel", "--dataset", "sample", "--quiet", "--no-cache", "--prices", prices, "--summary-json", "s.json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try StrictJSON.parse(String(contentsOfFile: dir + "/s.json", encoding: .utf8))
        let cost = try #require(json["cost"])
        let dollars = try #require(cost["dollars"]?.doubleValue)
        #expect(dollars > 0 && cost["priced_as"] == "gemma3-270m" && cost["prices"] == "synchronous")
        let row = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("cost ") })
        let text = try #require(cost["text"]?.stringValue)
        #expect(row.contains(String(format: "$%.4f", dollars)) && row.hasSuffix(text), "\(row) vs \(cost)")
        // No price known: null, and the same words as the printed row.
        let unpriced = try await CLI.run(["relabel", "--dataset", "sample", "--quiet", "--no-cache", "--overwrite", "--summary-json", "s.json"], in: dir)
        let none = try StrictJSON.parse(String(contentsOfFile: dir + "/s.json", encoding: .utf8))["cost"]
        let noneText = try #require(none?["text"]?.stringValue)
        #expect(none?["dollars"] == .null && unpriced.stdout.contains(noneText))
    }

    @Test func aConcurrencyBelowThePoolsCapacityIsSaidAtTheStartAndInTheSummary() async throws {
        let servers = try PoolCLITests.servers(2, latency: 0)
        defer { servers.forEach { $0.stop() } }
        let dir = try Self.scratch()
        let arguments = ["relabel", "--provider", "openai", "--model", "m", "--dataset", "sample", "--no-cache", "--quiet", "--summary-json", "s.json"]
            + servers.flatMap { ["--base-url", $0.baseURL] }
        let capped = try await CLI.run(arguments + ["--concurrency", "3"], environment: PoolCLITests.environment, in: dir)
        #expect(capped.status == 0, "\(capped.stderr)")
        #expect(capped.stderr.hasPrefix("promptlab: --concurrency 3 is below the pool's capacity of 8 (its servers' slots summed): at most 3 requests in flight\n"), "\(capped.stderr)")
        #expect(capped.stdout.contains("3 requests in flight at most, capped by --concurrency (the pool's capacity of 8"), "\(capped.stdout)")
        let json = try StrictJSON.parse(String(contentsOfFile: dir + "/s.json", encoding: .utf8))["concurrency"]
        #expect(json?["used"] == 3 && json?["capacity"] == 8 && json?["capped_by"] == "--concurrency")
        // At the pool's capacity: no line, and the summary says where the number came from.
        let full = try await CLI.run(arguments + ["--overwrite"], environment: PoolCLITests.environment, in: dir)
        #expect(full.status == 0 && !full.stderr.contains("--concurrency"), "\(full.stderr)")
        #expect(full.stdout.contains("8 (the pool's capacity of 8"), "\(full.stdout)")
    }
}
