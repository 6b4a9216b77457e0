import ArgumentParser
import Foundation
import LLMKit
import Logging
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
            OpenAI-compatible server, and --record DIR to record answers. Each finished batch is \
            appended to --out and synced to disk: an interrupted run (Ctrl-C, a crash, a kill) \
            continues with --resume and never pays twice for a finished item. An existing --out \
            is never replaced without --overwrite. Exit status 1 when no item could be \
            relabeled, 130 when interrupted.
            """)

    @OptionGroup var dataset: DatasetOptions
    @OptionGroup var prompt: PromptOptions

    @Option(help: "Provider name (see 'promptlab providers').")
    var provider: String = "fixture"

    @Option(help: "Model name sent to the provider.")
    var model: String = BuiltinProviders.defaultModel

    @Option(help: "Server base URL (llamacpp: default $LLAMA_SERVER_URL or http://127.0.0.1:8080).")
    var baseURL: String?

    @OptionGroup var slice: SliceOptions

    @Option(help: ArgumentHelp("Output file (relabeled JSONL). Default: out/<dataset>.<prompt>.<provider>.jsonl", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Record the provider's answers into this folder.", valueName: "dir"))
    var record: String?

    @Option(help: "Recording mode with --record: once, new_episodes or all.")
    var recordMode: RecordMode = .newEpisodes

    @Option(help: ArgumentHelp("Recordings folder for the fixture provider (default: the bundled recordings).", valueName: "dir"))
    var fixtures: String?

    @Option(help: "Sampling seed.")
    var seed: Int = 42

    @Option(help: "Sampling temperature.")
    var temperature: Double = 0

    @Option(help: "Token limit per answer (default: the server's).")
    var maxTokens: Int?

    @Option(help: "Requests in flight at once (default: the server's slot count for llamacpp, else 4).")
    var concurrency: Int?

    @Option(help: "Times missing or invalid items are asked again, in smaller batches.")
    var reask: Int = 2

    @Option(help: "Seconds allowed for one request (connect, send, answer).")
    var timeout: Double = 600

    @Option(help: "Attempts per request, the first included, for errors worth retrying (429, 5xx, timeouts, resets).")
    var maxAttempts: Int = 3

    @Option(help: "Client-side limit: requests per minute (waits instead of being refused).")
    var rpm: Double?

    @Option(help: "Client-side limit: tokens per minute (estimated before sending, corrected by the reported usage).")
    var tpm: Double?

    @Option(help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "file"))
    var summaryJSON: String?

    @Option(help: ArgumentHelp("Response cache folder (default: $LLMKIT_CACHE_DIR, $XDG_CACHE_HOME/llmkit/responses or ~/.cache/llmkit/responses).", valueName: "dir"))
    var cache: String?

    @Flag(help: "Do not read or write the response cache.")
    var noCache = false

    @OptionGroup var policyOptions: PolicyOptions

    @Flag(help: "Continue an interrupted run: skip the ids already in --out (a torn last line is dropped).")
    var resume = false

    @Flag(help: "With --resume: ask again for the items that failed (their old lines are replaced).")
    var retryFailed = false

    @Flag(help: "With --resume: accept an output made with another prompt version, provider or model.")
    var forceResume = false

    @Flag(help: "Replace an existing --out instead of refusing.")
    var overwrite = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @Flag(help: "Log every retry and wait on stderr.")
    var verbose = false

    func validate() throws {
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be 1 or more") }
        if reask < 0 { throw ValidationError("--reask must be 0 or more") }
        if !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if maxAttempts < 1 { throw ValidationError("--max-attempts must be 1 or more") }
        if let rpm, !(rpm > 0) { throw ValidationError("--rpm must be more than 0") }
        if let tpm, !(tpm > 0) { throw ValidationError("--tpm must be more than 0") }
        if record != nil && provider == "fixture" { throw ValidationError("--record needs a live provider (--provider llamacpp)") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if (retryFailed || forceResume) && !resume { throw ValidationError("--retry-failed and --force-resume go with --resume") }
        if cache != nil && noCache { throw ValidationError("--cache and --no-cache contradict each other") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let version = try prompt.load()
        let registry = BuiltinProviders.registry()
        var options: [String: String] = [:]
        if provider == "fixture" { options[BuiltinProviders.fixturesOption] = fixtures ?? Locations.bundledRecordings() }
        let live = try registry.make(provider, configuration: ProviderConfiguration(
            model: model, baseURL: baseURL, options: options, environment: ProcessInfo.processInfo.environment, requestTimeout: timeout))
        let capabilities = try await live.prepare()
        // Outermost first: a cached answer costs nothing (no attempt, no rate-limit tokens);
        // every attempt of a retry waits for the rate limiter; every answer (errors included)
        // is recorded in order.
        var middlewares: [any ProviderMiddleware] = []
        if !noCache && provider != "fixture" {
            let environment = ProcessInfo.processInfo.environment
            let root = cache.map { URL(fileURLWithPath: $0) } ?? CacheMiddleware.defaultRoot(environment: environment)
            let base = baseURL ?? (live as? OpenAIProvider)?.baseURL ?? (live as? LlamaCppProvider)?.baseURL ?? provider
            middlewares.append(CacheMiddleware(root: root, provider: provider, baseURL: base))
        }
        middlewares.append(RetryMiddleware(policy: .exponential(maxAttempts: maxAttempts)))
        if rpm != nil || tpm != nil {
            middlewares.append(RateLimitMiddleware(limiter: RateLimiter(limits: RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm))))
        }
        if let record { middlewares.append(RecordingMiddleware(directory: URL(fileURLWithPath: record), mode: recordMode, providerName: provider)) }
        let client = LLMClient(provider: live, middlewares: middlewares)
        let configuration = RelabelConfiguration(
            prompt: version, model: model, batchSize: slice.batchSize, concurrency: concurrency ?? capabilities.parallelSlots ?? 4,
            temperature: temperature, seed: seed, maxTokens: maxTokens, policy: policyOptions.policy, reaskRounds: reask)

        let reader = try DatasetReader(path: dataset.dataset, format: dataset.format, policy: policyOptions.policy)
        let outPath = out ?? Locations.defaultOutput(dataset: dataset.dataset, prompt: version.name, provider: provider)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: outPath).deletingLastPathComponent(), withIntermediateDirectories: true)
        let journal = try RelabelJournal(path: outPath, mode: resume ? .resume(retryFailed: retryFailed, allowMismatch: forceResume) : .fresh(overwrite: overwrite),
                                         prompt: version.id, provider: provider, model: model)
        let done = journal.resumed.done
        if resume && !quiet {
            let torn = journal.resumed.droppedTornLine ? "; a torn last line was dropped" : ""
            FileHandle.standardError.write(Data("resuming \(outPath): \(done.count) items done, \(journal.resumed.retrying) failed items to ask again\(torn)\n".utf8))
        }
        let available = try DatasetReader.countItems(path: dataset.dataset, format: reader.format)
        let progress = ProgressDisplay(total: max(0, min(available, slice.limit ?? .max) - done.count), quiet: quiet)
        let state = Confined((reader: reader, journal: journal, progress: progress, read: 0))
        let limit = slice.limit
        let pipeline = RelabelPipeline(client: client, configuration: configuration)
        let work = Task {
            try await pipeline.run(
                next: {
                    while true {
                        if let limit, state.value.read >= limit { return nil }
                        guard let item = try state.value.reader.next() else { return nil }
                        state.value.read += 1
                        if !done.contains(item.id) { return item }
                    }
                },
                write: { batch in
                    try state.value.journal.append(batch.records)
                    state.value.progress.add(batch.summary)
                })
        }
        // Ctrl-C: stop sending, abandon the batches in flight, keep every line written so far.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        interrupt.setEventHandler { work.cancel() }
        interrupt.resume()
        let summary: RelabelSummary
        do {
            summary = try await work.value
        } catch is CancellationError {
            progress.finish()
            FileHandle.standardError.write(Data("interrupted: \(outPath) holds \(journal.resumed.lines + progress.totals.items) complete lines; continue with --resume\n".utf8))
            throw ExitCode(130)
        }
        progress.finish()
        try journal.finish()
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        print(SummaryReport.render(summary, prompt: version.id, provider: provider, model: model, seconds: seconds, output: outPath))
        if let summaryJSON {
            let writer = try AtomicFileWriter(path: summaryJSON)
            try writer.writeLine(JSONSerializer.string(summary.json(seconds: seconds, output: outPath, prompt: version.id, provider: provider, model: model), style: .pretty))
            try writer.commit()
        }
        if summary.relabeled == 0 { throw ExitCode(1) }
    }
}

/// The summary table printed after a run.
enum SummaryReport {
    static func render(_ s: RelabelSummary, prompt: String, provider: String, model: String, seconds: Double, output: String) -> String {
        func rate(_ n: Int, of d: Int) -> String { d == 0 ? "n/a" : String(format: "%.1f%%", 100 * Double(n) / Double(d)) }
        let failed = s.failedByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let rows: [[String]] = [
            ["prompt", prompt], ["provider", "\(provider) (\(model))"],
            ["items", String(s.items)],
            ["relabeled", "\(s.relabeled) (\(rate(s.relabeled, of: s.items)))"],
            ["failed", s.failed == 0 ? "0" : "\(s.failed) (\(failed))"],
            ["provider errors", s.providerErrors.isEmpty ? "none" : s.providerErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + " (items)"],
            ["unchanged", "\(rate(s.unchangedExact, of: s.relabeled)) exact, \(rate(s.unchangedWithin001, of: s.relabeled)) within 0.01 (of relabeled)"],
            ["sum off", "\(s.sumOff) renormalised and flagged"],
            ["requests", "\(s.requests) (\(s.attempts) HTTP attempts, \(s.cacheHits) from the cache; \(s.reasked) items re-asked, \(s.strayEntries) stray entries, \(s.answersWithStrippedText) answers with text around the JSON)"],
            ["tokens", "\(s.usage.promptTokens) prompt (\(s.usage.cachedTokens) cached), \(s.usage.completionTokens) completion; \(s.items == 0 ? "n/a" : String(format: "%.0f", Double(s.usage.totalTokens) / Double(s.items))) per item"],
            ["wall time", String(format: "%.1f s", seconds)],
            ["output", output],
        ]
        return Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n")
    }
}
