import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `relabel --batch-api` through the real binary against the fault server's Files and Batch
/// APIs (short phase delays): line errors, content faults and one expired batch; kills at the
/// three crash points followed by `--resume`; the `batches` command.
@Suite(.serialized) struct BatchAPICLITests {
    /// A fault server whose batches validate in 0.05 s, run for 0.3 s and finalize in 0.05 s,
    /// with error lines, content faults and batch 2 expiring halfway.
    static func server(expire: Bool = true) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.seed = 7
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.3
        configuration.batches.finalizingDelay = 0.05
        configuration.batches.faults = try FaultServer.BatchFaults.parse(
            "line_500=0.03,line_error=0.02,prose=0.02,wrong_count=0.03,truncated=0.02,invalid_distribution=0.02" + (expire ? ",expire_batch=2" : ""))
        return try FaultServer(configuration)
    }

    static func arguments(_ server: FaultServer, dataset: String, out: String, extra: [String] = []) -> [String] {
        ["relabel", "--provider", "openai", "--base-url", server.baseURL, "--model", "m", "--dataset", dataset, "--out", out, "--items-per-request", "10",
         "--batch-api", "--batch-max-requests", "40", "--poll-interval", "0.05", "--poll-max", "0.2", "--quiet", "--no-cache"] + extra
    }

    static let environment = ["OPENAI_API_KEY": "sk-test"]

    /// A 50-item corpus whose run was killed right after creating its batch (which the server
    /// keeps running): the dataset, its ids and the output.
    static func killedAfterCreate(_ server: FaultServer) async throws -> (dataset: String, ids: [String], out: String) {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(50, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        var environment = Self.environment
        environment["LLMKIT_TEST_KILL_AT"] = "after-create"
        #expect(try await CLI.run(Self.arguments(server, dataset: dataset, out: out), environment: environment).status == SIGKILL)
        return (dataset, ids, out)
    }

    /// custom_ids the server saw in more than one created batch, and the most times one was seen.
    static func repeats(_ server: FaultServer) -> (twice: Int, most: Int) {
        let submitted = server.counts.batch.submitted
        return (submitted.values.filter { $0 > 1 }.count, submitted.values.max() ?? 0)
    }

    @Test func everyIdOnceWithLineErrorsAndAnExpiredBatchWhoseRemainderAloneIsResubmitted() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(1500, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let summary = dir.appendingPathComponent("summary.json").path
        let r = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--summary-json", summary]), environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids, "every id exactly once, in input order")
        let batch = try #require(try StrictJSON.parse(String(contentsOfFile: summary, encoding: .utf8))["batch"])
        let counts = server.counts.batch
        #expect(counts.statuses["expired"] == 1 && batch["statuses"]?["expired"] == 1, "\(counts.statuses)")
        let resubmitted = try #require(batch["expired_resubmitted"]?.intValue)
        let (twice, most) = Self.repeats(server)
        #expect(resubmitted > 0 && twice == resubmitted && most == 2, "only the expired remainder was submitted again (\(twice) vs \(resubmitted))")
        #expect((counts.lineOutcomes["line_500"] ?? 0) > 0 && (counts.lineOutcomes["line_error"] ?? 0) > 0 && (counts.lineOutcomes["wrong_count"] ?? 0) > 0)
        #expect(batch["error_lines"]?.intValue == (counts.lineOutcomes["line_500"] ?? 0) + (counts.lineOutcomes["line_error"] ?? 0))
        // 150 first requests in files of 40: 4 files in wave 0, then follow-up waves.
        #expect(counts.batchesCreated >= 5 && (batch["follow_up_waves"]?.intValue ?? 0) >= 1)
        let header = try #require(JournalHeader(line: String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")[0].description))
        #expect(header.fingerprint.executor == "batch-api")
        // Re-asked items were asked again: wrong_count drops one item per answer, and none of them is left failed as missing.
        let failedMissing = try CLI.recordLines(out).filter { $0.contains("\"kind\":\"missing_index\"") }.count
        #expect(failedMissing == 0)
    }

    @Test(arguments: ["after-upload", "after-create", "during-download"])
    func aKillAtEachPointThenResumeEndsWithTheSameFile(point: String) async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(600, in: dir)
        let reference = dir.appendingPathComponent("reference.jsonl").path
        let first = try Self.server()
        defer { first.stop() }
        #expect(try await CLI.run(Self.arguments(first, dataset: dataset, out: reference), environment: Self.environment).status == 0)

        let server = try Self.server()
        defer { server.stop() }
        let out = dir.appendingPathComponent("killed.jsonl").path
        // The second occurrence: a batch of wave 0 is already in flight when the process dies.
        var environment = Self.environment
        environment["LLMKIT_TEST_KILL_AT"] = point + ":2"
        let killed = try await CLI.run(Self.arguments(server, dataset: dataset, out: out), environment: environment)
        #expect(killed.status == SIGKILL, "killed at \(point): \(killed.status) \(killed.stderr)")
        let plain = try await CLI.run(Self.arguments(server, dataset: dataset, out: out), environment: Self.environment)
        #expect(plain.status == 1 && plain.stderr.contains("--resume"), "a plain rerun refuses: \(plain.stderr)")
        let resumed = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--resume"]).filter { $0 != "--quiet" },
                                        environment: Self.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(point == "after-upload" || resumed.stdout.range(of: #"[1-9][0-9]* reattached"#, options: .regularExpression) != nil,
                "the batches in flight were reattached: \(resumed.stdout)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        // Byte for byte the records of the run never killed (the headers differ in the server's port).
        #expect(try CLI.recordLines(out) == CLI.recordLines(reference), "the same lines as the run never killed")
        let (twice, most) = Self.repeats(server)
        #expect(twice == Self.repeats(first).twice && most <= 2, "nothing but the expired remainder was submitted twice")
        #expect(server.counts.batch.batchesCreated == first.counts.batch.batchesCreated, "no batch created twice")
    }

    @Test func theBatchesCommandListsShowsAndCancels() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 30
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let (dataset, ids, out) = try await Self.killedAfterCreate(server)
        let list = try await CLI.run(["batches", "list", "--out", out], environment: Self.environment)
        #expect(list.status == 0 && list.stdout.contains("w0-f1") && list.stdout.contains("batch_"), "\(list.stdout) \(list.stderr)")
        let cancel = try await CLI.run(["batches", "cancel", "--out", out], environment: Self.environment)
        #expect(cancel.status == 0 && cancel.stdout.contains("now cancelling"), "\(cancel.stdout) \(cancel.stderr)")
        try await Task.sleep(for: .milliseconds(400))
        let status = try await CLI.run(["batches", "status", "--out", out], environment: Self.environment)
        #expect(status.stdout.contains("status cancelled"), "\(status.stdout)")
        let resumed = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--resume"]), environment: Self.environment)
        #expect(resumed.status == 1, "nothing relabeled: every request was cancelled before it ran")
        let lines = try CLI.recordLines(out)
        #expect(try ResumeCLITests.linesByID(out).ids == ids && lines.allSatisfy { $0.contains("\"code\":\"cancelled\"") })
        #expect(server.counts.batch.batchesCreated == 1, "a cancelled batch is not submitted again without --retry-failed")
    }

    /// `--force-resume` continues despite other settings, but batches stay with the server they
    /// were submitted to: the error says what to do instead of advising the option already given.
    @Test func aRefusalWithForceResumeGivenDoesNotAdviseIt() async throws {
        let first = try Self.server(expire: false)
        defer { first.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(20, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let made = try await CLI.run(Self.arguments(first, dataset: dataset, out: out), environment: Self.environment)
        #expect(made.status == 0, "\(made.stderr)")
        let other = try Self.server(expire: false)
        defer { other.stop() }
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let r = try await CLI.run(Self.arguments(other, dataset: dataset, out: out, extra: ["--resume", "--force-resume"]), environment: Self.environment)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before, "a refused start leaves the output as it was (no forced header)")
        #expect(r.status == 1 && r.stderr.contains("the batches were submitted to \(first.baseURL)"), "\(r.stderr)")
        #expect(!r.stderr.contains("pass --force-resume"), "the option was given: \(r.stderr)")
        #expect(r.stderr.contains("--force-resume does not") && r.stderr.contains("--base-url") && r.stderr.contains("another --out"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(other.counts.batch.batchesCreated == 0)
    }
}

/// The Batch API's other endings and options: a failed batch, re-asks sent synchronously,
/// files split by bytes.
@Suite(.serialized) struct BatchAPIOutcomesCLITests {
    @Test func aFailedBatchFailsItsItemsWithTheServersErrorsAndNothingIsSubmittedAgainUnlessAsked() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.05
        configuration.batches.faults.failValidation = 1
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(30, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let arguments = BatchAPICLITests.arguments(server, dataset: dataset, out: out)
        let r = try await CLI.run(arguments.filter { $0 != "--quiet" }, environment: BatchAPICLITests.environment)
        #expect(r.status == 1, "nothing relabeled")
        #expect(r.stdout.contains("failed batches") && r.stdout.contains("token_limit_exceeded"), "the summary lists the server's errors: \(r.stdout)")
        let lines = try CLI.recordLines(out)
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(lines.allSatisfy { $0.contains("\"code\":\"bad_request\"") && $0.contains("failed validation: token_limit_exceeded") })
        let resumed = try await CLI.run(arguments + ["--resume"], environment: BatchAPICLITests.environment)
        #expect(resumed.stdout.contains("nothing to do") && server.counts.batch.batchesCreated == 1, "not submitted again by a plain --resume")
        _ = try await CLI.run(arguments + ["--resume", "--retry-failed"], environment: BatchAPICLITests.environment)
        #expect(server.counts.batch.batchesCreated == 2, "--retry-failed asks again")
    }

    @Test func reaskSyncSendsFollowUpsThroughChatCallsAndFilesSplitByBytes() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.1
        configuration.batches.finalizingDelay = 0.05
        configuration.batches.faults = try FaultServer.BatchFaults.parse("wrong_count=0.3,truncated=0.1")
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(200, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let extra = ["--reask-sync", "--batch-max-requests", "50000", "--batch-max-bytes", "40000"]
        let r = try await CLI.run(BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: extra), environment: BatchAPICLITests.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        let counts = server.counts
        #expect(counts.requests > 0, "re-asks and splits went to /v1/chat/completions")
        #expect(counts.batch.batchesCreated >= 2 && counts.batch.bytesUploaded / counts.batch.filesUploaded <= 40000, "files of at most 40000 bytes")
    }
}
