import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The "nothing lost, mixed or doubled" cases, each through the real binary.
@Suite struct ReliabilityCLITests {
    static func relabel(_ server: FaultServer, _ dataset: String, _ out: String, _ extra: [String] = []) -> [String] {
        ResumeCLITests.arguments(server, dataset: dataset, out: out, extra: extra)
    }

    @Test func aSecondRunOnTheSameOutputRefusesAtOnceAndTheFirstFinishesIntact() async throws {
        // 20 batches at 1 s each, 2 at a time: the first run takes ~10 s, so the second one
        // (a debug binary started on a machine busy with the whole suite) meets it running.
        var configuration = FaultServer.Configuration()
        configuration.latency = 1.0
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(600, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        async let first = CLI.run(Self.relabel(server, dataset, out, ["--concurrency", "2"]))
        // Start the second run once the first holds the lock and has written something.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, ((try? String(contentsOfFile: out, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 20 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = ContinuousClock.now
        let second = try await CLI.run(Self.relabel(server, dataset, out, ["--resume", "--seed", "9"]))
        // The lock is the run's first step (the in-process test shows it refuses before reading
        // the dataset); the bound covers starting a debug binary on a machine busy with other tests.
        #expect(ContinuousClock.now - started < .seconds(5), "refused at once")
        #expect(second.status == 1 && second.stderr.contains("is writing this output") && second.stderr.contains("process "), "\(second.status): \(second.stderr)")
        let one = try await first
        #expect(one.status == 0, "\(one.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids, "the first run finished intact")
    }

    @Test func badDatasetsAreRefusedWithOneLineBeforeAnyRequest() async throws {
        let dir = try ResumeCLITests.directory()
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let good = Array("{\"id\": \"a\", \"votes\": [\"N\"]}\n".utf8)
        let prefix = Array("{\"id\": \"b\", \"descriptions\": [\"caf".utf8)
        let fifo = dir.appendingPathComponent("fifo.jsonl").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let cases: [(String, String)] = [
            (try file("utf8.jsonl", good + prefix + [0xE9] + Array("\"], \"votes\": [\"N\"]}\n".utf8)),
             "utf8.jsonl:2: invalid UTF-8 at byte offset \(good.count + prefix.count) of the file (column \(prefix.count + 1))"),
            (try file("utf16.jsonl", [0xFF, 0xFE] + Array("{".utf8).flatMap { [$0, 0] }), "utf16.jsonl:1: the file is UTF-16"),
            (try file("nul.jsonl", good + [0x7B, 0x00, 0x7D, 0x0A]), "nul.jsonl:2: a NUL byte at byte offset \(good.count + 1)"),
            (try file("number.jsonl", Array("{\"id\": 1.5, \"votes\": [\"N\"]}\n".utf8)), "field 'id': must be a string, not the number 1.5"),
            (try file("twice.jsonl", good + good), "twice.jsonl:2: field 'id': id 'a' appears twice, on lines 1 and 2"),
            (fifo, "fifo.jsonl: the file is a FIFO (named pipe), not a regular file"),
            (dir.path, "the file is a directory"),
            (try file("empty.jsonl", []), "empty.jsonl: the dataset holds no items"),
            (try file("blank.jsonl", Array("\n\n".utf8)), "blank.jsonl: the dataset holds no items"),
            ("/dev/null", "the file is a device"),
        ]
        for (dataset, message) in cases {
            let out = dir.appendingPathComponent("out-\(UUID().uuidString).jsonl").path
            let r = try await CLI.run(["relabel", "--dataset", dataset, "--format", "jsonl", "--out", out, "--quiet"])
            #expect(r.status == 1 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(dataset): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test func noCommandWritesOverItsInput() async throws {
        let dir = try ResumeCLITests.directory()
        let dataset = dir.appendingPathComponent("sample.jsonl").path
        try FileManager.default.copyItem(atPath: CLI.repository.appendingPathComponent("fixtures/sample/sample.jsonl").path, toPath: dataset)
        let link = dir.appendingPathComponent("link.jsonl").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dataset)
        let before = try Data(contentsOf: URL(fileURLWithPath: dataset))
        let commands: [[String]] = [
            ["relabel", "--dataset", dataset, "--out", link, "--overwrite", "--quiet"],
            ["relabel", "--dataset", dataset, "--out", dataset, "--overwrite", "--quiet"],
            ["import", "fixtures/sample/annotations.csv", "--out", CLI.repository.appendingPathComponent("fixtures/sample/annotations.csv").path, "--overwrite"],
            ["export", dataset, "--out", link, "--overwrite"],
        ]
        for command in commands {
            let r = try await CLI.run(command)
            #expect(r.status == 1 && r.stderr.contains("the same file as the input"), "\(command): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dataset)) == before)

        // The reports of score and compare, and the run summary, are outputs too.
        let relabeled = dir.appendingPathComponent("relabeled.jsonl").path
        #expect(try await CLI.run(["relabel", "--dataset", dataset, "--out", relabeled, "--quiet"]).status == 0)
        let relabeledBefore = try Data(contentsOf: URL(fileURLWithPath: relabeled))
        let score = ["score", "--dataset", dataset, "--relabeled", relabeled]
        let refused: [([String], String)] = [
            (score + ["--json", relabeled], "the same file as the input"),
            (score + ["--html", link], "the same file as the input"),
            (["compare", relabeled, relabeled, "--dataset", dataset, "--csv", relabeled], "the same file as the input"),
            (score + ["--json", dir.appendingPathComponent("s.out").path, "--csv", dir.appendingPathComponent("./s.out").path], "asked for as two outputs"),
            (score + ["--markdown", dir.path], "the output is a directory"),
            (["relabel", "--dataset", dataset, "--out", dir.appendingPathComponent("q.jsonl").path, "--quiet",
              "--summary-json", dir.appendingPathComponent("q.jsonl").path], "asked for as two outputs"),
        ]
        for (command, message) in refused {
            let r = try await CLI.run(command)
            #expect(r.status == 1 && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(command): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dataset)) == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: relabeled)) == relabeledBefore)
        for name in ["s.out", "q.jsonl"] { #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name)") }
    }

    @Test func anOutputFolderThatCannotBeWrittenGivesOneLine() async throws {
        let r = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--out", "/dev/null/x/out.jsonl", "--quiet"])
        #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("/dev/null/x") && !r.stderr.contains("NSCocoaErrorDomain"), "\(r.stderr)")
        // A folder given as the output is named as one, with or without --overwrite.
        let dir = try ResumeCLITests.directory()
        for extra in [[], ["--overwrite"]] {
            let r = try await CLI.run(["relabel", "--dataset", "fixtures/sample/sample.jsonl", "--out", dir.path, "--quiet"] + extra)
            #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("the output is a directory"), "\(r.stderr)")
        }
    }

    @Test func resumingAFinishedOutputIsNothingToDo() async throws {
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(20, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        #expect(try await CLI.run(Self.relabel(server, dataset, out)).status == 0)
        let again = try await CLI.run(Self.relabel(server, dataset, out, ["--resume"]))
        #expect(again.status == 0 && again.stdout.contains("nothing to do") && again.stdout.contains("20 relabeled"), "\(again.stdout) \(again.stderr)")
    }

    @Test func anExportedLabelFileCanBeInspected() async throws {
        let dir = try ResumeCLITests.directory()
        let csv = dir.appendingPathComponent("labels.csv").path
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let (dataset, _) = try ResumeCLITests.corpus(12, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        #expect(try await CLI.run(Self.relabel(server, dataset, out)).status == 0)
        #expect(try await CLI.run(["export", out, "--out", csv]).status == 0)
        let r = try await CLI.run(["inspect", csv])
        #expect(r.status == 0 && r.stdout.contains("labels (csv)") && r.stdout.range(of: #"rows\s+12"#, options: .regularExpression) != nil, "\(r.stdout) \(r.stderr)")
    }

    /// Answers from the cache are no attempts, and no retries either: `score` printed
    /// `cost: retries -2` (attempts minus requests, cache hits counted as requests).
    @Test func scoreCountsNoRetriesForAnswersFromTheCache() async throws {
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(40, in: dir)
        let cache = dir.appendingPathComponent("cache").path
        func score(_ name: String) async throws -> JSONValue? {
            let json = dir.appendingPathComponent(name).path
            let r = try await CLI.run(["score", "--dataset", dataset, "--prompt", "paper-reason", "--provider", "openai:m", "--base-url", server.baseURL,
                                       "--cache", cache, "--out-dir", dir.appendingPathComponent("runs").path, "--json", json, "--quiet"],
                                      environment: ["OPENAI_API_KEY": "sk-test"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.range(of: #"cost: retries\s+0\b"#, options: .regularExpression) != nil, "\(r.stdout)")
            #expect(!r.stdout.contains("retries -"), "\(r.stdout)")
            let scores = try StrictJSON.parse(String(contentsOfFile: json, encoding: .utf8))
            return scores["columns"]?.arrayValue?.first?["cost"]
        }
        let first = try await score("first.json")
        let sent = server.counts.requests
        #expect(sent == 2, "40 items in requests of 30: \(sent)")
        let second = try await score("second.json")
        #expect(server.counts.requests == sent, "every answer from the cache")
        #expect(first?["requests"] == second?["requests"])
        #expect(first?["retries"] == 0 && second?["retries"] == 0, "\(String(describing: first)) \(String(describing: second))")
    }
}

/// A server that echoes the request's credentials back: in the message of a 500 for the first
/// batch, in every reason of the answers to the others.
@Suite struct SecretsCLITests {
    static let canary = "sk-canary-0123456789abcdefCANARY"

    static func echoingServer() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            let auth = request.headers["authorization"] ?? "none"
            guard let body = try? StrictJSON.parse(request.bodyText),
                  let count = body["response_format"]?["json_schema"]?["schema"]?["properties"]?["items"]?["maxItems"]?.intValue,
                  let user = body["messages"]?.arrayValue?.last?["content"]?.stringValue else { return .json(400, "{}") }
            if user.contains("1. typed 0#") {
                return .json(500, #"{"error":{"message":"internal error for Authorization: \#(auth)","type":"server_error"}}"#)
            }
            let content = ChunkAnswerSchema.answer((0..<count).map { _ in ([0, 0, 0, 0, 0, 1, 0, 0], "seen with \(auth)") })
            let completion: JSONValue = ["id": "c", "object": "chat.completion", "model": "m",
                                         "choices": [["index": 0, "finish_reason": "stop", "message": ["role": "assistant", "content": .string(content)]]],
                                         "usage": ["prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20]]
            return .json(200, completion.description)
        }
    }

    @Test func noFileOrOutputOfARunHoldsTheKey() async throws {
        let server = try Self.echoingServer()
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(30, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let environment = ["OPENAI_API_KEY": Self.canary]
        let relabel = try await CLI.run(["relabel", "--provider", "openai", "--base-url", server.baseURL + "/v1", "--model", "m", "--dataset", dataset,
                                         "--out", out, "--items-per-request", "10", "--retry-for", "2", "--verbose",
                                         "--record", dir.appendingPathComponent("recorded").path, "--cache", dir.appendingPathComponent("cache").path,
                                         "--summary-json", dir.appendingPathComponent("summary.json").path], environment: environment)
        #expect(relabel.status == 0, "\(relabel.stderr)")
        let score = try await CLI.run(["score", "--dataset", dataset, "--relabeled", out, "--json", dir.appendingPathComponent("s.json").path,
                                       "--html", dir.appendingPathComponent("r.html").path, "--markdown", dir.appendingPathComponent("r.md").path,
                                       "--csv", dir.appendingPathComponent("r.csv").path], environment: environment)
        #expect(score.status == 0, "\(score.stderr)")
        // The echo really happened, and was scrubbed.
        let lines = try CLI.recordLines(out)
        #expect(lines.contains { $0.contains("\"status\":\"failed\"") && $0.contains("Authorization: Bearer [REDACTED]") })
        #expect(lines.contains { $0.contains("seen with Bearer [REDACTED]") })
        #expect(relabel.stderr.contains("[REDACTED]"), "the verbose log shows the scrubbed retries")
        var files = 0
        for case let path as String in FileManager.default.enumerator(atPath: dir.path)! {
            let url = dir.appendingPathComponent(path)
            guard let data = try? Data(contentsOf: url) else { continue }
            files += 1
            #expect(!String(decoding: data, as: UTF8.self).contains(Self.canary), "\(path) holds the key")
        }
        #expect(files >= 9, "out, recordings, cache, summary, score outputs")
        for text in [relabel.stdout, relabel.stderr, score.stdout, score.stderr] { #expect(!text.contains(Self.canary)) }
    }
}

/// Rate limits used fully without 429 storms (issue 12), against the fault server's
/// OpenAI-style limits enforced per second; `bench/ratelimit.sh` runs the same for 5 minutes.
@Suite struct RateLimitCLITests {
    @Test func requestsPerMinuteAreUsedFullyWithoutBurstsOrRefusals() async throws {
        var configuration = FaultServer.Configuration()
        configuration.rateLimits = FaultServer.RateLimits(requestsPerMinute: 600, window: .second)
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(1200, in: dir)   // 120 requests of 10: 12 s at 10 a second
        let out = dir.appendingPathComponent("out.jsonl").path
        let r = try await CLI.run(ResumeCLITests.arguments(server, dataset: dataset, out: out, extra: ["--rpm", "600", "--concurrency", "16"]))
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(server.counts.limitSummary())
        #expect((summary.requestShare ?? 0) >= 0.95, "steady state uses the limit: \(summary)")
        #expect(summary.rejectionRate <= 0.01, "no 429 storm: \(summary)")
        #expect((summary.maxExcessRequests ?? 99) <= 1, "no second above the share by more than one request: \(summary)")
    }
}
