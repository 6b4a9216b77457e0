import ArgumentParser
import Foundation
import LLMKit
import Providers

/// `promptlab relabel`: relabels a dataset with a provider and writes one JSON line per item.
struct RelabelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relabel",
        abstract: "Relabel a dataset with an LLM and write one JSON line per item.",
        discussion: """
            With no --provider, answers are replayed from the bundled recordings of the real \
            Gemma 3 270M model (provider 'fixture'): no server, no network. Use --provider \
            llamacpp for a running llama-server, --provider openai for OpenAI or any \
            OpenAI-compatible server, and --record DIR to record answers. The output is a \
            locked journal: its first line records what the run was made on (dataset hash, \
            prompt, provider, model, settings); each finished request's lines are appended and synced. \
            An interrupted run (Ctrl-C, a crash, a kill) continues with --resume, which refuses \
            another dataset or other settings unless --force-resume. Transient errors (429, \
            5xx, timeouts) are retried for --retry-for seconds per request and once more at \
            the end; a wrong key, missing access or quota stops the run at once. Exit status 0 \
            when the output holds at least one relabeled item (or there was nothing to do), 1 \
            otherwise or on error, 130 when interrupted.
            """)

    @OptionGroup var dataset: DatasetOptions
    @OptionGroup var prompt: PromptOptions
    @OptionGroup var methodOptions: MethodOptions

    @Option(help: ArgumentHelp("Provider name (see 'promptlab providers'; default: fixture).", valueName: "name"), transform: ProviderID.registered)
    var provider: ProviderID = .fixture

    @OptionGroup var connection: ProviderOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var slice: SliceOptions

    @Option(help: ArgumentHelp("Output file (relabeled JSONL). Default: out/<dataset>.<prompt>.<provider>.<model>.jsonl", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "file"))
    var summaryJSON: String?

    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var batch: BatchOptions
    @OptionGroup var cost: CostOptions

    @Flag(help: "Continue an interrupted run: skip the ids already in --out (a torn last line is dropped).")
    var resume = false

    @Flag(help: "With --resume: ask again for every item that failed (their old lines are replaced).")
    var retryFailed = false

    @Flag(help: "With --resume: continue an output made on another dataset, prompt, provider, model or settings (both are recorded).")
    var forceResume = false

    @Flag(help: "Replace an existing --out instead of refusing.")
    var overwrite = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        if connection.record != nil && provider == .fixture { throw ValidationError("--record needs a live provider (--provider llamacpp or openai)") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if (retryFailed || forceResume) && !resume { throw ValidationError("--retry-failed and --force-resume go with --resume") }
        if batch.batchAPI && !BatchOptions.batchProviders.contains(provider) {
            throw ValidationError("--batch-api needs --provider openai (any server with OpenAI's /v1/files and /v1/batches: see --base-url) anthropic (Message Batches) or gemini (batch mode)")
        }
        if batch.batchAPI && (connection.baseURLs.count > 1 || connection.pool.endpoints != nil) { throw ValidationError("--batch-api goes to one server: give one --base-url") }
        if batch.batchAPI && connection.record != nil { throw ValidationError("--record records synchronous answers; it does not go with --batch-api") }
        if batch.batchAPI && methodOptions.method != .adjust { throw ValidationError("--batch-api runs the prompted adjustment only, not --method \(methodOptions.method)") }
        if methodOptions.method != .adjust && cost.dryRun { throw ValidationError("--dry-run prices the prompted adjustment; it does not go with --method \(methodOptions.method)") }
        if !methodOptions.needsProvider && (connection.record != nil || cost.dryRun) {
            throw ValidationError("--method \(methodOptions.method) asks no model: --record and --dry-run do not apply")
        }
    }

    func run() async throws {
        connection.bootstrapLogging()
        let version = try prompt.load(default: methodOptions.defaultPrompt)
        if cost.dryRun { return try await dryRun(version) }
        let method = try methodOptions.make(prompt: version)
        let prepared: ClientStack.Prepared
        var providerName = provider.name
        if methodOptions.needsProvider {
            prepared = try await connection.stack(provider: provider, bundledRecordings: methodOptions.bundledRecordings).make(registry: PromptLabCLI.registry)
        } else {
            // A method that asks no model: the run records provider 'none' and the method's file as the model.
            let stem = URL(fileURLWithPath: methodOptions.lexicon ?? "none").deletingPathExtension().lastPathComponent
            prepared = NoModelProvider.prepared(model: stem)
            providerName = NoModelProvider().id.name
        }
        var configuration = sampling.configuration(prompt: version, prepared: prepared, itemsPerRequest: slice.itemsPerRequest, policy: policyOptions.policy)
        configuration.method = method
        // A pool allowed to mix models records which model answered each line.
        configuration.recordsAnsweringModel = connection.pool.allowMixedModels
        let label = method.map { $0.id.name } ?? version.name
        let output = out ?? Locations.defaultOutput(dataset: dataset.dataset, prompt: label, provider: providerName, model: prepared.model)
        let mapping = try dataset.columns.mapping()
        let job = RelabelJob(dataset: dataset.dataset, format: dataset.format, mapping: mapping, output: output,
                             mode: resume ? .resume(retryFailed: retryFailed, force: forceResume) : .fresh(overwrite: overwrite),
                             limit: slice.limit, configuration: configuration, baseURL: prepared.baseURL,
                             otherInputs: [prompt.file, connection.fixtures, summaryJSON, methodOptions.lexicon, dataset.columns.file].compactMap { $0 },
                             executor: try batch.executor(provider: provider, baseURL: prepared.baseURL, output: output, maximumLineBytes: Int(connection.maxResponseMib * 1_048_576)))
        if let summaryJSON {
            try FileChecks.requireDistinct(output: summaryJSON, from: [dataset.dataset])
            try FileChecks.requireDistinct(outputs: [output, summaryJSON])
            try FileChecks.prepareOutput(summaryJSON)
        }
        let cap = ConcurrencyCap(used: configuration.concurrency, capacity: methodOptions.needsProvider && !batch.batchAPI ? prepared.capabilities.parallelSlots : nil,
                                 pool: prepared.client.provider is PoolProvider, given: sampling.concurrency != nil)
        if let line = cap.startLine { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let display = ProgressDisplay(quiet: quiet)
        let runner = RelabelRunner(client: prepared.client)
        let report = try await display.showing {
            try await Interrupt.cancelling {
                try await runner.run(job) { event in
                    // A mapped table: say at the start how its votes were read (counts or proportions).
                    if case .started(let start) = event, let votes = start.votes { display.note(votes.sentence) }
                    display.take(event)
                }
            }
        }
        if resume && !quiet { FileHandle.standardError.write(Data(SummaryTable.resumeLine(report).utf8)) }
        let endpoints = await (prepared.client.provider as? PoolProvider)?.statistics() ?? []
        let runCost = methodOptions.needsProvider ? try cost.cost(report.summary.usage, model: prepared.model, batch: batch.batchAPI) : .noModel
        let promptLabel = methodOptions.needsProvider ? configuration.promptID : "none (method \(configuration.methodID))"
        print(SummaryTable.render(report, prompt: promptLabel, provider: providerName, model: prepared.model, endpoints: endpoints, dollars: runCost.text, concurrency: cap))
        if let summaryJSON {
            let json = SummaryTable.json(report, prompt: promptLabel, provider: providerName, model: prepared.model, endpoints: endpoints,
                                         cost: runCost, concurrency: cap)
            try AtomicFileWriter.write(JSONSerializer.string(json, style: .pretty), to: summaryJSON)
        }
        if report.itemsToDo > 0 && report.relabeledInOutput == 0 { throw ExitCode(1) }
    }

    /// `--dry-run`: every request rendered, nothing sent, no server asked.
    func dryRun(_ version: PromptVersion) async throws {
        // OpenAI has no default model, and the dry run asks no server for one: the real run's error.
        if connection.model == nil && provider == .openAI { throw ClientStack.missingModel(provider.name) }
        let model = connection.model ?? provider.name
        let configuration = sampling.configuration(prompt: version, model: model, slots: nil, itemsPerRequest: slice.itemsPerRequest, policy: policyOptions.policy)
        let mapping = try dataset.columns.mapping()
        let estimate = try await BlockingIOPool.shared.run { [dataset] in
            try DryRunEstimate.estimate(dataset: dataset.dataset, format: dataset.format, mapping: mapping, limit: slice.limit, configuration: configuration)
        }
        print(CostOptions.render(estimate, prompt: version, model: model, table: try cost.table(), itemsPerRequest: configuration.chunkSize))
    }
}
