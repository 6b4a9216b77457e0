import Foundation
import LLMKit
import Testing
import TestSupport

/// A pool of fault servers on different ports behind one `relabel` (repeated `--base-url` or
/// `--endpoints`): throughput, an endpoint killed and restarted mid-run, the model check.
@Suite(.serialized) struct PoolCLITests {
    static func servers(_ n: Int, latency: Double, models: [[String]]? = nil) throws -> [FaultServer] {
        try (0..<n).map { i in
            var configuration = FaultServer.Configuration()
            configuration.latency = latency
            configuration.models = models?[i] ?? ["m"]
            return try FaultServer(configuration)
        }
    }

    static func arguments(_ servers: [FaultServer], dataset: String, out: String, extra: [String] = []) -> [String] {
        ["relabel", "--provider", "openai", "--model", "m", "--dataset", dataset, "--out", out, "--items-per-request", "10", "--quiet", "--no-cache", "--overwrite"]
            + servers.flatMap { ["--base-url", $0.baseURL] } + extra
    }

    static let environment = ["OPENAI_API_KEY": "sk-test"]

    static func summary(_ path: String) throws -> JSONValue { try StrictJSON.parse(String(contentsOfFile: path, encoding: .utf8)) }

    /// The speed-up itself is a benchmark figure (2.7-2.9x on a quiet machine); the test's bound
    /// only tells a pool that spreads its requests (about 3x) from one that does not (1x), with
    /// room for a machine busy with the other tests.
    @Test func threeEndpointsAtHalfASecondGoMoreThanTwiceAsFastAsOne() async throws {
        let servers = try Self.servers(3, latency: 0.5)
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(600, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        var seconds: [Double] = []
        for pool in [Array(servers.prefix(1)), servers] {
            let r = try await CLI.run(Self.arguments(pool, dataset: dataset, out: out, extra: ["--summary-json", json]), environment: Self.environment)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try ResumeCLITests.linesByID(out).ids == ids)
            seconds.append(try #require(try Self.summary(json)["wall_seconds"]?.doubleValue))
        }
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        #expect(endpoints.count == 3 && endpoints.allSatisfy { ($0["requests"]?.intValue ?? 0) >= 15 && $0["model"] == "m" && $0["capacity"] == 4 },
                "spread over all three by free capacity: \(endpoints)")
        #expect(seconds[0] / seconds[1] >= 2.2, "one endpoint \(seconds[0]) s, three \(seconds[1]) s: \(seconds[0] / seconds[1])x")
        print("pool: one endpoint \(seconds[0]) s, three \(seconds[1]) s, \(seconds[0] / seconds[1])x")
    }

    @Test func anEndpointKilledMidRunLosesNoItemAndIsTakenOutAndProbedBack() async throws {
        var servers = try Self.servers(3, latency: 0.3)
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(1800, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let arguments = Self.arguments(servers, dataset: dataset, out: out, extra: ["--summary-json", json, "--pool-cooldown", "0.3"])
        async let run = CLI.run(arguments, environment: Self.environment)
        try await Task.sleep(for: .seconds(1))
        let port = UInt16(servers[1].server.port)
        servers[1].stop()
        try await Task.sleep(for: .seconds(1.5))
        var configuration = FaultServer.Configuration()
        configuration.latency = 0.3
        configuration.models = ["m"]
        servers[1] = try FaultServer(configuration, port: port)
        let r = try await run
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try ResumeCLITests.linesByID(out)
        #expect(lines.ids == ids && lines.lines.values.allSatisfy { $0.contains("\"status\":\"relabeled\"") }, "no item lost or failed")
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        let killed = endpoints[1]
        #expect((killed["taken_out"]?.intValue ?? 0) >= 1 && (killed["probed_back"]?.intValue ?? 0) >= 1 && killed["out_at_end"] == false, "\(killed)")
        #expect((killed["errors"]?.intValue ?? 0) >= 1 && servers[1].counts.requests > 0, "it failed, then served again after the restart")
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("endpoint ") }
        #expect(rows.count == 3 && rows[1].contains(servers[1].baseURL) && !rows[1].contains("taken out 0x") && !rows[1].contains("probed back 0x"), "\(r.stdout)")
        print("pool with a killed endpoint:\n" + rows.joined(separator: "\n"))
    }

    @Test func aPoolOfDifferentModelsIsRefusedUnlessAllowed() async throws {
        let servers = try Self.servers(2, latency: 0, models: [["m"], ["other-model"]])
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(20, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        let refused = try await CLI.run(Self.arguments(servers, dataset: dataset, out: out), environment: Self.environment)
        #expect(refused.status == 1 && refused.stderr.contains("\(servers[1].baseURL) serves other-model") && refused.stderr.split(separator: "\n").count == 1,
                "\(refused.stderr)")
        #expect(servers.allSatisfy { $0.counts.requests == 0 }, "refused before any request")
        let allowed = try await CLI.run(Self.arguments(servers, dataset: dataset, out: out, extra: ["--allow-mixed-models"]), environment: Self.environment)
        #expect(allowed.status == 0, "\(allowed.stderr)")
    }

