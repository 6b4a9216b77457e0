import ArgumentParser
import Foundation
import LLMKit
import Logging
import Providers

/// How a model is asked: everything `relabel` and `score` share.
struct RunOptions: ParsableArguments {
    @Option(help: "Model name sent to the provider.")
    var model: String = BuiltinProviders.defaultModel

    @Option(help: "Server base URL (llamacpp: default $LLAMA_SERVER_URL or http://127.0.0.1:8080; openai: $OPENAI_BASE_URL or https://api.openai.com/v1).")
    var baseURL: String?

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

    @Option(help: ArgumentHelp("Response cache folder (default: $LLMKIT_CACHE_DIR, $XDG_CACHE_HOME/llmkit/responses or ~/.cache/llmkit/responses).", valueName: "dir"))
    var cache: String?

    @Flag(help: "Do not read or write the response cache.")
    var noCache = false

    @Flag(help: "Log every retry and wait on stderr.")
    var verbose = false

    func validate() throws {
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be 1 or more") }
        if reask < 0 { throw ValidationError("--reask must be 0 or more") }
        if !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if maxAttempts < 1 { throw ValidationError("--max-attempts must be 1 or more") }
        if let rpm, !(rpm > 0) { throw ValidationError("--rpm must be more than 0") }
        if let tpm, !(tpm > 0) { throw ValidationError("--tpm must be more than 0") }
        if cache != nil && noCache { throw ValidationError("--cache and --no-cache contradict each other") }
    }

    /// Sets the log level once per process.
    func bootstrapLogging() {
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The provider with its middlewares, ready: outermost first, a cached answer costs nothing
    /// (no attempt, no rate-limit tokens); every attempt of a retry waits for the rate limiter;
    /// every answer (errors included) is recorded in order.
    func client(provider: String) async throws -> (LLMClient, ProviderCapabilities) {
        var options: [String: String] = [:]
        if provider == "fixture" { options[BuiltinProviders.fixturesOption] = fixtures ?? Locations.bundledRecordings() }
        let environment = ProcessInfo.processInfo.environment
        let live = try BuiltinProviders.registry().make(provider, configuration: ProviderConfiguration(
            model: model, baseURL: baseURL, options: options, environment: environment, requestTimeout: timeout))
        let capabilities = try await live.prepare()
        var middlewares: [any ProviderMiddleware] = []
        if !noCache && provider != "fixture" {
            let root = cache.map { URL(fileURLWithPath: $0) } ?? CacheMiddleware.defaultRoot(environment: environment)
            let base = baseURL ?? (live as? OpenAIProvider)?.baseURL ?? (live as? LlamaCppProvider)?.baseURL ?? provider
            middlewares.append(CacheMiddleware(root: root, provider: provider, baseURL: base))
        }
        middlewares.append(RetryMiddleware(policy: .exponential(maxAttempts: maxAttempts)))
        if rpm != nil || tpm != nil {
            middlewares.append(RateLimitMiddleware(limiter: RateLimiter(limits: RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm))))
        }
        if let record { middlewares.append(RecordingMiddleware(directory: URL(fileURLWithPath: record), mode: recordMode, providerName: provider)) }
        return (LLMClient(provider: live, middlewares: middlewares), capabilities)
    }

    func configuration(prompt: PromptVersion, capabilities: ProviderCapabilities, batchSize: Int?, policy: RenormalizationPolicy, seed: Int? = nil) -> RelabelConfiguration {
        RelabelConfiguration(prompt: prompt, model: model, batchSize: batchSize, concurrency: concurrency ?? capabilities.parallelSlots ?? 4,
                             temperature: temperature, seed: seed ?? self.seed, maxTokens: maxTokens, policy: policy, reaskRounds: reask)
    }
}

/// Runs the pipeline over a dataset into a journal, with progress and Ctrl-C handling.
enum RelabelRunner {
    struct Outcome {
        var summary: RelabelSummary
        var seconds: Double
    }

    static func run(pipeline: RelabelPipeline, reader: DatasetReader, journal: RelabelJournal, limit: Int?, quiet: Bool) async throws -> Outcome {
        let started = ContinuousClock.now
        let done = journal.resumed.done
        let available = try DatasetReader.countItems(path: reader.path, format: reader.format)
        let progress = ProgressDisplay(total: max(0, min(available, limit ?? .max) - done.count), quiet: quiet)
        let state = Confined((reader: reader, journal: journal, progress: progress, read: 0))
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
        defer { interrupt.cancel() }
        let summary: RelabelSummary
        do {
            summary = try await work.value
        } catch is CancellationError {
            progress.finish()
            FileHandle.standardError.write(Data("interrupted: \(journal.path) holds \(journal.resumed.lines + progress.totals.items) complete lines; continue with --resume\n".utf8))
            throw ExitCode(130)
        }
        progress.finish()
        try journal.finish()
        return Outcome(summary: summary, seconds: (ContinuousClock.now - started).seconds)
    }
}
