import Foundation
import LLMKit
import Testing
import TestSupport

/// `promptlab experiment` through the real binary: the example, kills at a cell boundary and
/// inside a cell, an edited prompt version, the plan against `relabel --dry-run`.
@Suite struct ExperimentCLITests {
    static let sample = CLI.repository.appendingPathComponent("fixtures/sample/sample.jsonl").path

    /// Every cell's record lines (headers left out), by cell file name.
    static func results(_ folder: String) throws -> [String: [String]] {
        let cells = "\(folder)/cells"
        var out: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: cells) where name.hasSuffix(".jsonl") {
            out[name] = try CLI.recordLines("\(cells)/\(name)")
        }
        return out
    }

    static func manifest(_ folder: String) throws -> JSONValue {
        try StrictJSON.parse(String(contentsOfFile: "\(folder)/manifest.json", encoding: .utf8))
    }

    /// cell id -> last_run.
    static func lastRuns(_ folder: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for cell in try manifest(folder)["cells"]?.arrayValue ?? [] {
            out[cell["id"]!.stringValue!] = cell["last_run"]?.stringValue ?? ""
        }
        return out
    }

    static func write(_ yaml: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("experiment.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theExampleRunsAndItsReportHasEveryCellAndTheEnsemble() async throws {
        let dir = try ResumeCLITests.directory()
        let out = dir.appendingPathComponent("exp").path
        let run = try await CLI.run(["experiment", "run", "Examples/experiment.yaml", "--out", out, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("6 cells: 0 reused, 0 resumed, 6 new"), "\(run.stdout)")
        #expect(try Self.results(out).count == 6)
        let ensemble = try String(contentsOfFile: "\(out)/ensembles/adjust-and-logprob.jsonl", encoding: .utf8).split(separator: "\n")
        let header = try StrictJSON.parse(String(ensemble[0]))
        #expect(header["ensemble"]?["members"]?.arrayValue?.count == 3)
        #expect(header["ensemble"]?["combined_from_fewer_members"]?.intValue == 5, "small-model failed 5 items; the others answered them")
        #expect(ensemble.count == 73)

        let again = try await CLI.run(["experiment", "run", "Examples/experiment.yaml", "--out", out, "--quiet"])
        #expect(again.stdout.contains("6 cells: 6 reused"), "\(again.stdout)")

        let json = dir.appendingPathComponent("scores.json").path
        let report = try await CLI.run(["experiment", "report", "Examples/experiment.yaml", "--out", out, "--json", json,
                                        "--markdown", dir.appendingPathComponent("r.md").path])
        #expect(report.status == 0, "\(report.stderr)")
        let scores = try StrictJSON.parse(String(contentsOfFile: json, encoding: .utf8))
        let labels = scores["columns"]?.arrayValue?.compactMap { $0["label"]?.stringValue } ?? []
        #expect(Set(labels) == ["adjust.paper-reason.gemma", "adjust.small-model.gemma", "logprob.logprob-fewshot.gemma", "ensemble:adjust-and-logprob"])
        #expect(scores["ranking"]?["columns"]?.arrayValue?.count == 4)
        #expect(scores["spread"]?.arrayValue?.count == 3, "three cells with two runs each")
        #expect(scores["comparisons"]?.arrayValue?.count == 3, "each column against the best")
        let status = try await CLI.run(["experiment", "status", "Examples/experiment.yaml", "--out", out])
        #expect(status.stdout.components(separatedBy: "done: ").count - 1 == 6 && status.stdout.contains("written"), "\(status.stdout)")
    }

    @Test func aKillAtACellBoundaryThenRunAgainEqualsAnUninterruptedRun() async throws {
        let dir = try ResumeCLITests.directory()
        let file = try Self.write("""
            datasets: [{name: s, path: \(Self.sample)}]
            methods: [adjust]
            prompts: [paper-reason, small-model]
            models: [{name: g, provider: fixture}]
            repeats: 2
            """, in: dir)
        let killed = dir.appendingPathComponent("killed").path, whole = dir.appendingPathComponent("whole").path
        let first = try await CLI.run(["experiment", "run", file, "--out", killed, "--quiet"], environment: ["LLMKIT_TEST_KILL_AT": "experiment-after-cell:2"])
        #expect(first.status == 9 || first.status == 137, "killed (\(first.status)): \(first.stderr)")
        let status = try await CLI.run(["experiment", "status", file, "--out", killed])
        #expect(status.stdout.split(separator: "\n").filter { $0.contains("not started") }.count == 2, "\(status.stdout)")
        let second = try await CLI.run(["experiment", "run", file, "--out", killed, "--quiet"])
        #expect(second.status == 0 && second.stdout.contains("4 cells: 2 reused, 0 resumed, 2 new"), "\(second.stdout) \(second.stderr)")
        let uninterrupted = try await CLI.run(["experiment", "run", file, "--out", whole, "--quiet"])
        #expect(uninterrupted.status == 0)
        #expect(try Self.results(killed) == Self.results(whole))
    }

    @Test func aKillInsideACellThenRunAgainSendsNoAnsweredRequestAgain() async throws {
        let dir = try ResumeCLITests.directory()
        let bodies = dir.appendingPathComponent("bodies.jsonl").path
        var configuration = FaultServer.Configuration()
        configuration.latency = 0.05
        configuration.bodyLog = bodies
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let (dataset, _) = try ResumeCLITests.corpus(60, in: dir)
        let file = try Self.write("""
            datasets: [{name: c, path: \(dataset)}]
            prompts: [paper-reason, paper-no-reason]
            models: [{name: m, provider: openai, model: m, base_url: "\(server.baseURL)", concurrency: 1}]
            sampling: {items_per_request: 10}
            """, in: dir)
        let killed = dir.appendingPathComponent("killed").path
        let arguments = [CLI.executable.path, "experiment", "run", file, "--out", killed, "--quiet", "--no-cache"]
        // One request at a time, 6 per cell: the 9th is inside the second cell, and the 8 before it were answered.
        let (received, before) = try await killedRun(Array(arguments.dropFirst()), bodies: bodies, answers: "\(killed)/cells/c.adjust.paper-no-reason.m.r1.jsonl.answers") {
            $0.count >= 9
        }
        #expect(before.count >= 9 && received >= 2, "killed inside the second cell (\(before.count) sent, \(received) logged)")
        let again = try await CLI.run(["experiment", "run", file, "--out", killed, "--quiet", "--no-cache"])
        #expect(again.status == 0 && again.stdout.contains("1 reused, 1 resumed"), "\(again.stdout) \(again.stderr)")
        let after = Array(lines(bodies).dropFirst(before.count))
        #expect(Set(after).intersection(before).count <= 1, "only the request in flight at the kill is sent again")
        let whole = dir.appendingPathComponent("whole").path
        let uninterrupted = try await CLI.run(["experiment", "run", file, "--out", whole, "--quiet", "--no-cache"])
        #expect(uninterrupted.status == 0)
        #expect(try Self.results(killed) == Self.results(whole))
    }

    @Test func editingOnePromptVersionRerunsOnlyItsCells() async throws {
        let dir = try ResumeCLITests.directory()
        var configuration = FaultServer.Configuration()
        configuration.bodyLog = dir.appendingPathComponent("bodies.jsonl").path
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let (dataset, _) = try ResumeCLITests.corpus(40, in: dir)
        for (name, source) in [("va", "paper-reason"), ("vb", "paper-no-reason")] {
            try FileManager.default.copyItem(atPath: CLI.repository.appendingPathComponent("prompts/\(source).prompt").path,
                                             toPath: dir.appendingPathComponent("\(name).prompt").path)
        }
        let file = try Self.write("""
            datasets: [{name: c, path: \(dataset)}]
            prompts: [va.prompt, vb.prompt]
            models:
              - {name: m1, provider: openai, model: m, base_url: "\(server.baseURL)"}
              - {name: m2, provider: openai, model: n, base_url: "\(server.baseURL)"}
            repeats: 2
            sampling: {items_per_request: 10, temperature: 0.5}
            """, in: dir)
        let out = dir.appendingPathComponent("exp").path
        let first = try await CLI.run(["experiment", "run", file, "--out", out, "--quiet", "--no-cache"])
        #expect(first.status == 0 && first.stdout.contains("8 cells: 0 reused, 0 resumed, 8 new"), "\(first.stdout) \(first.stderr)")
        let requestsBefore = server.counts.requests
        let vb = dir.appendingPathComponent("vb.prompt").path
        try (String(contentsOfFile: vb, encoding: .utf8) + "Be brief.\n").write(toFile: vb, atomically: true, encoding: .utf8)
        let second = try await CLI.run(["experiment", "run", file, "--out", out, "--quiet", "--no-cache"])
        #expect(second.status == 0 && second.stdout.contains("8 cells: 4 reused, 0 resumed, 0 new, 4 run again"), "\(second.stdout) \(second.stderr)")
        let last = try Self.lastRuns(out)
        #expect(last.filter { $0.key.contains(".vb.") }.values.allSatisfy { $0 == "changed" } && last.filter { $0.key.contains(".vb.") }.count == 4)
        #expect(last.filter { $0.key.contains(".va.") }.values.allSatisfy { $0 == "reused" } && last.filter { $0.key.contains(".va.") }.count == 4)
        #expect(server.counts.requests - requestsBefore == 4 * 4, "only vb's 4 cells (4 requests of 10 items each) were sent")
    }

    /// Figures from `relabel --dry-run`'s table: requests, prompt tokens, expected and most completion tokens.
    static func dryRunFigures(_ text: String) -> [Int] {
        func number(after label: String, _ index: Int = 0) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return -1 }
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return numbers.count > index ? numbers[index] : -1
        }
        return [number(after: "requests"), number(after: "prompt tokens"), number(after: "completion tokens"),
                number(after: "completion tokens", 2)]
    }

    @Test func thePlanTotalsEqualTheSumOfEachCellsRelabelDryRun() async throws {
        let dir = try ResumeCLITests.directory()
        let file = try Self.write("""
            datasets: [{name: s, path: \(Self.sample), limit: 50}]
            prompts: [paper-reason, paper-no-reason]
            models:
              - {name: mini, provider: openai, model: gpt-4o-mini, base_url: "http://127.0.0.1:9"}
              - {name: big, provider: openai, model: gpt-4o, base_url: "http://127.0.0.1:9"}
            repeats: 2
            sampling: {items_per_request: 12, temperature: 0.7}
            """, in: dir)
        let json = dir.appendingPathComponent("plan.json").path
        let plan = try await CLI.run(["experiment", "plan", file, "--out", dir.appendingPathComponent("exp").path, "--json", json])
        #expect(plan.status == 0, "\(plan.stderr)")
        let total = try StrictJSON.parse(String(contentsOfFile: json, encoding: .utf8))["total"]!
        var sum = [0, 0, 0, 0]
        var dollars = 0.0
        for prompt in ["paper-reason", "paper-no-reason"] {
            for model in ["gpt-4o-mini", "gpt-4o"] {
                let dry = try await CLI.run(["relabel", "--dataset", Self.sample, "--limit", "50", "--prompt", prompt, "--provider", "openai",
                                             "--model", model, "--items-per-request", "12", "--temperature", "0.7", "--dry-run"])
                #expect(dry.status == 0, "\(dry.stderr)")
                let figures = Self.dryRunFigures(dry.stdout)
                // Two repeats of each.
                sum = zip(sum, figures).map { $0 + 2 * $1 }
                let line = dry.stdout.split(separator: "\n").first { $0.hasPrefix("cost, synchronous") }.map(String.init) ?? ""
                dollars += 2 * (Double(line.split(separator: "$")[1].prefix { $0.isNumber || $0 == "." }) ?? -1)
            }
        }
        let estimate = total["estimate"]!
        #expect([estimate["requests"]?.intValue, estimate["prompt_tokens"]?.intValue, estimate["completion_tokens_expected"]?.intValue,
                 estimate["completion_tokens_at_most"]?.intValue] == sum.map { Optional($0) })
        #expect(abs((total["synchronous"]?["expected"]?.doubleValue ?? 0) - dollars) < 0.0005, "within the dry run's printed rounding")
    }

    @Test func thePlanCountsTheLogprobCalibrationAsTheRunSendsIt() async throws {
        let dir = try ResumeCLITests.directory()
        var requests: [Bool: Int] = [:]
        for calibrate in [true, false] {
            let grid = """
                datasets: [{name: s, path: \(Self.sample), limit: 20}]
                methods: [{name: logprob, prompts: [logprob-fewshot], calibrate: \(calibrate)}]
                prompts: [logprob-fewshot]
                models:
                  - {name: g, provider: fixture}

                """
            let priced = "  - {name: mini, provider: openai, model: gpt-4o-mini, base_url: \"http://127.0.0.1:9\"}\n"
            let file = try Self.write(grid + priced, in: dir)
            let json = dir.appendingPathComponent("plan-\(calibrate).json").path
            let plan = try await CLI.run(["experiment", "plan", file, "--out", dir.appendingPathComponent("exp-\(calibrate)").path, "--json", json])
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(plan.stdout.contains("included: 6 calibration requests") == calibrate, "\(plan.stdout)")
            let parsed = try StrictJSON.parse(String(contentsOfFile: json, encoding: .utf8))
            let cells = parsed["cells"]?.arrayValue ?? []
            #expect(cells.count == 2 && cells.allSatisfy { $0["calibration_requests"]?.intValue == (calibrate ? 3 : 0) }, "\(cells)")
            for key in ["requests", "prompt_tokens", "completion_tokens_expected", "completion_tokens_at_most"] {
                #expect(parsed["total"]?["estimate"]?[key]?.intValue == cells.reduce(0) { $0 + ($1["estimate"]?[key]?.intValue ?? -1_000_000) },
                        "the total of \(key) is the sum of the cells")
            }
            let mini = cells.first { $0["model"]?.stringValue == "gpt-4o-mini" }
            #expect(mini?["synchronous"]?["expected"]?.doubleValue ?? 0 > 0 && mini?["batch_api"] == .null, "priced, and synchronous only: \(String(describing: mini))")
            // The Batch API total covers the same cells: one it cannot run at its synchronous price.
            #expect(parsed["total"]?["batch_api"] == parsed["total"]?["synchronous"] && parsed["total"]?["batch_api"] != .null, "\(String(describing: parsed["total"]))")
            let g = cells.first { $0["model"]?.stringValue == "fixture" }
            #expect(g?["synchronous"] == .null, "no price for the fixture")
            requests[calibrate] = g?["estimate"]?["requests"]?.intValue

            // What the run sends for the fixture's cell is what the plan counted.
            let run = try await CLI.run(["experiment", "run", try Self.write(grid, in: dir), "--out", dir.appendingPathComponent("run-\(calibrate)").path, "--no-cache"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("s.logprob.logprob-fewshot.g.r1: done (20 of 20 relabeled, \(requests[calibrate] ?? -1) requests)"), "\(run.stderr)")
        }
        #expect(requests[true].map { $0 - 3 } == requests[false], "three content-free inputs: \(requests)")
    }
}