    @Test func anEndpointsFileGivesWeightsAndLimitsAndABadLineIsNamed() async throws {
        let servers = try Self.servers(2, latency: 0.05)
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(200, in: dir)
        let file = dir.appendingPathComponent("endpoints.txt").path
        try "# two fault servers\n\(servers[0].baseURL) 3 6\n\(servers[1].baseURL) 1 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let r = try await CLI.run(Self.arguments([], dataset: dataset, out: out, extra: ["--endpoints", file, "--summary-json", json]), environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        #expect(endpoints.map { $0["capacity"]?.intValue } == [6, 2])
        #expect((endpoints[0]["requests"]?.intValue ?? 0) > (endpoints[1]["requests"]?.intValue ?? 0), "the heavier endpoint took more: \(endpoints)")
        try "\(servers[0].baseURL) heavy\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try await CLI.run(Self.arguments([], dataset: dataset, out: out, extra: ["--endpoints", file]), environment: Self.environment)
        #expect(bad.status == 1 && bad.stderr.contains("endpoints.txt:1: field 'weight': 'heavy' is not a number above 0"), "\(bad.stderr)")
    }

    @Test func aPoolsCacheNamesItsEndpointsSoAnotherPoolAsksItsOwnServers() async throws {
        // Some latency, so requests overlap and both endpoints of a pool get some (with none, the
        // first endpoint can answer each request before the next one is sent, and take them all).
        let servers = try Self.servers(3, latency: 0.05)
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(100, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let cache = ["--cache", dir.appendingPathComponent("cache").path, "--summary-json", json]
        func run(_ pool: [FaultServer]) async throws -> JSONValue {
            let r = try await CLI.run(Self.arguments(pool, dataset: dataset, out: out, extra: cache).filter { $0 != "--no-cache" }, environment: Self.environment)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try ResumeCLITests.linesByID(out).ids == ids)
            return try Self.summary(json)
        }
        #expect(try await run([servers[0], servers[1]])["cache_hits"] == 0)
        let sent = servers.map { $0.counts.requests }
        let reordered = try await run([servers[1], servers[0]])
        #expect(reordered["cache_hits"] == reordered["requests"] && reordered["attempts"] == 0, "the same endpoints in another order: \(reordered)")
        #expect(servers.map { $0.counts.requests } == sent, "nothing sent")
        let other = try await run([servers[1], servers[2]])
        #expect(other["cache_hits"] == 0, "another pool answers from its own servers: \(other)")
        #expect(servers[2].counts.requests > 0)
    }

