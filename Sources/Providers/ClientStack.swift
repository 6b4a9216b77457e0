public import Foundation
public import LLMKit

/// Builds a provider with its middlewares, ready for a run: the wiring every tool needs, in
/// one place (the CLI and a library user call the same thing).
///
/// Outermost first: cache ▶ retry ▶ rate limit ▶ record ▶ provider. A cached answer costs
/// nothing (no attempt, no rate-limit tokens); every attempt of a retry waits for the rate
/// limiter; every answer (errors included) is recorded in order.
public struct ClientStack: Sendable {
    /// Where answers are cached.
    public enum Cache: Sendable, Equatable {
        /// No cache.
        case off
        /// `$LLMKIT_CACHE_DIR`, `$XDG_CACHE_HOME/llmkit/responses` or `~/.cache/llmkit/responses`.
        case standard
        /// This folder.
        case at(URL)
    }

    /// The provider's registered name.
    public var provider: String
    public var configuration: ProviderConfiguration
    public var cache: Cache
    public var retry: RetryPolicy
    public var limits: RateLimits?
    /// Record every answer into this folder, in this mode.
    public var record: (directory: URL, mode: RecordMode)?
    /// Two or more endpoints make a pool (``PoolProvider``): one provider per endpoint, the
    /// configuration's base URL replaced by each endpoint's. One endpoint is that endpoint: the
    /// provider talks to its base URL (whatever the configuration or the environment says) and
    /// its maximum concurrency, when given, is the run's. None: the configuration's base URL.
    public var endpoints: [PoolEndpoint] = []
    /// The pool's circuit breaker and model check.
    public var pool = PoolSettings()

    public init(provider: String, configuration: ProviderConfiguration = ProviderConfiguration(), cache: Cache = .standard,
                retry: RetryPolicy = .forRun(), limits: RateLimits? = nil, record: (directory: URL, mode: RecordMode)? = nil) {
        self.provider = provider
        self.configuration = configuration
        self.cache = cache
        self.retry = retry
        self.limits = limits
        self.record = record
    }

    /// A ready client.
    public struct Prepared: Sendable {
        public var client: LLMClient
        public var capabilities: ProviderCapabilities
        /// The model to ask for: the one given, else the one the backend serves.
        public var model: String
        /// Who answers (``LLMProvider/identity``, else the configured base URL): the base URL the
        /// provider talks to, or a pool's endpoints (their sorted base URLs, space-separated).
        /// The run's fingerprint records it; the cache keeps answers under the identity only
        /// (a provider without one is not cached).
        public var baseURL: String?

        /// A client prepared elsewhere (a run whose method asks no model, a test).
        public init(client: LLMClient, capabilities: ProviderCapabilities, model: String, baseURL: String?) {
            self.client = client
            self.capabilities = capabilities
            self.model = model
            self.baseURL = baseURL
        }
    }

    /// Builds the provider from `registry`, waits until it is ready (``LLMProvider/prepare()``)
    /// and folds the middlewares around it. Throws ``LLMError`` (`.configuration` when no
    /// model is given and the backend names none).
    public func make(registry: ProviderRegistry) async throws -> Prepared {
        let live: any LLMProvider
        var configuration = configuration
        if endpoints.count == 1 { configuration.baseURL = endpoints[0].baseURL }
        if endpoints.count > 1 {
            let members = try endpoints.map { endpoint throws -> (PoolEndpoint, any LLMProvider) in
                var each = configuration
                each.baseURL = endpoint.baseURL
                return (endpoint, try registry.make(provider, configuration: each))
            }
            live = PoolProvider(id: ProviderID(provider), members: members, model: configuration.model, settings: pool)
        } else {
            live = try registry.make(provider, configuration: configuration)
        }
        var capabilities = try await live.prepare()
        if endpoints.count == 1, let limit = endpoints[0].maxConcurrency { capabilities.parallelSlots = limit }
        guard let model = configuration.model ?? capabilities.servedModel else {
            throw Self.missingModel(provider)
        }
        // Who answers: the provider says it (no cast to a known type). The fingerprint falls back
        // to the configured base URL; the cache and the recordings never share one provider's
        // answers with another's, so a provider that does not say who it is gets no cache.
        let identity = live.identity
        let baseURL = identity ?? configuration.baseURL
        var middlewares: [any ProviderMiddleware] = []
        if let root = cacheRoot, let identity {
            middlewares.append(CacheMiddleware(root: root, provider: provider, baseURL: identity))
        }
        middlewares.append(RetryMiddleware(policy: retry))
        if let limits, limits.requestsPerMinute != nil || limits.tokensPerMinute != nil {
            middlewares.append(RateLimitMiddleware(limiter: RateLimiter(limits: limits)))
        }
        if let record {
            middlewares.append(RecordingMiddleware(directory: record.directory, mode: record.mode, providerName: provider, identity: identity))
        }
        return Prepared(client: LLMClient(provider: live, middlewares: middlewares), capabilities: capabilities, model: model, baseURL: baseURL)
    }

    private var cacheRoot: URL? {
        switch cache {
        case .off: nil
        case .standard: CacheMiddleware.defaultRoot(environment: configuration.environment)
        case .at(let url): url
        }
    }
}

extension ClientStack {
    /// The error of a run that has no model name: none given, and the server names none.
    public static func missingModel(_ provider: String) -> LLMError {
        LLMError(.configuration, "The \(provider) provider needs a model name; none was given and the server names none.", context: .init(provider: provider, setting: .model))
    }
}
