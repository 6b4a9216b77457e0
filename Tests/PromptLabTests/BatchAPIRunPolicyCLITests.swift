import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 23's Batch API failures, each through the real binary against the fault server.
@Suite(.serialized) struct BatchAPIRunPolicyCLITests {
    static func server(_ change: (inout FaultServer.Configuration) -> Void = { _ in }) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.seed = 7
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.2
        configuration.batches.finalizingDelay = 0.05
        change(&configuration)
        return try FaultServer(configuration)
    }

    static let environment = BatchAPICLITests.environment

    /// Runs the binary under `/usr/bin/time -f %M`; returns the result and the peak RSS in KiB.
    static func measured(_ arguments: [String]) async throws -> (CLI.Result, Int) {
        let dir = try ResumeCLITests.directory()
        let report = dir.appendingPathComponent("rss").path
        let r = try await CLI.offPool { () throws -> CLI.Result in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
            process.arguments = ["-f", "%M", "-o", report, CLI.executable.path] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(Self.environment) { $1 }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
        }
        let text = try String(contentsOfFile: report, encoding: .utf8)
        return (r, Int(text.split(separator: "\n").last.map(String.init) ?? "") ?? -1)
    }

    /// 2: a 256 MiB output file is streamed to disk and read line by line: the run stays far
    /// below the file's size; a file over `--max-download-mib` stops the run with one line and
    /// leaves no partial download.
    @Test func aResultFileIsStreamedToDiskUnderTheDownloadCap() async throws {
        let server = try Self.server { $0.batches.outputPaddingBytes = 256 << 20 }
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(200, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let (r, rss) = try await Self.measured(BatchAPICLITests.arguments(server, dataset: dataset, out: out))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(rss > 0 && rss < 120 * 1024, "peak RSS \(rss) KiB with a 256 MiB output file")
        #expect(!FileManager.default.fileExists(atPath: BatchState.downloadFolder(forOutput: out)), "downloads are removed once collected")

        let capped = try Self.server { $0.batches.outputPaddingBytes = 4 << 20 }
        defer { capped.stop() }
        let out2 = dir.appendingPathComponent("capped.jsonl").path
        let c = try await CLI.run(BatchAPICLITests.arguments(capped, dataset: dataset, out: out2, extra: ["--max-download-mib", "1"]), environment: Self.environment)
        #expect(c.status == 1 && c.stderr.contains("larger than 1048576 bytes"), "\(c.stderr)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: BatchState.downloadFolder(forOutput: out2))) ?? []
        #expect(left.isEmpty, "no partial download: \(left)")
    }

    /// 3: a cancelled batch's `batch_cancelled` lines fail as cancelled and are never asked again.
    @Test func cancelledLinesFailAsCancelledAndAreNeverSubmittedAgain() async throws {
        let server = try Self.server {
            $0.batches.inProgressDelay = 30
            $0.batches.cancelledLinesInErrorFile = true
        }
        defer { server.stop() }
        let (dataset, ids, out) = try await BatchAPICLITests.killedAfterCreate(server)
        try await Task.sleep(for: .milliseconds(300))
        let cancel = try await CLI.run(["batches", "cancel", "--out", out], environment: Self.environment)
        #expect(cancel.status == 0, "\(cancel.stdout) \(cancel.stderr)")
        try await Task.sleep(for: .milliseconds(400))
        let resumed = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--resume"]), environment: Self.environment)
        #expect(resumed.status == 1, "nothing relabeled: \(resumed.stderr)")
        #expect(server.counts.batch.lineOutcomes["batch_cancelled"] == 5, "\(server.counts.batch.lineOutcomes)")
        let lines = try CLI.recordLines(out)
        #expect(try ResumeCLITests.linesByID(out).ids == ids && lines.allSatisfy { $0.contains("\"code\":\"cancelled\"") })
        #expect(server.counts.batch.batchesCreated == 1 && server.counts.batch.submitted.values.allSatisfy { $0 == 1 }, "nothing asked again")
    }

    /// 7a: `--batch-api` reads and writes the response cache: a second run over the same
    /// corpus submits nothing and answers every request from the cache.
    @Test func theCacheAnswersBeforeSubmittingAndKeepsWhatBatchesAnswered() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(100, in: dir)
        let cache = dir.appendingPathComponent("cache").path
        func arguments(_ out: String, _ summary: String) -> [String] {
            BatchAPICLITests.arguments(server, dataset: dataset, out: out).filter { $0 != "--no-cache" } + ["--cache", cache, "--summary-json", summary]
        }
        let first = dir.appendingPathComponent("first.jsonl").path, second = dir.appendingPathComponent("second.jsonl").path
        let a = try await CLI.run(arguments(first, dir.appendingPathComponent("a.json").path), environment: Self.environment)
        #expect(a.status == 0, "\(a.stderr)")
        let created = server.counts.batch.batchesCreated
        let b = try await CLI.run(arguments(second, dir.appendingPathComponent("b.json").path), environment: Self.environment)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(server.counts.batch.batchesCreated == created, "nothing submitted again (\(created) then \(server.counts.batch.batchesCreated))")
        let summary = try StrictJSON.parse(String(contentsOfFile: dir.appendingPathComponent("b.json").path, encoding: .utf8))
        #expect(summary["cache_hits"]?.intValue == 10 && summary["requests"]?.intValue == 10, "\(summary)")
        #expect(try ResumeCLITests.linesByID(second).ids == ids)
        #expect(try CLI.recordLines(second) == CLI.recordLines(first), "the same answers")
    }

    /// 7c: `--overwrite` over batches still running cancels them (and says so) before
    /// submitting anew: nothing is processed twice.
    /// An --overwrite with other settings stopped while cancelling the replaced run's batches,
    /// then --resume: the batch state left behind is the replaced run's (its mark is another
    /// fingerprint), so its batches are cancelled, never collected as answers to this run's
    /// requests; every line is this run's.
    @Test func aResumeAfterAnOverwriteStoppedWhileCancellingNeverCollectsTheReplacedBatches() async throws {
        let server = try Self.server { $0.batches.inProgressDelay = 6 }
        defer { server.stop() }
        let (dataset, ids, out) = try await BatchAPICLITests.killedAfterCreate(server)
        let other = BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--temperature", "0.3"])
        var environment = Self.environment
        environment["LLMKIT_TEST_KILL_AT"] = "during-cancel-replaced"
        #expect(try await CLI.run(other + ["--overwrite"], environment: environment).status == SIGKILL)
        #expect(server.counts.batch.cancelRequests == 1, "the overwrite asked to cancel the replaced batch before it was killed")
        let resumed = try await CLI.run(other + ["--resume"], environment: Self.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (seen, lines) = try ResumeCLITests.linesByID(out)
        #expect(seen == ids)
        // Every line answers this run's requests (temperature 0.3): none is a cancelled line of the replaced batch.
        let records = try lines.values.map { try StrictJSON.parse($0) }
        #expect(records.allSatisfy { $0["status"]?.stringValue == "relabeled" }, "\(records.filter { $0["status"]?.stringValue != "relabeled" }.prefix(2))")
        let header = try #require(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").first)
        #expect(header.contains("\"temperature\":0.3"), "\(header)")
        #expect(server.counts.batch.batchesCreated == 2, "the replaced batch and this run's: \(server.counts.batch.batchesCreated)")
    }

    /// --force-resume with other settings continues the batches as asked, and makes them its
    /// own: a later plain --resume (after a kill) reattaches them instead of cancelling them.
    @Test func batchesContinuedWithForceResumeStayTheRunsOwn() async throws {
        let server = try Self.server { $0.batches.inProgressDelay = 1 }
        defer { server.stop() }
        let (dataset, ids, out) = try await BatchAPICLITests.killedAfterCreate(server)
        let other = BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--temperature", "0.3"])
        var environment = Self.environment
        environment["LLMKIT_TEST_KILL_AT"] = "during-download"
        #expect(try await CLI.run(other + ["--resume", "--force-resume"], environment: environment).status == SIGKILL)
        let resumed = try await CLI.run(other + ["--resume"], environment: Self.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(server.counts.batch.cancelRequests == 0 && server.counts.batch.batchesCreated == 1, "reattached, never cancelled or submitted again")
    }

    @Test func overwriteCancelsTheBatchesItReplaces() async throws {
        // The server's clock stands still (the killed run's batch just in progress) until the
        // overwrite cancels that batch, so none of its lines has run by then however slowly the
        // debug binary starts (under load 8 on 2 cores a real 8 s batch once answered a line
        // before the cancel); from then on it runs twenty times faster than real time, so the
        // new batch ends.
        let clock = ManualClock()
        let server = try Self.server {
            $0.batches.inProgressDelay = 8
            $0.clock = clock.function
        }
        defer { server.stop() }
        let (dataset, ids, out) = try await BatchAPICLITests.killedAfterCreate(server)
        clock.advance(by: server.configuration.batches.validatingDelay + 0.01)   // in progress, no line done
        // Should no cancel come (the bug this test is for), the clock moves anyway after 60 s
        // of real time, so the run ends and the checks below fail instead of the suite hanging.
        let ticker = Task {
            let giveUp = ContinuousClock.now + .seconds(60)
            while !Task.isCancelled {
                if server.counts.batch.cancelRequests > 0 || ContinuousClock.now > giveUp { clock.advance(by: 0.5) }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
        defer { ticker.cancel() }
        let r = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--overwrite"]), environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("cancelling batch batch_"), "said on stderr: \(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        try await Task.sleep(for: .milliseconds(800))
        _ = try await CLI.run(["batches", "list", "--out", out], environment: Self.environment)   // the server writes what ended
        let counts = server.counts.batch
        #expect(counts.cancelRequests == 1 && counts.statuses["cancelled"] == 1, "\(counts.statuses)")
        #expect(counts.answered.values.allSatisfy { $0 == 1 }, "no request processed twice: \(counts.answered.values.filter { $0 > 1 }.count) were")
    }

    /// 8: a start refused for a request over `--batch-max-bytes` leaves no output and no
    /// state, so the next run starts without `--overwrite`.
    @Test func aRefusedStartLeavesNothingBehind() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(30, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let refused = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--batch-max-bytes", "1024"]),
                                        environment: Self.environment)
        #expect(refused.status != 0 && refused.stderr.contains("bytes allowed per input file"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: BatchState.path(forOutput: out)))
        #expect(server.counts.batch.apiRequests == 0, "nothing sent")
        let next = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out), environment: Self.environment)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
    }

    /// 9: `batches list` on a missing output says so, whatever the credentials.
    @Test func batchesOnAMissingOutputSaysSoBeforeAskingForAKey() async throws {
        let dir = try ResumeCLITests.directory()
        let out = dir.appendingPathComponent("missing.jsonl").path
        let r = try await CLI.run(["batches", "list", "--out", out], environment: ["OPENAI_API_KEY": ""])
        #expect(r.status != 0 && r.stderr.contains("does not exist") && !r.stderr.contains("OPENAI_API_KEY"), "\(r.stderr)")
    }

    /// 9: the collect step reads the dataset once, however many batches and follow-ups.
    @Test func theDatasetIsReadOnceWhateverTheBatches() async throws {
        let server = try Self.server { $0.batches.faults = try! FaultServer.BatchFaults.parse("wrong_count=0.2,line_500=0.05") }
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(300, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, summary = dir.appendingPathComponent("s.json").path
        let r = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--batch-max-requests", "5", "--summary-json", summary]),
                                  environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        let batch = try #require(try StrictJSON.parse(String(contentsOfFile: summary, encoding: .utf8))["batch"])
        #expect(server.counts.batch.batchesCreated >= 7 && (batch["follow_up_waves"]?.intValue ?? 0) >= 1)
        #expect(batch["dataset_passes"]?.intValue == 1, "\(batch)")
    }
}
