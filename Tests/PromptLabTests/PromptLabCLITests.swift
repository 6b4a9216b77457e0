import Foundation
import Testing
import TestSupport
import LLMKit

/// Runs the built `promptlab` executable as a user would.
struct CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The products folder holds the test bundle and the executable.
    static var executable: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("promptlab")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug/promptlab")
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the executable on a thread of its own, so waiting for it never blocks the test
    /// runner's cooperative threads (other tests' async work goes on meanwhile).
    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                    in directory: String? = nil, executable: URL? = nil) async throws -> Result {
        try await offPool { try runBlocking(arguments, stdin: stdin, environment: environment, in: directory, executable: executable) }
    }

    /// Runs blocking work on a dedicated thread and awaits its result.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
        }
    }

    /// `directory`: the working folder (default: the checkout); `executable`: another program than promptlab.
    static func runBlocking(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                            in directory: String? = nil, executable: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable ?? Self.executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) } ?? repository
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// The record lines of a relabeled output (journal header lines left out).
    static func recordLines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !JournalHeader.isHeader($0) }
    }

    static func temporaryFile(_ text: String, name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("promptlab-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

@Suite struct PromptLabCLITests {
    @Test func listsBundledPromptVersionsWithIds() async throws {
        let r = try await CLI.run(["prompts"])
        #expect(r.status == 0)
        #expect(r.stdout.range(of: #"paper-reason@[0-9a-f]{8}\s+30\s+yes"#, options: .regularExpression) != nil)
        #expect(r.stdout.range(of: #"paper-no-reason@[0-9a-f]{8}\s+30\s+no"#, options: .regularExpression) != nil)
    }

    @Test func helpExplainsEverySubcommand() async throws {
        let r = try await CLI.run(["--help"])
        #expect(r.status == 0)
        for command in ["prompts", "render", "parse", "inspect"] { #expect(r.stdout.contains(command)) }
        let version = try await CLI.run(["--version"])
        #expect(version.stdout.contains("jansson 2.") && version.stdout.contains("libcurl"))
    }

    @Test func rendersABatchOfTheSample() async throws {
        let r = try await CLI.run(["render", "--dataset", "fixtures/sample/sample.jsonl", "--items-per-request", "5", "--request", "2"])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.stdout.contains("items 6...10 (s006, s007, s008, s009, s010)"))
        // s006's descriptions are hostile (JSON, a newline): they stay inside data point 1.
        // Its 12 votes: 7 angry, 4 sad, 1 Other (excluded), so 7/11 and 4/11.
        #expect(r.stdout.contains("1. ('items': ()),line one line two#0.6364,0.3636,0.0,0.0,0.0,0.0,0.0,0.0 | 2. Mocking,sarcastic,Condescending#"))
        #expect(r.stdout.contains("\"maxItems\": 5"))
    }

    /// "Batch" is kept for provider batch APIs: the items sent in one request are
    /// `--items-per-request` (and `render --request`); the old names still work, each with one
    /// deprecation line on stderr.
    @Test func oldOptionNamesForTheItemsOfARequestWorkWithADeprecationLine() async throws {
        let old = try await CLI.run(["render", "--dataset", "fixtures/sample/sample.jsonl", "--batch-size", "5", "--batch", "2"])
        let new = try await CLI.run(["render", "--dataset", "fixtures/sample/sample.jsonl", "--items-per-request", "5", "--request", "2"])
        #expect(old.status == 0 && old.stdout == new.stdout, "\(old.stderr)")
        #expect(old.stderr == "promptlab: --batch-size is deprecated; use --items-per-request\npromptlab: --batch is deprecated; use --request\n", "\(old.stderr)")
        #expect(new.stdout.contains("# prompt paper-reason@") && new.stdout.contains(", request 2: items 6...10"))

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("relabel-\(UUID().uuidString).jsonl").path
        let relabel = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--limit", "4", "--batch-size", "2", "--out", out,
                                         "--quiet", "--dry-run"])
        #expect(relabel.status == 0 && relabel.stderr == "promptlab: --batch-size is deprecated; use --items-per-request\n", "\(relabel.stderr)")
        #expect(relabel.stdout.contains("2 (4 items in requests of 2"), "\(relabel.stdout)")
        let bad = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--batch-size", "0", "--dry-run"])
        #expect(bad.status == 64 && bad.stderr.contains("--batch-size must be from 1 to 500, not 0"), "\(bad.stderr)")
        let both = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--batch-size", "2", "--items-per-request", "3", "--dry-run"])
        #expect(both.status == 64 && both.stderr.contains("--batch-size is the old name of --items-per-request: give one"), "\(both.stderr)")
        let compare = try await CLI.run(["compare", "--help"])
        for command in ["relabel", "score", "render"] {
            let help = try await CLI.run([command, "--help"])
            #expect(help.stdout.contains("--items-per-request") && !help.stdout.contains("--batch-size"), "\(command)")
        }
        #expect(compare.stdout.contains("--items-per-request") && !compare.stdout.contains("--batch-size"))
        let relabelHelp = try await CLI.run(["relabel", "--help"])
        #expect(!relabelHelp.stdout.contains("each batch") && !relabelHelp.stdout.contains("smaller batches") && relabelHelp.stdout.contains("--batch-api"))
    }

    @Test func inspectCountsAndBadInputGivesOneLineErrors() async throws {
        let good = try await CLI.run(["inspect", "fixtures/sample/sample.csv"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("rows               6") || good.stdout.range(of: #"rows\s+6"#, options: .regularExpression) != nil)

        let path = try CLI.temporaryFile("{\"id\":\"a\",\"votes\":[\"A\"]}\n{\"id\":\"b\",\"votes\":[\"A\",\"Bored\"]}\n", name: "bad.jsonl")
        let bad = try await CLI.run(["inspect", path])
        #expect(bad.status != 0)
        #expect(bad.stdout.isEmpty)
        let lines = bad.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(bad.stderr.contains("\(path):2: field 'votes': element 1"))
    }

    @Test func parseReportsEachItemAndFailsWhenAnyFailed() async throws {
        let entry = #"{"index":1,"angry":0.2,"sad":0,"disgust":0,"contempt":0,"fear":0,"neutral":0.8,"surprise":0,"happy":0,"reason":"ok"}"#
        let ok = try await CLI.run(["parse", "--count", "1", "-"], stdin: "Sure:\n{\"items\":[\(entry)]}")
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("1\trelabeled"))
        #expect(ok.stdout.contains("leading=5 chars"))
        let missing = try await CLI.run(["parse", "--count", "2", "-"], stdin: "{\"items\":[\(entry)]}")
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("2\tfailed\tmissing_index"))
    }

    @Test func unknownPromptNamesTheKnownOnes() async throws {
        let r = try await CLI.run(["render", "--dataset", "fixtures/sample/sample.jsonl", "--prompt", "nope"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("known: logprob-fewshot, paper-no-reason, paper-reason"))
    }
}

@Suite struct RelabelCLITests {
    static func datasetIDs() throws -> [String] {
        try String(contentsOf: CLI.repository.appendingPathComponent("fixtures/sample/sample.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line in
                let start = line.range(of: "\"id\": \"")!.upperBound
                return String(line[start...].prefix { $0 != "\"" })
            }
    }

    @Test(arguments: ["paper-reason", "paper-no-reason"])
    func replaysTheBundledRecordingsOfTheRealModel(_ prompt: String) async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("relabel-\(UUID().uuidString).jsonl").path
        let r = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--prompt", prompt, "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.range(of: #"items\s+72"#, options: .regularExpression) != nil)
        #expect(r.stdout.range(of: #"provider\s+fixture \(gemma3-270m-q4_k_m\)"#, options: .regularExpression) != nil)
        #expect(r.stdout.range(of: "output\\s+" + NSRegularExpression.escapedPattern(for: out), options: .regularExpression) != nil)
        #expect(r.stderr.isEmpty)
        let lines = try CLI.recordLines(out)
        #expect(lines.count == 72)
        let ids = lines.map { line -> String in
            let start = line.range(of: "{\"id\":\"")!.upperBound
            return String(line[start...].prefix { $0 != "\"" })
        }
        #expect(ids == (try Self.datasetIDs()))
        #expect(lines.allSatisfy { $0.contains("\"status\":\"relabeled\"") || $0.contains("\"failure\":{\"kind\":") })
        #expect(lines.allSatisfy { $0.contains("\"prompt\":\"\(prompt)@") && $0.contains("\"provider\":\"fixture\"") })
    }

    @Test func providersAreListed() async throws {
        let r = try await CLI.run(["providers"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("fixture") && r.stdout.contains("llamacpp"))
    }

    @Test func badRelabelInvocationsFailCleanlyWithoutOutput() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("relabel-\(UUID().uuidString).jsonl").path
        let cases: [([String], String)] = [
            (["--provider", "nope"], "Unknown provider 'nope'"),
            // Refused while parsing, before anything is read: a dry run printed an estimate for it.
            (["--provider", "nope", "--dry-run"], "Unknown provider 'nope'"),
            (["--fixtures", "/nonexistent"], "does not exist. (fixture); pass --fixtures DIR"),
            (["--record", "/tmp/x"], "--record needs a live provider"),
            (["--items-per-request", "0"], "--items-per-request must be from 1 to 500, not 0"),
            // A seed that was never recorded: no other request can succeed either, so the run stops
            // at once, marks nothing failed and leaves no output behind.
            (["--seed", "7"], "No recording for request"),
            (["--timeout", "inf"], "--timeout must be a number from 0.1 to 86400.0, not inf"),
            (["--timeout", "1e300"], "--timeout must be a number from 0.1 to 86400.0"),
            (["--temperature", "nan"], "--temperature must be a number from 0.0 to 2.0, not nan"),
            (["--rpm=-1"], "--rpm must be a number"),
            // A negative number after a space is the option's value, named by its range.
            (["--items-per-request", "-1"], "--items-per-request must be from 1 to 500, not -1"),
            (["--timeout", "-1"], "--timeout must be a number from 0.1 to 86400.0, not -1.0"),
            (["--tpm", "-5"], "--tpm must be a number"),
            (["--max-response-mib", "0"], "--max-response-mib must be a number"),
            (["--concurrency", "100000"], "--concurrency must be from 1 to 1024"),
        ]
        for (arguments, message) in cases {
            let r = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--limit", "3", "--out", out, "--quiet"] + arguments)
            #expect(r.status != 0, "\(arguments)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line, not a dump: \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments) left an output")
        }
    }
}

/// The acceptance run of the resilience issues: 3,000 items through `promptlab relabel
/// --provider openai` with default flags against the fault server with about 20% 429s and 7%
/// 5xx and resets (plus answers in prose and with an entry missing): the run rides the
/// transient errors out.
@Suite struct FaultMixCLITests {
    @Test func threeThousandItemsUnderTransientFaultsAllThroughNoneLostNoneTwice() async throws {
        var configuration = FaultServer.Configuration()
        configuration.seed = 2026
        configuration.retryAfter = 0.02
        configuration.mix = [
            // 20% rate limits with each kind of retry header
            .rateLimitRetryAfter: 0.06, .rateLimitRetryAfterMs: 0.06, .rateLimitReset: 0.06, .rateLimitHTTPDate: 0.02,
            // 7% 5xx and resets
            .server500: 0.02, .server502: 0.015, .server503: 0.015, .reset: 0.02,
            // content the parser and re-asks deal with
            .prose: 0.02, .wrongCount: 0.02,
        ]
        let server = try FaultServer(configuration)
        defer { server.stop() }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faultmix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dataset = dir.appendingPathComponent("corpus.jsonl").path
        let ids = (1...3000).map { String(format: "utt%05d", $0) }
        let emotions = ["A", "S", "D", "C", "F", "N", "U", "H"]
        let lines = ids.enumerated().map { i, id in
            "{\"id\":\"\(id)\",\"descriptions\":[\"word \(i % 97)\"],\"votes\":[\"\(emotions[i % 8])\",\"\(emotions[(i / 8) % 8])\",\"N\"]}"
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dataset, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path
        let summaryPath = dir.appendingPathComponent("summary.json").path

        let r = try await CLI.run(["relabel", "--provider", "openai", "--base-url", server.baseURL, "--model", "gpt-test", "--dataset", dataset,
                                   "--out", out, "--summary-json", summaryPath, "--concurrency", "8", "--quiet", "--no-cache"])
        #expect(r.status == 0, "\(r.stderr)")

        // Every input id exactly once, in input order; each relabeled or failed with a kind and a message.
        let records = try CLI.recordLines(out).map { try StrictJSON.parse($0) }
        #expect(records.map { $0["id"]?.stringValue ?? "" } == ids)
        let summary = try StrictJSON.parse(try String(contentsOfFile: summaryPath, encoding: .utf8))
        let counts = server.counts
        #expect(summary["items"] == 3000)
        #expect(summary["relabeled"]!.intValue! >= 2970, "at least 99% relabeled: \(summary)")
        // What failed, failed for reasons another request would not fix: no provider errors left.
        #expect(summary["provider_errors"] == .object(JSONObject()), "\(summary)")
        for record in records where record["status"] == "failed" {
            let kind = record["failure"]?["kind"]?.stringValue ?? ""
            #expect(!["provider_error"].contains(kind), "\(record)")
        }
        #expect(summary["attempts"]?.intValue == counts.requests, "every HTTP attempt reached the server once")
        #expect(summary["relabeled"]?.intValue == records.filter { $0["status"] == "relabeled" }.count)
        // The mix really happened.
        let rateLimited = ["429_retry_after", "429_retry_after_ms", "429_ratelimit_reset", "429_http_date"].reduce(0) { $0 + (counts.faults[$1] ?? 0) }
        #expect(Double(rateLimited) / Double(counts.requests) > 0.12)
        print("fault mix run: \(counts.json); summary: \(summary)")
    }

    @Test func noQuotaStopsTheRunAtOnceAndSaysHowToContinue() async throws {
        var configuration = FaultServer.Configuration()
        configuration.mix = [.quota: 1]
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(100, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let r = try await CLI.run(ResumeCLITests.arguments(server, dataset: dataset, out: out, extra: ["--concurrency", "1"]))
        #expect(r.status == 1)
        #expect(r.stderr.contains("quota is exhausted") && r.stderr.contains("--resume") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(server.counts.requests == 1, "stopped after the first answer")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing was marked failed")
    }
}

/// Crash safety: SIGKILL at random moments, resume each time, compare with a run never killed.
@Suite struct ResumeCLITests {
    static func corpus(_ n: Int, in dir: URL) throws -> (path: String, ids: [String]) {
        let ids = (1...n).map { String(format: "k%05d", $0) }
        let codes = ["A", "S", "D", "C", "F", "N", "U", "H"]
        let lines = ids.enumerated().map { i, id in
            "{\"id\":\"\(id)\",\"descriptions\":[\"typed \(i % 113)\"],\"votes\":[\"\(codes[i % 8])\",\"\(codes[(i / 8) % 8])\",\"N\",\"\(codes[(i / 64) % 8])\"]}"
        }
        let path = dir.appendingPathComponent("corpus.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, ids)
    }

    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func arguments(_ server: FaultServer, dataset: String, out: String, extra: [String] = []) -> [String] {
        ["relabel", "--provider", "openai", "--base-url", server.baseURL, "--model", "m", "--dataset", dataset, "--out", out,
         "--items-per-request", "10", "--concurrency", "4", "--quiet", "--no-cache"] + extra
    }

    /// id -> whole line (journal header lines left out).
    static func linesByID(_ path: String) throws -> (ids: [String], lines: [String: String]) {
        var ids: [String] = []
        var lines: [String: String] = [:]
        for line in try CLI.recordLines(path) {
            let id = try StrictJSON.parse(String(line))["id"]!.stringValue!
            ids.append(id)
            lines[id] = String(line)
        }
        return (ids, lines)
    }

    @Test func tenKillsAndResumesEndLikeAnUninterruptedRun() async throws {
        var configuration = FaultServer.Configuration()
        configuration.latency = 0.01
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try Self.directory()
        let (dataset, ids) = try Self.corpus(2000, in: dir)

        let reference = dir.appendingPathComponent("reference.jsonl").path
        #expect(try await CLI.run(Self.arguments(server, dataset: dataset, out: reference)).status == 0)

        let out = dir.appendingPathComponent("killed.jsonl").path
        let baseArguments = Self.arguments(server, dataset: dataset, out: out)
        // The kills run on a thread of their own: sleeping and waiting there blocks no test.
        let (kills, killedAt) = try await CLI.offPool { () throws -> (Int, [Int]) in
        var generator = SplitMix64(seed: 42)
        var kills = 0
        var killedAt: [Int] = []
        for round in 0..<10 {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = baseArguments + (round == 0 ? [] : ["--resume"])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let delay = Double.random(in: 0.05...0.35, using: &generator)
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            killedAt.append(FileManager.default.fileExists(atPath: out) ? (try Self.linesByID(out).ids.count) : 0)
        }
        return (kills, killedAt)
        }
        #expect(kills >= 8, "the runs were really killed (lines at each kill: \(killedAt))")
        let final = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--resume"]))
        #expect(final.status == 0, "\(final.stderr)")

        let expected = try Self.linesByID(reference)
        let got = try Self.linesByID(out)
        #expect(got.ids == ids, "every input id exactly once, in input order")
        #expect(got.lines == expected.lines, "the same outcome for every item as the run never killed")
        print("kill/resume: lines on disk after each kill: \(killedAt)")
    }

    @Test func aTornLastLineIsDroppedAndAMismatchIsRefused() async throws {
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let dir = try Self.directory()
        let (dataset, ids) = try Self.corpus(50, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        #expect(try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--limit", "20"])).status == 0)
        // A crash in the middle of a write: half a line, no newline.
        let handle = try #require(FileHandle(forWritingAtPath: out))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\":\"k00021\",\"status\":\"rel".utf8))
        try handle.close()

        let mismatch = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--resume", "--prompt", "paper-no-reason"]))
        #expect(mismatch.status != 0)
        #expect(mismatch.stderr.contains("prompt: paper-reason@") && mismatch.stderr.contains("in the output, paper-no-reason@")
                && mismatch.stderr.contains("--force-resume"), "\(mismatch.stderr)")

        let again = try await CLI.run(Self.arguments(server, dataset: dataset, out: out, extra: ["--resume"]))
        #expect(again.status == 0)
        #expect(again.stdout.range(of: #"items\s+30"#, options: .regularExpression) != nil, "only the 30 missing items were asked")
        #expect(try Self.linesByID(out).ids == ids)

        let refused = try await CLI.run(Self.arguments(server, dataset: dataset, out: out))
        #expect(refused.status != 0 && refused.stderr.contains("--resume") && refused.stderr.contains("--overwrite"))
    }

    @Test func retryFailedReplacesFailedLines() async throws {
        var configuration = FaultServer.Configuration()
        configuration.mix = [.refusal: 0.5]
        configuration.seed = 7
        let flaky = try FaultServer(configuration)
        defer { flaky.stop() }
        let dir = try Self.directory()
        let (dataset, ids) = try Self.corpus(100, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        _ = try await CLI.run(Self.arguments(flaky, dataset: dataset, out: out))
        let failedBefore = try String(contentsOfFile: out, encoding: .utf8).components(separatedBy: "\"status\":\"failed\"").count - 1
        #expect(failedBefore > 0)

        let healthy = try FaultServer(FaultServer.Configuration())
        defer { healthy.stop() }
        // Another server is another base URL in the fingerprint: refused unless forced.
        let refused = try await CLI.run(Self.arguments(healthy, dataset: dataset, out: out, extra: ["--resume", "--retry-failed"]))
        #expect(refused.status == 1 && refused.stderr.contains("base_url: \(flaky.baseURL) in the output, \(healthy.baseURL) now"), "\(refused.stderr)")
        let r = try await CLI.run(Self.arguments(healthy, dataset: dataset, out: out, extra: ["--resume", "--retry-failed", "--force-resume"]))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.range(of: "items\\s+\(failedBefore)\\b", options: .regularExpression) != nil)
        let after = try Self.linesByID(out)
        #expect(after.ids == ids, "exactly one line per id after the retry, in input order")
        #expect(!after.lines.values.contains { $0.contains("\"status\":\"failed\"") })
    }
}

@Suite struct CacheCLITests {
    @Test func aSecondRunCostsNothingAndFailuresAreNotCached() async throws {
        var configuration = FaultServer.Configuration()
        configuration.mix = [.refusal: 0.3]
        configuration.seed = 11
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(200, in: dir)
        let cache = dir.appendingPathComponent("cache").path
        func run(_ name: String) async throws -> JSONValue {
            let summary = dir.appendingPathComponent("\(name).json").path
            let r = try await CLI.run(["relabel", "--provider", "openai", "--base-url", server.baseURL, "--model", "m", "--dataset", dataset,
                                 "--out", dir.appendingPathComponent("\(name).jsonl").path, "--items-per-request", "10", "--quiet", "--cache", cache,
                                 "--summary-json", summary])
            #expect(r.status == 0, "\(r.stderr)")
            return try StrictJSON.parse(try String(contentsOfFile: summary, encoding: .utf8))
        }
        let first = try await run("first")
        let afterFirst = server.counts.requests
        #expect(first["cache_hits"] == 0)
        #expect(first["attempts"]?.intValue == afterFirst)
        let refusedOrFailed = first["failed"]!.intValue!
        #expect(refusedOrFailed > 0)

        let second = try await run("second")
        let sent = server.counts.requests - afterFirst
        // Only what failed the first time (refusals) was asked again.
        #expect(second["cache_hits"]?.intValue == first["requests"]!.intValue! - (first["failed"]!.intValue! / 10))
        #expect(second["attempts"]?.intValue == sent)
        #expect(sent == first["failed"]!.intValue! / 10, "one request per failed batch of 10")
        let files = try FileManager.default.subpathsOfDirectory(atPath: cache).filter { $0.hasSuffix(".json") }
        #expect(files.count == first["relabeled"]!.intValue! / 10)
    }
}

@Suite struct ImportExportCLITests {
    @Test func importThenExportRoundTripsTheBundledSample() async throws {
        let dir = try ResumeCLITests.directory()
        let imported = dir.appendingPathComponent("imported.jsonl").path
        let r = try await CLI.run(["import", "fixtures/sample/annotations.csv", "--out", imported])
        #expect(r.status == 0 && r.stdout.contains("72 items"))
        #expect(try await CLI.run(["import", "fixtures/sample/annotations.csv", "--out", imported]).stderr.contains("--overwrite"))

        let relabeled = dir.appendingPathComponent("relabeled.jsonl").path
        // Votes written as codes give the same requests: the bundled recordings answer them.
        #expect(try await CLI.run(["relabel", "--dataset", imported, "--out", relabeled, "--quiet"]).status == 0)
        let csv = dir.appendingPathComponent("labels.csv").path
        let e = try await CLI.run(["export", relabeled, "--out", csv, "--variant", "reference", "--labels-only"])
        #expect(e.status == 0 && e.stdout.contains("72 rows"))
        let reader = try EmoSuperbCSVReader(path: csv)
        let sample = try DatasetReader(path: "\(CLI.repository.path)/fixtures/sample/sample.jsonl").readAll()
        var index = 0
        while let row = try reader.nextRow() {
            #expect(row.id == sample[index].id)
            for (a, b) in zip(row.values, sample[index].reference.values) { #expect(abs(a - b) < 1e-15) }
            index += 1
        }
        #expect(index == 72)
    }
}

@Suite struct ScoreCLITests {
    static let shared = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/data/emo-superb-gpt4")
    static let published = FileManager.default.fileExists(atPath: shared.appendingPathComponent("output_dev.csv").path)
    static let python: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy, scipy"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: published && python, "needs ../shared/data/emo-superb-gpt4 and python3 with numpy and scipy"))
    func gpt4RelabelsMatchAnIndependentNumpyScipyComputation() async throws {
        let dir = try ResumeCLITests.directory()
        let json = dir.appendingPathComponent("scores.json").path
        let input = Self.shared.appendingPathComponent("input_dev.csv").path, output = Self.shared.appendingPathComponent("output_dev.csv").path
        let prompt = Self.shared.appendingPathComponent("Prompt.txt").path
        let r = try await CLI.run(["score", "--dataset", input, "--relabeled", output, "--prompt", prompt, "--json", json])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try await CLI.offPool { () throws -> (Int32, String) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "scripts/check_scores.py", input, output, json, "--prompt", prompt]
            p.currentDirectoryURL = CLI.repository
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        #expect(check.0 == 0, "\(check.1)")
        #expect(check.1.contains("all metrics agree to 1e-9"))
        print(check.1)
    }

    @Test func bothBundledPromptVersionsSideBySideWithAReport() async throws {
        let dir = try ResumeCLITests.directory()
        let json = dir.appendingPathComponent("s.json").path, html = dir.appendingPathComponent("r.html").path
        let markdown = dir.appendingPathComponent("r.md").path, csv = dir.appendingPathComponent("r.csv").path
        let r = try await CLI.run(["score", "--dataset", "fixtures/sample/sample.jsonl", "--prompt", "paper-reason", "--prompt", "paper-no-reason",
                                   "--out-dir", dir.path, "--json", json, "--html", html, "--markdown", markdown, "--csv", csv, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("unchanged: tau 1e-06") && r.stdout.contains("paper-reason · fixture") && r.stdout.contains("paper-no-reason · fixture"))
        #expect(r.stdout.contains("paired differences"))
        let scores = try StrictJSON.parse(try String(contentsOfFile: json, encoding: .utf8))
        #expect(scores["format"] == "llmkit-score/2")
        let columns = try #require(scores["columns"]?.arrayValue)
        #expect(columns.count == 2)
        for column in columns {
            for key in ["items", "valid", "argmax_agreement", "mean_total_variation", "mean_js_divergence", "macro_f1", "echo_rate", "diversity", "cost"] {
                #expect(column[key] != nil && column[key] != .null, "\(key)")
            }
            for tau in ["1e-06", "0.01", "0.05"] { #expect(column["unchanged"]?[tau]?["low"] != nil) }
            #expect(column["items"] == 72)
            #expect(column["gold"]?["argmax_agreement"]?["n"] == 3, "three sample items carry gold")
        }
        // The 270M model copies the prompt's example into every item (REFERENCE.md section 5).
        #expect(columns[0]["echo_rate"]?["value"] == 1)
        #expect(scores["comparisons"]?.arrayValue?.first?["metrics"]?.arrayValue?.count == 10)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("Argmax class before and after") && !page.contains("<script") && !page.contains("http"))
        #expect(try String(contentsOfFile: markdown, encoding: .utf8).contains("| metric (95% interval) |"))
        #expect(try String(contentsOfFile: csv, encoding: .utf8).hasPrefix("column,metric,value,low,high,n\n"))
    }

    @Test func compareAndThresholds() async throws {
        let dir = try ResumeCLITests.directory()
        let a = dir.appendingPathComponent("a.jsonl").path, b = dir.appendingPathComponent("b.jsonl").path
        #expect(try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--out", a, "--quiet"]).status == 0)
        #expect(try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--prompt", "paper-no-reason", "--out", b, "--quiet"]).status == 0)
        let ok = try await CLI.run(["compare", a, b, "--dataset", "fixtures/sample/sample.jsonl", "--fail-under", "valid=0.5"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("b.jsonl − a.jsonl"))
        let failing = try await CLI.run(["compare", a, b, "--dataset", "fixtures/sample/sample.jsonl", "--fail-under", "macro_f1=0.99", "--fail-over", "echo_rate=0.5"])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("threshold failed") && failing.stderr.contains("macro_f1"))
        let bad = try await CLI.run(["compare", a, b, "--dataset", "fixtures/sample/sample.jsonl", "--fail-under", "speed=1"])
        #expect(bad.status != 0 && bad.stderr.contains("known metric"))
    }
}
