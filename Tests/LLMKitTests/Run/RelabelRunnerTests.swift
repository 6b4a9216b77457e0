import Foundation
import Synchronization
import Testing
import TestSupport
@testable import LLMKit

/// The run as a library call, in-process: journal, resume, cancellation, stops, final pass,
/// locks, fingerprints and progress events, without spawning the binary.
@Suite struct RelabelRunnerTests {
    static let prompt = PromptVersion(name: "t", systemText: "sys", userTemplate: "{{count}} points:\n{{data}}")

    /// A dataset of `n` items in a fresh folder.
    static func dataset(_ n: Int, in dir: URL = TestPaths.temporaryDirectory()) -> (path: String, ids: [String]) {
        let ids = (1...n).map { String(format: "u%04d", $0) }
        let text = ids.map { "{\"id\": \"\($0)\", \"descriptions\": [\"word \($0)\"], \"votes\": [\"N\", \"H\"]}" }.joined(separator: "\n") + "\n"
        let path = dir.appendingPathComponent("data.jsonl").path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, ids)
    }

    static func job(_ dataset: String, out: String, batch: Int = 10, mode: RelabelJournal.Mode = .fresh(overwrite: false),
                    limit: Int? = nil, seed: Int = 42, concurrency: Int = 3) -> RelabelJob {
        RelabelJob(dataset: dataset, output: out, mode: mode, limit: limit,
                   configuration: RelabelConfiguration(prompt: prompt, model: "m", chunkSize: batch, concurrency: concurrency, seed: seed))
    }

    static let good = RuleProvider { points in RuleProvider.answer(Array(1...points.count)) }

    /// The record lines of an output: (ids in file order, header count).
    static func lines(_ path: String) throws -> (ids: [String], headers: Int, failed: Int) {
        let reader = try RelabeledRecordReader(path: path)
        var ids: [String] = [], failed = 0
        while let record = try reader.next() {
            ids.append(record.id)
            if record.outcome.failure != nil { failed += 1 }
        }
        return (ids, reader.headers.count, failed)
    }

    /// Runs a job, collecting its events.
    static func run(_ client: LLMClient, _ job: RelabelJob) async throws -> (RelabelReport, [RelabelEvent]) {
        let (stream, continuation) = AsyncStream.makeStream(of: RelabelEvent.self)
        async let collected = stream.reduce(into: [RelabelEvent]()) { $0.append($1) }
        do {
            let report = try await RelabelRunner(client: client).run(job, events: continuation)
            return (report, await collected)
        } catch {
            _ = await collected
            throw error
        }
    }

    @Test func everyIdOnceInInputOrderWithAFingerprintHeaderAndEvents() async throws {
        let (data, ids) = Self.dataset(95)
        let out = URL(fileURLWithPath: data).deletingLastPathComponent().appendingPathComponent("out/run.jsonl").path
        let (report, events) = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out))
        let written = try Self.lines(out)
        #expect(written.ids == ids && written.headers == 1 && written.failed == 0)
        #expect(report.summary.items == 95 && report.relabeledInOutput == 95 && report.itemsToDo == 95)
        guard case .started(let start)? = events.first else { Issue.record("no start event"); return }
        #expect(start.items == 95 && start.datasetItems == 95 && start.tokenBudget == TokenBudget.tokens(count: 10, prompt: Self.prompt))
        let durable = events.compactMap { if case .chunkDurable(let done) = $0 { done.items } else { nil } }
        #expect(durable.reduce(0, +) == 95 && durable.count == 10)
        #expect(events.filter { if case .requestSent = $0 { true } else { false } }.count == 10)
        if case .finished(let s)? = events.last { #expect(s.relabeled == 95) } else { Issue.record("no finish event") }
        let header = try #require(JournalHeader(line: String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")[0].description))
        #expect(header.fingerprint.prompt == Self.prompt.id && header.fingerprint.chunkSize == 10 && header.fingerprint.model == "m")
        #expect(header.fingerprint.datasetSHA256 == SHA256Hex.of(Array(try Data(contentsOf: URL(fileURLWithPath: data)))))
        #expect(report.syncs >= 1 && report.syncs <= 11, "group commit: at most one sync per batch plus the header")
    }

    @Test func resumeContinuesWhereTheLimitStoppedAndANothingToDoRunIsFine() async throws {
        let (data, ids) = Self.dataset(40)
        let out = data + ".out.jsonl"
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, limit: 15))
        #expect(try Self.lines(out).ids == Array(ids.prefix(15)))
        let provider = RuleProvider { points in RuleProvider.answer(Array(1...points.count)) }
        let (report, _) = try await Self.run(LLMClient(provider: provider), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(try Self.lines(out).ids == ids)
        #expect(report.resumed.done.count == 15 && report.itemsToDo == 25)
        #expect(provider.calls.withLock { $0.reduce(0, +) } == 25, "only the remaining items are asked")
        let (again, _) = try await Self.run(LLMClient(provider: provider), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(again.itemsToDo == 0 && again.relabeledInOutput == 40)
        #expect(try Self.lines(out).ids == ids)
    }

    @Test func cancellingKeepsWholeLinesAndResumeCompletes() async throws {
        let (data, ids) = Self.dataset(200)
        let out = data + ".out.jsonl"
        let gate = Gate()
        // Answers 5 batches at once, then every request waits until cancelled.
        let slow = RuleProvider { points in
            if gate.pass() { return RuleProvider.answer(Array(1...points.count)) }
            Thread.sleep(forTimeInterval: 0.2)
            return RuleProvider.answer(Array(1...points.count))
        }
        let task = Task { try await Self.run(LLMClient(provider: slow), Self.job(data, out: out, concurrency: 2)) }
        // Cancel once the first five batches are on disk (header + 50 lines).
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, ((try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 51 {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await #expect { try await task.value } throws: { ($0 as? RunError)?.code == .interrupted }
        let partial = try Self.lines(out)
        #expect(partial.ids == Array(ids.prefix(partial.ids.count)) && partial.ids.count >= 50 && partial.ids.count < 200)
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(try Self.lines(out).ids == ids)
    }

    @Test func aFatalErrorStopsTheRunAndLeavesTheRestUntouched() async throws {
        let (data, ids) = Self.dataset(60)
        let out = data + ".out.jsonl"
        let provider = RuleProvider { points in
            if points.first!.contains("u0031") { throw LLMError(.authentication, "openai rejected the credentials: bad key.") }
            return RuleProvider.answer(Array(1...points.count))
        }
        await #expect { try await Self.run(LLMClient(provider: provider), Self.job(data, out: out, concurrency: 1)) } throws: { error in
            guard let e = error as? RunError else { return false }
            return e.code == .stopped && e.providerError?.kind == .authentication && e.message.contains("30 complete lines")
        }
        #expect(try Self.lines(out).ids == Array(ids.prefix(30)), "nothing after the failing batch, nothing marked failed")
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(try Self.lines(out) == (ids, 1, 0))
    }

    @Test func transientFailuresAreRiddenOutWithinTheBudgetThenAskedAgainAtTheEnd() async throws {
        let (data, ids) = Self.dataset(50)
        let out = data + ".out.jsonl"
        let clock = TestClock()
        let failures = Mutex([String: Int]())
        // Batch 2 fails 8 times: a 20 s budget of backoff (0.5 + 1 + 2 + 4 + 8 s) allows 6 attempts, so
        // it fails in the main pass, and the final pass gets it through; the others answer at once.
        let provider = RuleProvider { points in
            let key = points.first!
            if key.contains("u0011") {
                let n = failures.withLock { f in f[key, default: 0] += 1; return f[key]! }
                if n <= 8 { throw LLMError(.serverError, "busy", context: .init(httpStatus: 503)) }
            }
            return RuleProvider.answer(Array(1...points.count))
        }
        let client = LLMClient(provider: provider, middlewares: [RetryMiddleware(policy: .forRun(budget: .seconds(20)), clock: clock, random: { 0 })])
        let (report, events) = try await Self.run(client, Self.job(data, out: out, concurrency: 1))
        #expect(try Self.lines(out) == (ids, 1, 0), "every id once, in input order, none failed")
        #expect(report.summary.relabeled == 50 && report.summary.failed == 0)
        #expect(events.contains { if case .finalPass(10) = $0 { true } else { false } })
        #expect(failures.withLock { $0.values.first } == 9)
        #expect(clock.sleeps.count == 7 && clock.sleeps.reduce(.zero, +) <= .seconds(40), "each pass stays within its budget")
        let waits = events.filter { if case .waiting(_, .retry, _) = $0 { true } else { false } }
        #expect(waits.count >= 5, "retries are reported as waits")
    }

    @Test func aSecondRunOnTheSameOutputIsRefusedNamingTheHolder() async throws {
        let (data, _) = Self.dataset(5)
        let out = data + ".out.jsonl"
        let fingerprint = RunFingerprint(datasetSHA256: "x", prompt: "p", provider: "q", model: "m", baseURL: nil, chunkSize: 1, seed: 1,
                                         temperature: 0, maxTokens: nil, policy: .default)
        let first = try await RelabelJournal.open(path: out, mode: .fresh(overwrite: false), fingerprint: fingerprint)
        await #expect { try await RelabelJournal.open(path: out, mode: .resume(retryFailed: false, force: true), fingerprint: fingerprint) } throws: { error in
            guard let e = error as? RunError else { return false }
            return e.code == .outputLocked && e.message.contains("process \(getpid())")
        }
        // A whole run on a locked output refuses before it reads the dataset: a dataset that
        // does not exist would otherwise be the error.
        let missing = data + ".missing.jsonl"
        await #expect { try await Self.run(LLMClient(provider: Self.good), Self.job(missing, out: out, mode: .resume(retryFailed: false, force: true))) } throws: { error in
            (error as? RunError)?.code == .outputLocked
        }
        try await first.close(inputOrder: nil)
        #expect(!FileManager.default.fileExists(atPath: out + ".lock"), "the lock file goes with the lock")
        let second = try await RelabelJournal.open(path: out, mode: .resume(retryFailed: false, force: false), fingerprint: fingerprint)
        try await second.close(inputOrder: nil)
    }

    @Test func resumingWithOtherInputsIsRefusedNamingEachDifferenceAndForcedRecordsBoth() async throws {
        let (data, _) = Self.dataset(30)
        let out = data + ".out.jsonl"
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, limit: 10))
        let resume = RelabelJournal.Mode.resume(retryFailed: false, force: false)
        await #expect { try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, batch: 5, mode: resume, seed: 7)) } throws: { error in
            guard let e = error as? RunError, e.code == .differentRun else { return false }
            return e.differences.count == 2 && e.message.contains("seed: 42 in the output, 7 now") && e.message.contains("batch_size: 10 in the output, 5 now")
        }
        let (other, _) = Self.dataset(31)
        await #expect { try await Self.run(LLMClient(provider: Self.good), Self.job(other, out: out, mode: resume)) } throws: { error in
            (error as? RunError)?.differences.first?.hasPrefix("dataset_sha256") == true
        }
        #expect(try Self.lines(out).ids.count == 10, "a refused resume writes nothing")
        let (report, _) = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: false, force: true), seed: 7))
        #expect(report.resumed.acceptedDifferences == ["seed: 42 in the output, 7 now"])
        let reader = try RelabeledRecordReader(path: out)
        while try reader.next() != nil {}
        #expect(reader.headers.count == 2 && reader.headers[1].forcedDifferences == report.resumed.acceptedDifferences && reader.headers[1].fingerprint.seed == 7)
    }

    @Test func duplicateIdsAreRefusedBeforeAnyRequestNamingBothLines() async throws {
        let dir = TestPaths.temporaryDirectory()
        let data = dir.appendingPathComponent("d.jsonl").path
        try "{\"id\": \"a\", \"votes\": [\"N\"]}\n{\"id\": \"b\", \"votes\": [\"N\"]}\n\n{\"id\": \"a\", \"votes\": [\"H\"]}\n".write(toFile: data, atomically: true, encoding: .utf8)
        let provider = RuleProvider { points in RuleProvider.answer(Array(1...points.count)) }
        await #expect { try await Self.run(LLMClient(provider: provider), Self.job(data, out: dir.appendingPathComponent("o.jsonl").path)) } throws: { error in
            (error as? DatasetError)?.description == "\(data):4: field 'id': id 'a' appears twice, on lines 1 and 4; every item needs its own id"
        }
        #expect(provider.calls.withLock { $0.isEmpty })
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.jsonl").path), "no output before the run can start")
    }

    @Test func anOutputThatIsTheInputIsRefusedByAnyName() async throws {
        let dir = TestPaths.temporaryDirectory()
        let (data, _) = Self.dataset(3, in: dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: data))
        try FileManager.default.linkItem(atPath: data, toPath: dir.appendingPathComponent("hard.jsonl").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("soft.jsonl").path, withDestinationPath: data)
        for out in [data, dir.appendingPathComponent("hard.jsonl").path, dir.appendingPathComponent("soft.jsonl").path, dir.path + "/./data.jsonl"] {
            await #expect { try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .fresh(overwrite: true))) } throws: { error in
                (error as? DatasetError)?.reason.contains("the same file as the input") == true
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: data)) == before)
    }

    @Test func retryFailedPutsTheFileBackInInputOrder() async throws {
        let (data, ids) = Self.dataset(30)
        let out = data + ".out.jsonl"
        // Items 5 and 17 come back invalid every time in the first run.
        let flaky = RuleProvider { points in
            RuleProvider.answer(Array(1...points.count).filter { !points[$0 - 1].contains("u0005#") && !points[$0 - 1].contains("u0017#") })
        }
        _ = try await Self.run(LLMClient(provider: flaky), Self.job(data, out: out))
        #expect(try Self.lines(out).failed == 2)
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: true, force: false)))
        #expect(try Self.lines(out) == (ids, 1, 0), "one line per id, in input order")
    }

    @Test func aTornLastLineIsCutAndItsItemAskedAgain() async throws {
        let (data, ids) = Self.dataset(20)
        let out = data + ".out.jsonl"
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        bytes.removeLast(40)
        try bytes.write(to: URL(fileURLWithPath: out))
        let (report, _) = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(report.resumed.droppedTornLine && report.itemsToDo == 1)
        #expect(try Self.lines(out).ids == ids)
    }

    /// A crash can leave a last line that is not even text: cut in the middle of a character, or
    /// followed by zeros. It is torn like any other unterminated line, not a damaged journal.
    @Test(arguments: ["cut inside a character", "zeros after the last line"])
    func aLastLineThatIsNotTextIsTornToo(_ damage: String) async throws {
        let (data, ids) = Self.dataset(20)
        let out = data + ".out.jsonl"
        _ = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        if damage == "zeros after the last line" {
            bytes.append(Data(repeating: 0, count: 4096))
        } else {
            bytes.append(contentsOf: Array(#"{"id": "late", "reason": "caf\#u{E9}"#.utf8).dropLast())   // ends inside é
        }
        try bytes.write(to: URL(fileURLWithPath: out))
        let (report, _) = try await Self.run(LLMClient(provider: Self.good), Self.job(data, out: out, mode: .resume(retryFailed: false, force: false)))
        #expect(report.resumed.droppedTornLine && report.itemsToDo == 0)
        #expect(try Self.lines(out).ids == ids)
    }

    @Test func aTokenLimitSmallerThanOneRequestIsRefusedAtStart() async throws {
        let (data, _) = Self.dataset(10)
        let limiter = RateLimitMiddleware(limiter: RateLimiter(limits: RateLimits(tokensPerMinute: 500)))
        let provider = RuleProvider { points in RuleProvider.answer(Array(1...points.count)) }
        await #expect { try await Self.run(LLMClient(provider: provider, middlewares: [limiter]), Self.job(data, out: data + ".o.jsonl")) } throws: { error in
            guard let e = error as? RunError else { return false }
            return e.code == .limitTooSmall && e.message.contains("500 tokens per minute")
        }
        #expect(provider.calls.withLock { $0.isEmpty })
    }

    @Test func streamedTokensAndWaitsReachTheEvents() async throws {
        let (data, _) = Self.dataset(4)
        let provider = RuleProvider { points in
            RequestObserver.current?.receivedTokens(17)
            RequestObserver.current?.waiting(.rateLimit, for: .seconds(5))
            return RuleProvider.answer(Array(1...points.count))
        }
        let (_, events) = try await Self.run(LLMClient(provider: provider), Self.job(data, out: data + ".o.jsonl"))
        #expect(events.contains { if case .tokensReceived(_, 17) = $0 { true } else { false } })
        #expect(events.contains { if case .waiting(_, .rateLimit, let d) = $0 { d == Duration.seconds(5) } else { false } })
    }
}

/// Lets the first `count` calls through.
final class Gate: Sendable {
    private let left = Mutex(5)
    func pass() -> Bool { left.withLock { n in defer { n -= 1 }; return n > 0 } }
}
