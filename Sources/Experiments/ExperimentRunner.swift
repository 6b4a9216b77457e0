import Foundation
public import LLMKit
public import Providers

/// Runs an experiment's grid: every cell a normal relabel run (``PromptRuns/Cell``, the code
/// path of `promptlab score`) into its own journal in the experiment folder, then its ensembles.
///
/// - A cell whose settings (fingerprint) and journal are unchanged and complete is reused
///   without a request; one that was started with the same settings is resumed (the journal's
///   own resume: only the missing items, answers already received replayed from its answer
///   log); one whose settings changed is run again from the start.
/// - Cells that send to the same endpoint (provider and base URLs) run one after another, each
///   with the endpoint's whole concurrency budget; different endpoints run at the same time.
///   So two cells never overload one llama-server's slots.
/// - A kill -9 at any moment leaves whole journal lines and a manifest that never claims more
///   than the journals hold; `run` again finishes what is missing.
public struct ExperimentRunner: Sendable {
    public var experiment: ExperimentFile
    public var registry: ProviderRegistry
    /// The process environment (API keys are read from the variables the file names).
    public var environment: [String: String]
    /// The recordings folder the `fixture` provider replays for a method when the model gives none.
    public var bundledRecordings: @Sendable (MethodID) -> String
    public var cache: ClientStack.Cache

    public init(experiment: ExperimentFile, registry: ProviderRegistry, environment: [String: String],
                bundledRecordings: @escaping @Sendable (MethodID) -> String, cache: ClientStack.Cache = .standard) {
        self.experiment = experiment
        self.registry = registry
        self.environment = environment
        self.bundledRecordings = bundledRecordings
        self.cache = cache
    }

    /// What a run did with each cell.
    public struct Outcome: Sendable {
        public var cell: String
        /// `new`, `reused`, `resumed` or `changed` (the manifest's `last_run`; a cell no longer
        /// in the file is `dropped` there, its journal kept).
        public var reuse: String
        /// `done` or `failed`.
        public var state: String
        public var failure: String?
        /// Requests sent by this run (0 for a reused cell).
        public var requests: Int
    }