    @Test func aOneLineEndpointsFileIsThatEndpoint() async throws {
        let servers = try Self.servers(2, latency: 0)
        defer { servers.forEach { $0.stop() } }
        let (endpoint, decoy) = (servers[0], servers[1])
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(40, in: dir)
        let file = dir.appendingPathComponent("endpoints.txt").path
        try "\(endpoint.baseURL) 1 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path
        var environment = Self.environment
        environment["OPENAI_BASE_URL"] = decoy.baseURL
        let r = try await CLI.run(Self.arguments([], dataset: dataset, out: out, extra: ["--endpoints", file, "--max-attempts", "1"]), environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        #expect(endpoint.counts.requests == 4 && decoy.counts.requests == 0, "the file's endpoint got the corpus, not $OPENAI_BASE_URL")
        let header = try StrictJSON.parse(String(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")[0]))
        #expect("\(header)".contains(endpoint.baseURL) && !"\(header)".contains(decoy.baseURL), "the journal records the endpoint: \(header)")
    }

    @Test func aRepeatedBaseURLIsCheckedLikeTheEndpointsFile() async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, _) = try ResumeCLITests.corpus(10, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path
        for bad in ["notaurl", "ftp://x/v1"] {
            let arguments = Self.arguments([], dataset: dataset, out: out, extra: ["--base-url", "http://127.0.0.1:9/v1", "--base-url", bad, "--max-attempts", "1"])
            let r = try await CLI.run(arguments, environment: Self.environment)
            #expect(r.status != 0 && r.stderr.contains("'\(bad)' is not an http:// or https:// URL"), "\(bad): \(r.stderr)")
            let file = dir.appendingPathComponent("endpoints.txt").path
            try "http://127.0.0.1:9/v1\n\(bad)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let f = try await CLI.run(Self.arguments([], dataset: dataset, out: out, extra: ["--endpoints", file]), environment: Self.environment)
            #expect(f.status != 0 && f.stderr.contains("endpoints.txt:2: field 'url': '\(bad)' is not an http:// or https:// URL"), "\(bad): \(f.stderr)")
        }
    }

    @Test func anEndpointThatReportsNoModelIsRefusedAndOneAnsweringAnotherModelIsTakenOut() async throws {
        let servers = try Self.servers(2, latency: 0, models: [["m"], []])
        defer { servers.forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(100, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let refused = try await CLI.run(Self.arguments(servers, dataset: dataset, out: out), environment: Self.environment)
        #expect(refused.status == 1 && refused.stderr.contains("\(servers[1].baseURL) reports no model"), "\(refused.stderr)")
        #expect(servers.allSatisfy { $0.counts.requests == 0 })

        var configuration = FaultServer.Configuration()
        configuration.models = ["m"]
        configuration.answerModel = "evil-model"
        let evil = try FaultServer(configuration)
        defer { evil.stop() }
        let r = try await CLI.run(Self.arguments([servers[0], evil], dataset: dataset, out: out, extra: ["--summary-json", json]), environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try ResumeCLITests.linesByID(out)
        #expect(lines.ids == ids && lines.lines.values.allSatisfy { $0.contains("\"status\":\"relabeled\"") }, "every item answered by the honest endpoint")
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        // Taken out at its first wrong answer: what it got is at most what was in flight by then (its 4 slots).
        #expect((endpoints[1]["taken_out"]?.intValue ?? 0) >= 1 && evil.counts.requests <= 4, "\(endpoints[1]), \(evil.counts.requests) sent")

        // With --allow-mixed-models both answer, and each line names the model that answered it.
        let mixed = try await CLI.run(Self.arguments([servers[0], evil], dataset: dataset, out: out, extra: ["--allow-mixed-models", "--overwrite"]),
                                      environment: Self.environment)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        let answeredBy = try ResumeCLITests.linesByID(out).lines.values.map { try StrictJSON.parse($0)["answered_by"]?.stringValue }
        // A line answered by another model than the run's (m) names it; the run's own model is the line's `model`.
        #expect(answeredBy.count == ids.count && Set(answeredBy) == [nil, "evil-model"], "both endpoints answered, the other model named: \(Set(answeredBy))")
    }

    @Test func anEndpointDownAtTheStartIsNotRefusedForItsModelButTakenOut() async throws {
        let servers = try Self.servers(1, latency: 0)
        defer { servers.forEach { $0.stop() } }
        let dead = try FaultServer(FaultServer.Configuration())
        let deadURL = dead.baseURL
        dead.stop()
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(40, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let r = try await CLI.run(Self.arguments(servers, dataset: dataset, out: out, extra: ["--base-url", deadURL, "--summary-json", json]),
                                  environment: Self.environment)
        #expect(r.status == 0, "its /v1/models could not be asked: no answer, not 'no model': \(r.stderr)")
        #expect(try ResumeCLITests.linesByID(out).ids == ids)
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        #expect(endpoints[1]["requests"]?.intValue ?? 0 <= 3, "\(endpoints[1])")
    }

    @Test(arguments: [false, true])
    func anEndpointThatStreamsForeverIsTakenOutAndItsRequestsMove(streamed: Bool) async throws {
        var configuration = FaultServer.Configuration()
        configuration.models = ["m"]
        configuration.mix = [.endless: 1]
        let endless = try FaultServer(configuration)
        let servers = try Self.servers(1, latency: 0.05)
        defer { (servers + [endless]).forEach { $0.stop() } }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(200, in: dir)
        let out = dir.appendingPathComponent("out.jsonl").path, json = dir.appendingPathComponent("s.json").path
        let arguments = Self.arguments([endless, servers[0]], dataset: dataset, out: out, extra: ["--summary-json", json, "--max-response-mib", "0.25", "--pool-cooldown", "60"] + (streamed ? ["--stream"] : []))
        let r = try await CLI.run(arguments, environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try ResumeCLITests.linesByID(out)
        #expect(lines.ids == ids && lines.lines.values.allSatisfy { $0.contains("\"status\":\"relabeled\"") }, "no item failed response_too_large")
        let endpoints = try #require(try Self.summary(json)["endpoints"]?.arrayValue)
        #expect(endpoints[0]["taken_out"] == 1 && (3...6).contains(endless.counts.requests),
                "taken out after three broken answers (with up to its 4 slots in flight): \(endpoints[0]), \(endless.counts.requests) sent")
        let summary = try Self.summary(json)
        #expect(summary["attempts"]?.intValue == endless.counts.requests + servers[0].counts.requests,
                "every send to every endpoint is an attempt: \(summary["attempts"].map { "\($0)" } ?? "none")")
    }
}
