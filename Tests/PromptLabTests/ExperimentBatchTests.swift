import Experiments
import Foundation
import LLMKit
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `batch_api` in an experiment file: what the file accepts and refuses, and what it changes
/// in the cells' settings.
@Suite struct ExperimentBatchFileTests {
    static func model(_ provider: String, _ extra: String = "    batch_api: true") -> String {
        "  - name: m\n    provider: \(provider)\n    model: x\n\(extra)"
    }

    @Test func aProviderWithoutABatchAPIOrAPoolIsRefusedWithFileLineAndKey() {
        let fixture = ExperimentFileTests.failure(ExperimentFileTests.minimal(model: "  - name: f\n    provider: fixture\n    batch_api: true"))
        #expect(fixture.contains("experiment.yaml:6: models[0].batch_api: the fixture provider has no batch API"), "\(fixture)")
        #expect(!fixture.contains("\n"))
        let pool = ExperimentFileTests.failure(ExperimentFileTests.minimal(
            model: Self.model("openai", "    base_urls: [\"http://127.0.0.1:1\", \"http://127.0.0.1:2\"]\n    batch_api: true")))
        #expect(pool.contains("experiment.yaml:8: models[0].batch_api: a batch goes to one server"), "\(pool)")
        let badWait = ExperimentFileTests.failure(ExperimentFileTests.minimal(model: Self.model("openai", "    batch_api: {poll_interval: 0}")))
        #expect(badWait.contains("experiment.yaml:7: models[0].batch_api.poll_interval: must be from"), "\(badWait)")
        for provider in ["openai", "anthropic", "gemini"] {
            #expect(ExperimentFileTests.failure(ExperimentFileTests.minimal(model: Self.model(provider))) == "loaded", "\(provider)")
        }
    }

    @Test func onlyAdjustCellsUseTheBatchAPIAndTheExecutorIsInTheirSettings() throws {
        let methods = "methods: [adjust, logprob]\n"
        let batch = try ExperimentFileTests.load(ExperimentFileTests.minimal(methods, model: Self.model("openai")))
        let sync = try ExperimentFileTests.load(ExperimentFileTests.minimal(methods, model: Self.model("openai", "    batch_api: false")))
        #expect(batch.cells.map(\.usesBatchAPI) == [true, false], "the logprob cell stays synchronous")
        #expect(sync.cells.allSatisfy { !$0.usesBatchAPI })
        let hash = String(repeating: "0", count: 64)
        #expect(batch.cells[0].settings(batch, datasetSHA256: hash)["executor"] == "batch-api")
        #expect(sync.cells[0].settings(sync, datasetSHA256: hash)["executor"] == nil, "a synchronous cell keeps the settings it had before batch_api")
        #expect(batch.cells[0].fingerprint(batch, datasetSHA256: hash) != sync.cells[0].fingerprint(sync, datasetSHA256: hash),
                "switching a model to the batch API re-runs its adjust cells")
        #expect(batch.cells[1].fingerprint(batch, datasetSHA256: hash) == sync.cells[1].fingerprint(sync, datasetSHA256: hash),
                "and not its logprob cells")
    }
}

