import ArgumentParser
import Foundation
import LLMKit
import Logging
import Providers

/// How the provider is reached and kept honest: everything `relabel` and `score` share.
struct ProviderOptions: ParsableArguments {
    @Option(help: "Model name sent to the provider (default: llamacpp asks the server, fixture takes the recordings' model; openai needs one).")
    var model: String?

    @Option(name: .customLong("base-url"), help: ArgumentHelp(
        "Server base URL (llamacpp: default $LLAMA_SERVER_URL or http://127.0.0.1:8080; openai: $OPENAI_BASE_URL or https://api.openai.com/v1).",
        discussion: "Repeat it for a pool of servers of the same model (see --endpoints).", valueName: "url"))
    var baseURLs: [String] = []

    @OptionGroup var pool: PoolOptions

    /// The one base URL given (a pool has several).
    var baseURL: String? { baseURLs.count == 1 ? baseURLs[0] : nil }

    @Option(help: ArgumentHelp("Record the provider's answers into this folder.", valueName: "dir"))
    var record: String?

    @Option(help: "Recording mode with --record: once, new_episodes or all.")
    var recordMode: RecordMode = .newEpisodes

    @Option(help: ArgumentHelp("Recordings folder for the fixture provider (default: the checkout's bundled recordings).", valueName: "dir"))
    var fixtures: String?

    @Option(parsing: .unconditional, help: "Hard cap in seconds on one request (the default timeout follows the token budget and the server's observed speed).")
    var timeout: Double = 600

    @Option(parsing: .unconditional, help: "Seconds without a byte of a streamed answer before the request fails as a timeout.")
    var stallTimeout: Double = 60

    @Option(parsing: .unconditional, help: "Largest answer accepted, in MiB; a larger one fails as response_too_large while it arrives.")
    var maxResponseMib: Double = 32

    @Flag(inversion: .prefixedNo, help: "Stream answers (default: on for llamacpp, off for openai).")
    var stream: Bool?

    @Option(parsing: .unconditional, help: "Seconds one request may keep being retried (rate limits, 5xx, timeouts, resets), with backoff and the server's retry-after.")
    var retryFor: Double = 600

    @Option(parsing: .unconditional, help: "Attempts per request at most, the first included (default: as many as --retry-for allows).")
    var maxAttempts: Int?

    @Option(parsing: .unconditional, help: "Client-side limit: requests per minute (waits instead of being refused).")
    var rpm: Double?

    @Option(parsing: .unconditional, help: "Client-side limit: tokens per minute (prompt plus token budget, corrected by the reported usage).")
    var tpm: Double?

    @Option(help: ArgumentHelp("Response cache folder (default: $LLMKIT_CACHE_DIR, $XDG_CACHE_HOME/llmkit/responses or ~/.cache/llmkit/responses).", valueName: "dir"))
    var cache: String?

    @Flag(help: "Do not read or write the response cache.")
    var noCache = false

    @Flag(help: "Log every retry and wait on stderr.")
    var verbose = false

    func validate() throws {
        try Check.range(timeout, "--timeout", 0.1...86_400)
        try Check.range(stallTimeout, "--stall-timeout", 1...86_400)
        try Check.range(maxResponseMib, "--max-response-mib", 0.001...4096)
        try Check.range(retryFor, "--retry-for", 0...604_800)
        try Check.range(maxAttempts, "--max-attempts", 1...1000)
        try Check.range(rpm, "--rpm", 0.001...10_000_000)
        try Check.range(tpm, "--tpm", 1...1_000_000_000_000)
        for url in baseURLs {
            if let problem = PoolEndpoint.problem(withBaseURL: url) { throw ValidationError("--base-url: \(problem)") }
        }
        if cache != nil && noCache { throw ValidationError("--cache and --no-cache contradict each other") }
    }

    /// Sets the log level once per process; every line is scrubbed of registered secrets.
    func bootstrapLogging() {
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = ScrubbingLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The client stack for `provider` (a pool with two or more endpoints).
    func stack(provider: ProviderID, model: String? = nil, bundledRecordings: String? = nil) throws -> ClientStack {
        var options: [String: String] = [:]
        if provider == .fixture { options[BuiltinProviders.fixturesOption] = fixtures ?? Locations.bundledRecordings(bundledRecordings ?? "fixtures/recordings/gemma3-270m") }
        let configuration = ProviderConfiguration(
            model: model ?? self.model, baseURL: baseURL, options: options, environment: ProcessInfo.processInfo.environment,
            timeout: .init(request: .milliseconds(Int64(timeout * 1000)), stall: .milliseconds(Int64(stallTimeout * 1000))),
            maximumResponseBytes: Int(maxResponseMib * 1_048_576), stream: stream)
        let cacheSetting: ClientStack.Cache = noCache || provider == .fixture ? .off : cache.map { .at(URL(fileURLWithPath: $0)) } ?? .standard
        var stack = ClientStack(provider: provider.name, configuration: configuration, cache: cacheSetting,
                                retry: .forRun(budget: .milliseconds(Int64(retryFor * 1000)), maxAttempts: maxAttempts),
                                limits: RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm),
                                record: record.map { (URL(fileURLWithPath: $0), recordMode) })
        stack.endpoints = try pool.list(baseURLs: baseURLs)
        stack.pool = pool.settings
        return stack
    }
}

extension ProviderID {
    /// `--provider NAME`: a name the registry knows (the built-in providers, or those a
    /// downstream package registered), refused while parsing otherwise.
    static func registered(_ name: String) throws -> ProviderID {
        let registry = PromptLabCLI.registry
        guard registry.contains(name) else {
            let known = registry.all.map(\.name).joined(separator: ", ")
            throw ValidationError("Unknown provider '\(name)'; registered providers: \(known.isEmpty ? "none" : known)")
        }
        return ProviderID(name)
    }
}

/// `--provider NAME[:MODEL]` of `score`: a registered provider, optionally with its model.
struct ProviderSpec {
    var provider: ProviderID
    var model: String?

    init(_ provider: ProviderID, model: String? = nil) {
        self.provider = provider
        self.model = model
    }

    /// Parses `NAME[:MODEL]`; throws for a name the registry does not know.
    init(parsing spec: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        self.init(try ProviderID.registered(parts.first ?? ""), model: parts.count == 2 ? parts[1] : nil)
    }

    /// `NAME MODEL`, or `NAME`: the column's label.
    var label: String { [provider.name, model].compactMap { $0 }.joined(separator: " ") }
}
