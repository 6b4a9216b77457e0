import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs promptlab with `arguments`, kills it (SIGKILL) once `ready` says so about the request
/// bodies the server logged, and returns the answers the run had written down and the bodies
/// sent before the kill.
func killedRun(_ arguments: [String], environment: [String: String] = [:], bodies: String, answers: String,
               when ready: @escaping @Sendable ([String]) -> Bool) async throws -> (received: Int, before: [String]) {
    try await CLI.offPool { () throws -> (Int, [String]) in
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !ready(lines(bodies)) { Thread.sleep(forTimeInterval: 0.005) }
        Thread.sleep(forTimeInterval: 0.05)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return (lines(answers).count, lines(bodies))
    }
}

/// The lines of a file (none when it does not exist).
@Sendable func lines(_ path: String) -> [String] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

/// Nothing paid for twice, through the real binary: kill -9 while items are being asked
/// again, then `--resume`; every request whose answer the killed run received is answered
/// from the run's answer log, counted at the server.
@Suite struct PaidOnceCLITests {
    @Test(arguments: [false, true])
    func aKillDuringReasksThenResumeSendsNoAnsweredRequestAgain(cache: Bool) async throws {
        let dir = try ResumeCLITests.directory()
        let bodies = dir.appendingPathComponent("bodies.jsonl").path
        var configuration = FaultServer.Configuration()
        // Most answers miss an entry, so most chunks are asked again in smaller chunks.
        configuration.mix = [.wrongCount: 0.6]
        configuration.latency = 0.2
        configuration.seed = 5
        configuration.bodyLog = bodies
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let (dataset, ids) = try ResumeCLITests.corpus(60, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let answers = out + ".answers"
        let arguments = ["relabel", "--provider", "openai", "--base-url", server.baseURL, "--model", "m", "--dataset", dataset, "--out", out,
                         "--items-per-request", "10", "--concurrency", "1", "--quiet"]
            + (cache ? ["--cache", dir.appendingPathComponent("cache").path] : ["--no-cache"])
        // One request at a time: when a re-ask (fewer than 10 items) arrives after the 4th
        // request, every request before it was answered, its chunk's first ask among them.
        let (received, before) = try await killedRun(arguments, bodies: bodies, answers: answers) { sent in
            sent.count >= 4 && !(sent.last?.contains("\"maxItems\":10") ?? true)
        }
        #expect(before.count >= 4 && !before.last!.contains("\"maxItems\":10"), "killed while a re-ask was in flight")
        #expect(received == before.count - 1, "the \(before.count - 1) answers received were written down (\(received))")
        #expect(server.counts.faults["wrong_count", default: 0] >= 1, "items were being asked again")

        let resumed = try await CLI.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = Array(lines(bodies).dropFirst(before.count))
        let resent = Set(after).intersection(before)
        #expect(resent.count <= 1, "\(resent.count) requests sent again; only the one in flight had no answer")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(!FileManager.default.fileExists(atPath: answers), "a complete run removes its answer log")
    }
}

/// The same through the Batch API with `--reask-sync`: the follow-ups of collected batches are
/// asked through chat calls; kill -9 while they are, then `--resume`.
@Suite struct PaidOnceBatchCLITests {
    @Test(arguments: [false, true])
    func aKillDuringSynchronousReasksOfABatchRunSendsNoAnsweredRequestAgain(cache: Bool) async throws {
        let dir = try ResumeCLITests.directory()
        let bodies = dir.appendingPathComponent("bodies.jsonl").path
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.1
        configuration.batches.finalizingDelay = 0.05
        configuration.batches.faults = try FaultServer.BatchFaults.parse("wrong_count=0.6")
        configuration.latency = 0.2
        configuration.bodyLog = bodies
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let (dataset, ids) = try ResumeCLITests.corpus(100, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        var arguments = BatchAPICLITests.arguments(server, dataset: dataset, out: out, extra: ["--reask-sync", "--concurrency", "1"])
        if cache { arguments = arguments.filter { $0 != "--no-cache" } + ["--cache", dir.appendingPathComponent("cache").path] }
        // One chat call at a time: when the 4th arrives, the 3 before it were answered.
        let (received, before) = try await killedRun(arguments, environment: BatchAPICLITests.environment, bodies: bodies, answers: out + ".answers") {
            $0.count >= 4
        }
        #expect(before.count == 4, "killed while the 4th re-ask was in flight")
        #expect(received == 3, "the 3 answers received were written down (\(received))")
        let resumed = try await CLI.run(arguments + ["--resume"], environment: BatchAPICLITests.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let resent = Set(lines(bodies).dropFirst(before.count)).intersection(before)
        #expect(resent.count <= 1, "\(resent.count) re-asks sent again; only the one in flight had no answer")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
    }
}