/// `experiment run` with a `batch_api: true` model, through the real binary against the fault
/// server's Files and Batch APIs: batches instead of chat calls, reuse, a kill -9 after a batch
/// was created, the file's `api_key_env` as the batch service's key.
@Suite(.serialized) struct ExperimentBatchCLITests {
    /// A fault server whose batches validate, run and finalize in 0.05-0.2 s, no faults.
    static func server(requiredKey: String? = nil) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.seed = 7
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.2
        configuration.batches.finalizingDelay = 0.05
        configuration.requiredKey = requiredKey
        return try FaultServer(configuration)
    }

    /// An experiment of 2 prompt versions on one batch model at `server`: 2 adjust cells.
    static func file(_ server: FaultServer, dataset: String, provider: String = "openai", in dir: URL) throws -> String {
        try ExperimentCLITests.write("""
            datasets: [{name: c, path: \(dataset)}]
            prompts: [paper-reason, paper-no-reason]
            models:
              - name: m
                provider: \(provider)
                model: m
                base_url: "\(provider == "openai" ? server.baseURL : server.server.baseURL)"
                api_key_env: LAB_BATCH_KEY
                batch_api: {poll_interval: 0.05, poll_max: 0.2}
            sampling: {items_per_request: 10}
            """, in: dir)
    }

    static let environment = ["LAB_BATCH_KEY": "lab-key-for-tests", "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "not-this-one"]

    static func run(_ file: String, out: String, environment: [String: String] = Self.environment) async throws -> CLI.Result {
        try await CLI.run(["experiment", "run", file, "--out", out, "--quiet", "--no-cache"], environment: environment)
    }

    static let cells = ["c.adjust.paper-reason.m.r1.jsonl", "c.adjust.paper-no-reason.m.r1.jsonl"]

    @Test func batchCellsRunToTheEndThroughBatchesAndARunAgainReusesThem() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(50, in: dir)
        let file = try Self.file(server, dataset: dataset, in: dir)
        let out = dir.appendingPathComponent("exp").path
        let plan = try await CLI.run(["experiment", "plan", file, "--out", out])
        #expect(plan.stdout.components(separatedBy: "runs through the Batch API").count == 3, "the plan says which cells: \(plan.stdout)")
        let first = try await Self.run(file, out: out)
        #expect(first.status == 0 && first.stdout.contains("2 cells: 0 reused, 0 resumed, 2 new"), "\(first.stdout) \(first.stderr)")
        for cell in Self.cells {
            let journal = "\(out)/cells/\(cell)"
            #expect(try ResumeCLITests.linesByID(journal).ids == ids, "every id once in \(cell)")
            let header = try #require(JournalHeader(line: String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")[0].description))
            #expect(header.fingerprint.executor == "batch-api")
            #expect(FileManager.default.fileExists(atPath: journal + ".batches.json"), "the batch state lives beside the cell's journal")
        }
        let counts = server.counts
        #expect(counts.requests == 0, "no chat completion: every request went in a batch")
        // custom_ids are per cell (r0000001...): each of the 5 is in one batch of each cell.
        #expect(counts.batch.batchesCreated == 2 && counts.batch.submitted.count == 5 && counts.batch.submitted.values.allSatisfy { $0 == 2 },
                "one batch per cell, 5 requests each, each submitted once: \(counts.batch)")
        let settings = try ExperimentCLITests.manifest(out)["cells"]?.arrayValue?.map { $0["settings"]?["executor"]?.stringValue }
        #expect(settings == ["batch-api", "batch-api"], "the manifest's settings record the executor")
        let status = try await CLI.run(["experiment", "status", file, "--out", out])
        #expect(status.stdout.components(separatedBy: "done: 50 relabeled").count == 3, "\(status.stdout)")

        let again = try await Self.run(file, out: out)
        #expect(again.status == 0 && again.stdout.contains("2 cells: 2 reused"), "\(again.stdout) \(again.stderr)")
        #expect(server.counts.batch.batchesCreated == 2 && server.counts.requests == 0, "nothing submitted again")
    }

    @Test func aKillAfterABatchWasCreatedThenRunAgainSubmitsNothingTwice() async throws {
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(50, in: dir)
        let reference = try Self.server()
        defer { reference.stop() }
        let whole = dir.appendingPathComponent("whole").path
        #expect(try await Self.run(try Self.file(reference, dataset: dataset, in: dir), out: whole).status == 0)

        let server = try Self.server()
        defer { server.stop() }
        let file = try Self.file(server, dataset: dataset, in: dir)
        let out = dir.appendingPathComponent("killed").path
        // The second batch created is the second cell's: the first cell is done, the second's batch runs on.
        var environment = Self.environment
        environment["LLMKIT_TEST_KILL_AT"] = "after-create:2"
        let killed = try await Self.run(file, out: out, environment: environment)
        #expect(killed.status == SIGKILL, "\(killed.status) \(killed.stderr)")
        #expect(server.counts.batch.batchesCreated == 2)
        let status = try await CLI.run(["experiment", "status", file, "--out", out])
        #expect(status.stdout.contains("partial: 0 of 50"), "the killed batch cell is partial: \(status.stdout)")

        let again = try await Self.run(file, out: out)
        #expect(again.status == 0 && again.stdout.contains("2 cells: 1 reused, 1 resumed"), "\(again.stdout) \(again.stderr)")
        let counts = server.counts
        #expect(counts.batch.batchesCreated == 2 && counts.requests == 0, "the second cell reattached to its batch: \(counts.batch)")
        #expect(counts.batch.submitted.values.reduce(0, +) == 10 && counts.batch.submitted.values.allSatisfy { $0 == 2 },
                "no request submitted twice (each custom_id once per cell): \(counts.batch.submitted)")
        for cell in Self.cells {
            #expect(try ResumeCLITests.linesByID("\(out)/cells/\(cell)").ids == ids)
        }
        #expect(try ExperimentCLITests.results(out) == ExperimentCLITests.results(whole), "the same lines as the run never killed")
    }

    @Test func theBatchServiceUsesTheKeyOfTheVariableTheFileNames() async throws {
        // Anthropic's Message Batches at the fault server, which answers 401 without this key.
        let server = try Self.server(requiredKey: "lab-key-for-tests")
        defer { server.stop() }
        let dir = try ResumeCLITests.directory()
        let (dataset, ids) = try ResumeCLITests.corpus(20, in: dir)
        let file = try Self.file(server, dataset: dataset, provider: "anthropic", in: dir)
        let out = dir.appendingPathComponent("exp").path
        let r = try await Self.run(file, out: out)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(server.counts.unauthenticated == 0 && server.counts.batch.batchesCreated == 2 && server.counts.requests == 0, "\(server.counts.batch)")
        #expect(try ResumeCLITests.linesByID("\(out)/cells/\(Self.cells[0])").ids == ids)
    }
}
