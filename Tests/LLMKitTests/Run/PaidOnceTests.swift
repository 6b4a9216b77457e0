import Foundation
import Synchronization
import Testing
import TestSupport
@testable import LLMKit

/// A provider that counts every request by its canonical hash, answers each chunk of ten
/// with entries for its first five data points only (so the other five are asked again) and
/// can hold chosen requests until they are cancelled.
final class LedgerProvider: LLMProvider {
    let id: ProviderID = "ledger"
    let capabilities = ProviderCapabilities(constrainsOutput: true)
    let sent = Mutex<[String]>([])
    let answered = Mutex<[String]>([])
    /// Requests for these data points wait until cancelled.
    let hold: (@Sendable (_ points: [String]) -> Bool)?
    /// Requests whose first data point contains this text fail with a 503 (a transient error).
    let failing: Mutex<Set<String>>

    init(hold: (@Sendable (_ points: [String]) -> Bool)? = nil, failing: Set<String> = []) {
        self.hold = hold
        self.failing = Mutex(failing)
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        let points = request.messages.last!.content.components(separatedBy: "\n").last!.components(separatedBy: " | ")
        let key = request.canonicalHash
        sent.withLock { $0.append(key) }
        if hold?(points) == true {
            try await Task.sleep(for: .seconds(600))
        }
        if failing.withLock({ f in f.contains { points.first!.contains($0) } }) {
            throw LLMError(.serverError, "busy", context: .init(httpStatus: 503))
        }
        let answer = points.count == 10 ? RuleProvider.answer(Array(1...5)) : RuleProvider.answer(Array(1...points.count))
        answered.withLock { $0.append(key) }
        return answer
    }
}

/// An answer that was paid for is written down before anything else happens to it: a run
/// killed (here: cancelled, which abandons what is in memory exactly as a kill does) while
/// its re-asks are in flight never asks for that answer again.
@Suite struct PaidOnceTests {
    /// Starts a run whose first asks answer half their items and whose re-asks (5 points) wait;
    /// cancels it once two chunks are answered and their re-asks in flight. Returns the hashes
    /// of the requests it received answers to.
    static func stopDuringReasks(_ data: String, out: String) async throws -> Set<String> {
        let first = LedgerProvider(hold: { $0.count < 10 })
        let task = Task { try await RelabelRunner(client: LLMClient(provider: first)).run(RelabelRunnerTests.job(data, out: out, concurrency: 2)) }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, first.sent.withLock({ $0.count }) < 4 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await #expect { try await task.value } throws: { ($0 as? RunError)?.code == .interrupted }
        return Set(first.answered.withLock { $0 })
    }

    @Test func aRunStoppedDuringReasksNeverAsksAnAnswerItReceivedAgain() async throws {
        let (data, ids) = RelabelRunnerTests.dataset(40)
        let out = data + ".out.jsonl"
        let paid = try await Self.stopDuringReasks(data, out: out)
        #expect(paid.count == 2, "two chunks answered, their re-asks in flight")
        #expect(FileManager.default.fileExists(atPath: AnswerLog.path(forOutput: out)), "the answers outlive the stopped run")

        let second = LedgerProvider()
        let report = try await RelabelRunner(client: LLMClient(provider: second))
            .run(RelabelRunnerTests.job(data, out: out, mode: .resume(retryFailed: false, force: false), concurrency: 2))
        let resent = Set(second.sent.withLock { $0 }).intersection(paid)
        #expect(resent.isEmpty, "\(resent.count) answered requests were sent again")
        #expect(report.summary.cacheHits == 2)
        #expect(try RelabelRunnerTests.lines(out).ids == ids)
        #expect(!FileManager.default.fileExists(atPath: AnswerLog.path(forOutput: out)), "a complete run removes its answer log")
    }

    @Test func aFreshRunDoesNotReuseAnotherRunsAnswers() async throws {
        let (data, _) = RelabelRunnerTests.dataset(20)
        let out = data + ".out.jsonl"
        let paid = try await Self.stopDuringReasks(data, out: out)
        let second = LedgerProvider()
        _ = try await RelabelRunner(client: LLMClient(provider: second)).run(RelabelRunnerTests.job(data, out: out, mode: .fresh(overwrite: true)))
        #expect(Set(second.sent.withLock { $0 }).isSuperset(of: paid), "--overwrite asks everything afresh")
    }

