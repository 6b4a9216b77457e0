/// Settings a provider factory reads: what the CLI's provider options and the environment give.
public struct ProviderConfiguration: Sendable {
    /// How long a request may take, as a nested configuration of durations (after
    /// async-http-client's `HTTPClient.Configuration.Timeout`).
    public struct Timeout: Sendable, Hashable {
        /// Establishing a connection (TCP and TLS).
        public var connect: Duration
        /// The hard cap on one request, connect to last byte. Providers that know their speed
        /// (llama.cpp reports tokens per second) use less: the time the token budget needs at
        /// the observed speed, with margin, never more than this.
        public var request: Duration
        /// No byte received for this long fails the request as a timeout, however much of the
        /// total is left: a stalled stream fails fast.
        public var stall: Duration

        public init(connect: Duration = .seconds(10), request: Duration = .seconds(600), stall: Duration = .seconds(60)) {
            self.connect = connect
            self.request = request
            self.stall = stall
        }

        /// 10 s to connect, 600 s per request at most, 60 s without a byte.
        public static let `default` = Timeout()
    }

    /// The model name, when given.
    public var model: String?
    /// The server's base URL, when given.
    public var baseURL: String?
    /// Provider-specific options (`fixtures` directory, ...).
    public var options: [String: String]
    /// The environment to read keys and URLs from (a copy, so tests can supply their own).
    public var environment: [String: String]
    public var timeout: Timeout
    /// The largest answer accepted, in bytes; a larger one fails as `response_too_large`
    /// while it is still arriving (32 MiB by default).
    public var maximumResponseBytes: Int
    /// Whether to ask for a streamed answer (`nil`: the provider's default).
    public var stream: Bool?

    public init(model: String? = nil, baseURL: String? = nil, options: [String: String] = [:], environment: [String: String] = [:],
                timeout: Timeout = .default, maximumResponseBytes: Int = 32 << 20, stream: Bool? = nil) {
        self.model = model
        self.baseURL = baseURL
        self.options = options
        self.environment = environment
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.stream = stream
    }
}

/// Maps provider names to factories. Adding a provider is one type plus one `register` call;
/// LLMKit itself never changes.
public struct ProviderRegistry: Sendable {
    /// Builds a provider from a configuration, or throws ``LLMError`` with kind `.configuration`.
    public typealias Factory = @Sendable (ProviderConfiguration) throws -> any LLMProvider

    /// One registration.
    public struct Entry: Sendable {
        public var name: String
        /// One line for `promptlab providers`.
        public var summary: String
        /// What it supports, when the registration says (`promptlab providers` shows `?` otherwise).
        public var features: ProviderFeatures?
        public var factory: Factory
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// Registers (or replaces) a provider under `name`.
    public mutating func register(_ name: String, summary: String, features: ProviderFeatures? = nil, factory: @escaping Factory) {
        entries[name] = Entry(name: name, summary: summary, features: features, factory: factory)
    }

    /// The registrations, sorted by name.
    public var all: [Entry] { entries.values.sorted { $0.name < $1.name } }

    /// Whether `name` is registered.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// Builds the provider registered as `name`.
    public func make(_ name: String, configuration: ProviderConfiguration) throws -> any LLMProvider {
        guard let entry = entries[name] else {
            let known = entries.keys.sorted().joined(separator: ", ")
            throw LLMError(.configuration, "Unknown provider '\(name)'; registered providers: \(known.isEmpty ? "none" : known).")
        }
        return try entry.factory(configuration)
    }
}

/// What a registered provider supports, in words for `promptlab providers`: how it constrains
/// answers to the schema, whether it gives next-token log-probabilities (the `logprob`
/// method), its batch API (`--batch-api`), and how its concurrency is known.
public struct ProviderFeatures: Sendable, Hashable {
    /// How answers are held to the schema (`json_schema (strict)`, `grammar`, `none`).
    public var structuredOutput: String
    /// Whether next-token log-probabilities are available.
    public var logProbabilities: Bool
    /// The batch API behind `--batch-api`, or `nil` when there is none.
    public var batchAPI: String?
    /// Where the number of parallel requests comes from (`--concurrency`, `/props` slots).
    public var slots: String

    public init(structuredOutput: String, logProbabilities: Bool, batchAPI: String? = nil, slots: String) {
        self.structuredOutput = structuredOutput
        self.logProbabilities = logProbabilities
        self.batchAPI = batchAPI
        self.slots = slots
    }
}