    /// Runs every cell that is not done and writes the ensembles; `announce` hears one line per
    /// cell. Throws for a bad file or dataset, and when interrupted; a cell that fails is
    /// recorded as failed (its kind in the manifest) and the others go on.
    public func run(announce: @escaping @Sendable (String) -> Void = { _ in }) async throws -> [Outcome] {
        let folder = experiment.output
        do { try FileManager.default.createDirectory(atPath: "\(folder)/cells", withIntermediateDirectories: true) } catch {
            throw ExperimentError(file: folder, "cannot create the experiment folder (\(error.localizedDescription))")
        }
        // Before anything is sent: every model's provider is registered and its key variable set.
        for cell in experiment.cells where cell.method.needsProvider { _ = try stack(cell.model, method: cell.method.id) }
        let previous = try ExperimentManifest.read(folder: folder)
        var manifest = ExperimentManifest(file: experiment.path, fileSHA256: experiment.sha256)
        manifest.cells = previous?.cells ?? [:]
        manifest.ensembles = previous?.ensembles ?? [:]
        let cells = experiment.cells
        manifest.order = cells.map(\.id) + (previous?.order ?? []).filter { id in !cells.contains { $0.id == id } }
        var datasets: [String: OpenedDataset] = [:]
        for dataset in experiment.datasets { datasets[dataset.name] = try experiment.open(dataset) }
        // Mark what this run does with each cell before anything runs.
        var plans: [(cell: ExperimentCell, fingerprint: String, settings: JSONValue, reuse: String)] = []
        for cell in cells {
            let settings = cell.settings(experiment, datasetSHA256: datasets[cell.dataset.name]!.sha256)
            let fingerprint = String(CompletionRequest.sha256Hex(settings.description).prefix(16))
            let old = manifest.cells[cell.id]
            // Started means a journal: a batch run opens its journal before it submits anything.
            // A batch state without its journal (the journal removed) is a replaced run's: the
            // fresh run cancels its batches before submitting its own (--overwrite's rule).
            let journalExists = FileManager.default.fileExists(atPath: cell.journal(in: folder))
            let reuse = old == nil || !journalExists ? "new" : old!.fingerprint != fingerprint ? "changed" : old!.state == "done" ? "reused" : "resumed"
            manifest.cells[cell.id]?.lastRun = reuse
            plans.append((cell, fingerprint, settings, reuse))
        }
        // Cells no longer in the file keep their journals and entries, marked as such.
        for id in manifest.order where !cells.contains(where: { $0.id == id }) { manifest.cells[id]?.lastRun = "dropped" }
        try manifest.write(folder: folder)
        let store = ManifestStore(manifest, folder: folder)
        // One queue per endpoint; the queues run at the same time.
        var queues: [String: [Int]] = [:]
        var keys: [String] = []
        for (i, plan) in plans.enumerated() {
            let key = plan.cell.method.needsProvider ? plan.cell.model.endpointKey : "none"
            if queues[key] == nil { keys.append(key) }
            queues[key, default: []].append(i)
        }
        let planned = plans, opened = datasets
        let outcomes = try await withThrowingTaskGroup(of: [(Int, Outcome)].self) { group in
            for key in keys {
                let indices = queues[key]!
                group.addTask {
                    var done: [(Int, Outcome)] = []
                    for i in indices {
                        let plan = planned[i]
                        let outcome = try await runCell(plan.cell, fingerprint: plan.fingerprint, settings: plan.settings, reuse: plan.reuse,
                                                        dataset: opened[plan.cell.dataset.name]!, store: store, announce: announce)
                        done.append((i, outcome))
                        #if LLMKIT_TEST_HOOKS
                        KillPoint.reach("experiment-after-cell")
                        #endif
                    }
                    return done
                }
            }
            var all: [(Int, Outcome)] = []
            for try await part in group { all += part }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        try await writeEnsembles(store: store, datasets: datasets, announce: announce)
        return outcomes
    }

    private func runCell(_ cell: ExperimentCell, fingerprint: String, settings: JSONValue, reuse: String, dataset: OpenedDataset,
                         store: ManifestStore, announce: @Sendable (String) -> Void) async throws -> Outcome {
        let folder = experiment.output
        let journal = cell.journal(in: folder)
        if reuse == "reused" {
            announce("\(cell.id): done, reused")
            return Outcome(cell: cell.id, reuse: reuse, state: "done", requests: 0)
        }
        if reuse == "changed" {
            // The old journal holds other settings: remove it before the manifest records the
            // new ones, so a run stopped before the new journal starts (a server down, Ctrl-C)
            // leaves the cell "new", never "resumed" against a journal that refuses the resume.
            try? FileManager.default.removeItem(atPath: journal)
        }
        try await store.update(cell.id) { entry in
            entry = ExperimentManifest.Entry(fingerprint: fingerprint, settings: settings, journal: "cells/\(cell.id).jsonl", state: "running", lastRun: reuse)
        }
        announce("\(cell.id): \(reuse == "resumed" ? "resuming" : reuse == "changed" ? "settings changed, running again" : "running")")
        do {
            let prepared = try await prepare(cell)
            var run = experiment.run(cell, dataset: dataset, output: journal)
            run.method = try cell.relabelMethod()
            run.mode = reuse == "resumed" ? .resume(retryFailed: false, force: false) : .fresh(overwrite: true)
            run.otherInputs = [cell.dataset.gold, cell.method.lexicon].compactMap { $0 }
            run.executor = try executor(cell, baseURL: prepared.baseURL, journal: journal)
            let report = try await run.run(prepared, runner: RelabelRunner(client: prepared.client))
            if report.relabeledInOutput == 0 && report.datasetItems > 0 {
                // As relabel exits 1: nothing relabeled is not done; the next run resumes the
                // cell and asks the transient failures again.
                let message = "no item relabeled (\(report.summary.failed) failed)"
                try await store.update(cell.id) { $0?.state = "failed"; $0?.failureKind = "no_item_relabeled"; $0?.failureMessage = message }
                announce("\(cell.id): failed (no_item_relabeled): \(message)")
                return Outcome(cell: cell.id, reuse: reuse, state: "failed", failure: "no_item_relabeled: \(message)", requests: report.summary.requests)
            }
            try await store.update(cell.id) { $0?.state = "done"; $0?.failureKind = nil; $0?.failureMessage = nil }
            announce("\(cell.id): done (\(report.relabeledInOutput) of \(report.datasetItems) relabeled, \(report.summary.requests) requests)")
            return Outcome(cell: cell.id, reuse: reuse, state: "done", requests: report.summary.requests)
        } catch {
            if let run = error as? RunError, run.code == .interrupted { throw error }
            if error is CancellationError { throw error }
            let kind = Self.kind(of: error)
            // A dataset's problem names the experiment file's line and key first.
            let error = experiment.datasetProblem(cell.dataset, error, opened: dataset) ?? error
            try await store.update(cell.id) { $0?.state = "failed"; $0?.failureKind = kind; $0?.failureMessage = "\(error)" }
            announce("\(cell.id): failed (\(kind)): \(error)")
            return Outcome(cell: cell.id, reuse: reuse, state: "failed", failure: "\(kind): \(error)", requests: 0)
        }
    }

    /// A failure's kind as `status` shows it.
    static func kind(of error: any Error) -> String {
        switch error {
        case let e as RunError: return e.providerError.map { "\(e.code) (\($0.kind))" } ?? "\(e.code)"
        case let e as LLMError: return "\(e.kind)"
        case is DatasetError: return "dataset"
        case is ExperimentError: return "configuration"
        default: return "error"
        }
    }

    /// The cell's client: its model's provider with the cache, retries and rate limits of any run.
    func prepare(_ cell: ExperimentCell) async throws -> ClientStack.Prepared {
        guard cell.method.needsProvider else {
            return NoModelProvider.prepared(model: URL(fileURLWithPath: cell.method.lexicon ?? "none").deletingPathExtension().lastPathComponent)
        }
        var stack = try stack(cell.model, method: cell.method.id)
        // A repeat asks again: from the response cache it would be the first run's answers
        // replayed (at temperature 0 the seed does not change), not a measurement.
        if cell.repeatIndex > 0 { stack.cache = .off }
        return try await stack.make(registry: registry)
    }

    /// The environment `model`'s provider (and its batch service) reads: the process's, with
    /// the key of the variable the file names (`api_key_env`) as the provider's key.
    func environment(for model: ExperimentFile.Model) throws -> [String: String] {
        var env = environment
        if let name = model.apiKeyEnvironment {
            guard let key = environment[name], !key.isEmpty else {
                throw ExperimentError(file: experiment.path, line: model.line, key: "api_key_env", "the environment variable \(name) is not set")
            }
            SecretRedactor.shared.register(key)
            env["OPENAI_API_KEY"] = key
            env[model.provider.uppercased() + "_API_KEY"] = key
            // Gemini reads GOOGLE_API_KEY before GEMINI_API_KEY (as its SDK does): the variable
            // the file names must win over whatever the shell has set.
            env["GOOGLE_API_KEY"] = key
        }
        return env
    }

    /// A batch cell's executor: the provider's batch service at the cell's server, keyed by the
    /// model's `api_key_env`, its state and downloads beside the cell's journal.
    func executor(_ cell: ExperimentCell, baseURL: String?, journal: String) throws -> RelabelExecutor {
        guard cell.usesBatchAPI, let batch = cell.model.batchAPI else { return .synchronous }
        let service = try BatchServices.service(provider: ProviderID(cell.model.provider), baseURL: baseURL, output: journal,
                                                environment: try environment(for: cell.model))
        return .batchAPI(BatchSettings(service: service, pollInterval: .milliseconds(Int64(batch.pollInterval * 1000)),
                                       maximumPollInterval: .milliseconds(Int64(batch.pollMax * 1000))))
    }

    /// The client stack of `model` for `method` (the plan uses its model name only).
    func stack(_ model: ExperimentFile.Model, method: MethodID) throws -> ClientStack {
        guard registry.contains(model.provider) else {
            throw ExperimentError(file: experiment.path, line: model.line, key: "provider",
                                  "unknown provider '\(model.provider)' (registered: \(registry.all.map(\.name).joined(separator: ", ")))")
        }
        let env = try environment(for: model)
        var options: [String: String] = [:]
        if model.provider == ProviderID.fixture.name { options[BuiltinProviders.fixturesOption] = model.fixtures ?? bundledRecordings(method) }
        let configuration = ProviderConfiguration(model: model.model, baseURL: model.baseURLs.count == 1 ? model.baseURLs[0] : nil,
                                                  options: options, environment: env)
        var stack = ClientStack(provider: model.provider, configuration: configuration,
                                cache: model.provider == ProviderID.fixture.name ? .off : cache,
                                retry: .forRun(budget: .milliseconds(Int64(experiment.sampling.retryFor * 1000))),
                                limits: RateLimits(requestsPerMinute: model.requestsPerMinute, tokensPerMinute: model.tokensPerMinute))
        stack.endpoints = try model.endpoints.map { try PoolEndpoint.parseFile($0) } ?? model.baseURLs.map { PoolEndpoint(baseURL: $0) }
        return stack
    }
}