    /// Interrupted during the final pass, the output still holds one line per id (the failed
    /// lines a new line replaced are gone), not both until the next `--resume`.
    @Test func anInterruptDuringTheFinalPassLeavesOneLinePerId() async throws {
        let (data, ids) = RelabelRunnerTests.dataset(60)
        let out = data + ".out.jsonl"
        let finalPass = Mutex(false)
        // Chunks 2 and 4 fail in the main pass; in the final pass chunk 2 answers and chunk 4 waits.
        let provider = LedgerProvider(hold: { points in finalPass.withLock { $0 } && points.first!.contains("u0031") }, failing: ["u0011", "u0031"])
        let job = RelabelRunnerTests.job(data, out: out, concurrency: 1)
        let task = Task {
            try await RelabelRunner(client: LLMClient(provider: provider)).run(job) { event in
                if case .finalPass = event {
                    provider.failing.withLock { $0 = [] }
                    finalPass.withLock { $0 = true }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        // Main pass: 10 asks (4 chunks asked twice, 2 failed once); final pass: chunk 2 twice, then chunk 4 is held.
        while ContinuousClock.now < deadline, provider.sent.withLock({ $0.count }) < 13 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect { try await task.value } throws: { ($0 as? RunError)?.code == .interrupted }
        let lines = try RelabelRunnerTests.lines(out)
        #expect(lines.ids.count == Set(lines.ids).count, "one line per id")
        #expect(Set(lines.ids) == Set(ids))
        #expect(lines.failed == 10, "chunk 4's failed lines stay until it is asked again")
    }

    /// Interrupted while a `--retry-failed` resume asks the failed items again, the output
    /// keeps their failed lines (only lines whose replacement was appended go): every id stays.
    @Test func anInterruptedRetryOfFailedItemsKeepsTheirLines() async throws {
        let (data, ids) = RelabelRunnerTests.dataset(40)
        let out = data + ".out.jsonl"
        let failing = LedgerProvider(failing: ["u0011"])
        let job = RelabelRunnerTests.job(data, out: out, concurrency: 1)
        let first = try await RelabelRunner(client: LLMClient(provider: failing)).run(job)
        #expect(first.summary.failed == 10)
        let held = LedgerProvider(hold: { $0.first!.contains("u0011") })
        var retry = job
        retry.mode = .resume(retryFailed: true, force: false)
        let task = Task { try await RelabelRunner(client: LLMClient(provider: held)).run(retry) }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, held.sent.withLock({ $0.count }) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await #expect { try await task.value } throws: { ($0 as? RunError)?.code == .interrupted }
        let lines = try RelabelRunnerTests.lines(out)
        #expect(Set(lines.ids) == Set(ids) && lines.ids.count == ids.count, "every id once")
        #expect(lines.failed == 10, "the failed lines wait for their retry")
    }

    /// The answer log after a kill: whole lines are answers again, a torn last line is cut off.
    @Test func theAnswerLogKeepsWholeLinesAndCutsATornEnd() async throws {
        let out = TestPaths.temporaryDirectory().appendingPathComponent("out.jsonl").path
        let log = try await AnswerLog.open(output: out, fresh: true, io: .shared)
        let answer = CompletionResponse(text: "{\"items\":[]}", usage: TokenUsage(promptTokens: 3, completionTokens: 2))
        await log.record(answer, key: "a")
        await log.record(answer, key: "b")
        await log.close(remove: false)
        let whole = try Data(contentsOf: URL(fileURLWithPath: AnswerLog.path(forOutput: out)))
        let handle = try #require(FileHandle(forWritingAtPath: AnswerLog.path(forOutput: out)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"answers\":\"llmkit-answers/1\",\"key\":\"c\",\"te".utf8))
        try handle.close()
        let reopened = try await AnswerLog.open(output: out, fresh: false, io: .shared)
        #expect(reopened.count == 2)
        #expect(await reopened.answer(for: "b")?.text == answer.text)
        #expect(await reopened.answer(for: "b")?.servedFromCache == true)
        #expect(await reopened.answer(for: "c") == nil)
        await reopened.close(remove: false)
        #expect(try Data(contentsOf: URL(fileURLWithPath: AnswerLog.path(forOutput: out))) == whole, "the torn line is gone")
    }
}
