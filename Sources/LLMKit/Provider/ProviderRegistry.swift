/// Settings a provider factory reads: what the CLI's provider options and the environment give.
public struct ProviderConfiguration: Sendable {
    /// The model name, when given.
    public var model: String?
    /// The server's base URL, when given.
    public var baseURL: String?
    /// Provider-specific options (`fixtures` directory, `record` mode, ...).
    public var options: [String: String]
    /// The environment to read keys and URLs from (a copy, so tests can supply their own).
    public var environment: [String: String]
    /// Seconds allowed for one request, when given.
    public var requestTimeout: Double?

    public init(model: String? = nil, baseURL: String? = nil, options: [String: String] = [:], environment: [String: String] = [:], requestTimeout: Double? = nil) {
        self.model = model
        self.baseURL = baseURL
        self.options = options
        self.environment = environment
        self.requestTimeout = requestTimeout
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
        public var factory: Factory
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// Registers (or replaces) a provider under `name`.
    public mutating func register(_ name: String, summary: String, factory: @escaping Factory) {
        entries[name] = Entry(name: name, summary: summary, factory: factory)
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
