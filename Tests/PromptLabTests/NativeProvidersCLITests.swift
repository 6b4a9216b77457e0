import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `relabel --provider anthropic|gemini` through the real binary against the fault server in
/// each provider's own wire format, with 8% 429s, 8% 529s (Anthropic) or 503s (Gemini) and 3%
/// 500s; Anthropic's Message Batches and Gemini's batch mode killed with SIGKILL and resumed;
/// the bundled recordings replayed; `providers`.
@Suite(.serialized) struct NativeProvidersCLITests {
    static let keys = ["anthropic": ("ANTHROPIC_API_KEY", "sk-ant-native-cli-key-0123456789"), "gemini": ("GEMINI_API_KEY", "gemini-native-cli-key-0123456789")]

    static func server(_ provider: String, key: String) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.seed = 21
        configuration.retryAfter = 0.01
        configuration.requiredKey = key
        configuration.mix = try FaultServer.parseMix("429_retry_after=0.08,\(provider == "anthropic" ? "529" : "503")=0.08,500=0.03")
        return try FaultServer(configuration)
    }

    /// Every file under `dir`, recursively.
    static func files(under dir: URL) -> [URL] {
        let enumerator = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
        return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }

    @Test(arguments: ["anthropic", "gemini"])
    func sixHundredItemsThroughFaultsEveryIdOnceSchemaConstrainedAndTheKeyNowhere(provider: String) async throws {
        let (variable, key) = Self.keys[provider]!
        let server = try Self.server(provider, key: key)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(600, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let summary = dir.appendingPathComponent("summary.json").path
        let record = dir.appendingPathComponent("recordings").path
        let r = try await CLI.run(["relabel", "--provider", provider, "--base-url", server.server.baseURL, "--model", "model-\(provider)", "--dataset", dataset,
                                   "--out", out, "--items-per-request", "10", "--concurrency", "4", "--quiet", "--summary-json", summary,
                                   "--record", record, "--record-mode", "all"],
                                  environment: [variable: key, "LLMKIT_CACHE_DIR": dir.appendingPathComponent("cache").path])
        #expect(r.status == 0, "\(r.stderr)")
        let (seen, lines) = try ResumeCLITests.linesByID(out)
        #expect(seen == ids, "every id exactly once, in input order")
        let relabeled = lines.values.filter { $0.contains("\"status\":\"relabeled\"") }.count
        #expect(relabeled * 100 >= 99 * ids.count, "\(relabeled) of \(ids.count) relabeled")
        let counts = server.counts
        #expect(counts.malformed == 0, "every request was schema-constrained (the server parsed its schema)")
        #expect(counts.unauthenticated == 0 && counts.queryStrings.isEmpty, "the key went in its header, never in a URL: \(counts.queryStrings)")
        #expect((counts.faults["429_retry_after"] ?? 0) > 0 && (counts.faults[provider == "anthropic" ? "529" : "503"] ?? 0) > 0 && (counts.faults["500"] ?? 0) > 0)
        #expect(counts.dialects[provider] == counts.requests)
        for file in Self.files(under: dir) {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: Data(key.utf8)) == nil, "the key is in \(file.path)")
        }
        #expect(!r.stdout.contains(key) && !r.stderr.contains(key))
        let recordings = Self.files(under: URL(fileURLWithPath: record)).filter { $0.pathExtension == "json" }
        #expect(!recordings.isEmpty)
        // The recordings replay offline with the fixture provider, decoded in the provider's own wire format.
        let replayed = dir.appendingPathComponent("replayed.jsonl").path
        let replay = try await CLI.run(["relabel", "--provider", "fixture", "--fixtures", record, "--model", "model-\(provider)", "--dataset", dataset,
                                        "--out", replayed, "--items-per-request", "10", "--quiet", "--no-cache"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try ResumeCLITests.linesByID(replayed).ids == ids)
    }

    /// `scripts/record-native-fixtures.sh` recorded the sample from the fault server in each
    /// wire format (a 429, an overload and a truncation included); the fixture provider replays
    /// them offline.
    @Test(arguments: [("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash")])
    func theBundledRecordingsReplayInTheirOwnWireFormat(provider: String, model: String) async throws {
        let folder = CLI.repository.appendingPathComponent("fixtures/recordings/\(provider)-fault-server")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        let texts = try files.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
        #expect(!files.isEmpty && texts.allSatisfy { $0.contains("\"provider\": \"\(provider)\"") })
        #expect(texts.contains { $0.contains(provider == "anthropic" ? "max_tokens" : "MAX_TOKENS") }, "a truncation is recorded")
        #expect(texts.contains { $0.contains(provider == "anthropic" ? "\"status\": 529" : "\"status\": 503") }, "an overload is recorded")
        let out = try ResumeCLITests.directory().appendingPathComponent("replayed.jsonl").path
        let r = try await CLI.run(["relabel", "--provider", "fixture", "--fixtures", folder.path, "--model", model, "--dataset", "fixtures/sample/sample.jsonl",
                                   "--out", out, "--items-per-request", "12", "--concurrency", "1", "--quiet", "--no-cache"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try CLI.recordLines(out)
        #expect(lines.count == 72 && lines.allSatisfy { $0.contains("\"status\":\"relabeled\"") })
    }

    @Test func providersListsFiveWithWhatEachSupports() async throws {
        let r = try await CLI.run(["providers"])
        #expect(r.status == 0)
        let rows = r.stdout.split(separator: "\n").filter { line in ["anthropic", "fixture", "gemini", "llamacpp", "openai"].contains { line.hasPrefix($0 + " ") } }
        #expect(rows.count == 5, "\(r.stdout)")
        for column in ["structured output", "logprobs", "batch API", "slots"] { #expect(r.stdout.contains(column)) }
        #expect(rows.first { $0.hasPrefix("anthropic") }?.contains("Message Batches") == true)
        #expect(rows.first { $0.hasPrefix("gemini") }?.contains("responseJsonSchema") == true)
        #expect(rows.first { $0.hasPrefix("gemini") }?.contains("batchGenerateContent") == true)
    }

    static func batchServer(_ provider: String, _ change: (inout FaultServer.Configuration) -> Void = { _ in }) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.seed = 5
        configuration.requiredKey = keys[provider]!.1
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.3
        configuration.batches.finalizingDelay = 0.05
        configuration.batches.faults = try FaultServer.BatchFaults.parse("line_500=0.03,line_error=0.02,truncated=0.02,wrong_count=0.03")
        change(&configuration)
        return try FaultServer(configuration)
    }

    static func batchArguments(_ provider: String, _ server: FaultServer, dataset: String, out: String, extra: [String] = []) -> [String] {
        ["relabel", "--provider", provider, "--base-url", server.server.baseURL, "--model", "model-\(provider)", "--dataset", dataset, "--out", out,
         "--items-per-request", "10", "--batch-api", "--batch-max-requests", "20", "--poll-interval", "0.05", "--poll-max", "0.2", "--quiet", "--no-cache"] + extra
    }

    /// Anthropic's Message Batches and Gemini's batch mode behind `--batch-api`.
    @Test(arguments: ["anthropic", "gemini"])
    func aBatchRunKilledWhileCollectingThenResumedResendsNoAnsweredRequest(provider: String) async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(400, in: dir)
        let (variable, key) = Self.keys[provider]!
        let environment = [variable: key, "TMPDIR": dir.path + "/"]
        let reference = dir.appendingPathComponent("reference.jsonl").path
        let first = try Self.batchServer(provider)
        defer { first.stop() }
        let plain = try await CLI.run(Self.batchArguments(provider, first, dataset: dataset, out: reference), environment: environment)
        #expect(plain.status == 0, "\(plain.stderr)")

        let server = try Self.batchServer(provider)
        defer { server.stop() }
        let out = dir.appendingPathComponent("killed.jsonl").path
        var killing = environment
        killing["LLMKIT_TEST_KILL_AT"] = "during-download:2"
        let killed = try await CLI.run(Self.batchArguments(provider, server, dataset: dataset, out: out), environment: killing)
        #expect(killed.status == SIGKILL, "\(killed.status) \(killed.stderr)")
        let answeredBeforeResume = server.counts.batch.answered
        #expect(!answeredBeforeResume.isEmpty, "results were available when the run died")
        let resumed = try await CLI.run(Self.batchArguments(provider, server, dataset: dataset, out: out, extra: ["--resume"]), environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(try CLI.recordLines(out) == CLI.recordLines(reference), "the same lines as the run never killed")
        let submitted = server.counts.batch.submitted
        #expect(answeredBeforeResume.keys.allSatisfy { submitted[$0] == 1 }, "no request whose result was available was sent again")
        #expect(submitted.values.allSatisfy { $0 == 1 } && server.counts.batch.batchesCreated == first.counts.batch.batchesCreated, "no batch created twice")
        #expect(server.counts.unauthenticated == 0)
        #expect(!FileManager.default.fileExists(atPath: out + ".batch-inputs"), "the spool beside the output goes with its last file")
    }

    /// Gemini's batch mode whose output is a responses file (`output.responsesFile`, JSON Lines
    /// fetched from `/v1beta/files/NAME:download?alt=media`) instead of inlined responses: every
    /// id once, the padding after the first file's lines (no key) skipped; a file over
    /// `--max-download-mib` stops the run with one line and leaves no partial download.
    @Test func geminiBatchOutputAsAResponsesFileRelabelsEveryIdOnceUnderTheDownloadCap() async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(300, in: dir)
        let (variable, key) = Self.keys["gemini"]!
        let environment = [variable: key, "TMPDIR": dir.path + "/"]
        let server = try Self.batchServer("gemini") { c in
            c.batches.geminiResponsesFile = true
            c.batches.outputPaddingBytes = 2 << 20
        }
        defer { server.stop() }
        let out = dir.appendingPathComponent("out.jsonl").path, summary = dir.appendingPathComponent("summary.json").path
        let r = try await CLI.run(Self.batchArguments("gemini", server, dataset: dataset, out: out, extra: ["--summary-json", summary]), environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let (seen, lines) = try ResumeCLITests.linesByID(out)
        #expect(seen == ids, "every id exactly once, in input order")
        #expect(lines.values.filter { $0.contains("\"status\":\"relabeled\"") }.count * 100 >= 99 * ids.count)
        let batch = try #require(try StrictJSON.parse(String(contentsOfFile: summary, encoding: .utf8))["batch"])
        #expect((batch["bytes_downloaded"]?.intValue ?? 0) > 2 << 20, "the responses files were downloaded, padding and all: \(batch)")
        let counts = server.counts
        #expect(counts.batch.answered.count >= ids.count / 10 && counts.unauthenticated == 0, "every request answered in a responses file: \(counts.batch.answered.count)")
        #expect(!FileManager.default.fileExists(atPath: BatchState.downloadFolder(forOutput: out)), "downloads are removed once collected")

        let capped = try Self.batchServer("gemini") { c in
            c.batches.geminiResponsesFile = true
            c.batches.outputPaddingBytes = 4 << 20
        }
        defer { capped.stop() }
        let out2 = dir.appendingPathComponent("capped.jsonl").path
        let c = try await CLI.run(Self.batchArguments("gemini", capped, dataset: dataset, out: out2, extra: ["--max-download-mib", "1"]), environment: environment)
        #expect(c.status == 1 && c.stderr.contains("larger than 1048576 bytes"), "\(c.stderr)")
        #expect(c.stderr.split(separator: "\n").count == 1, "one line: \(c.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: BatchState.downloadFolder(forOutput: out2))) ?? []
        #expect(left.isEmpty, "no partial download: \(left)")

        // Inlined responses arrive in the batch object: the cap bounds that read as well
        // (300 items of answers are far more than 10 KB).
        let inline = try Self.batchServer("gemini") { _ in }
        defer { inline.stop() }
        let out3 = dir.appendingPathComponent("inline.jsonl").path
        let i = try await CLI.run(Self.batchArguments("gemini", inline, dataset: dataset, out: out3, extra: ["--max-download-mib", "0.01"]), environment: environment)
        #expect(i.status == 1 && i.stderr.contains("10485 bytes"), "\(i.stderr)")
        #expect(i.stderr.split(separator: "\n").count == 1, "one line: \(i.stderr)")
    }
}
