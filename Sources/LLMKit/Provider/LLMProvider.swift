public import Logging

/// A provider's name as registered (`openai`, `llamacpp`, `fixture`, or a third party's).
public struct ProviderID: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }
}

/// What a provider can do, so the pipeline can choose batch sizes and schemas.
public struct ProviderCapabilities: Sendable, Hashable {
    /// Whether the provider constrains decoding to ``CompletionRequest/responseSchema``.
    public var constrainsOutput: Bool
    /// How many requests the provider serves at once (llama.cpp's slots), when known.
    public var parallelSlots: Int?
    /// The largest batch worth sending, when limited.
    public var maximumBatchSize: Int?

    public init(constrainsOutput: Bool = false, parallelSlots: Int? = nil, maximumBatchSize: Int? = nil) {
        self.constrainsOutput = constrainsOutput
        self.parallelSlots = parallelSlots
        self.maximumBatchSize = maximumBatchSize
    }
}

/// Something that answers a ``CompletionRequest``: an HTTP API adapter, a recording, a test double.
///
/// Implementations must be safe to call concurrently and throw ``LLMError`` (other errors are
/// wrapped as `.transport` by ``LLMClient``). See "Writing a provider" in the README.
public protocol LLMProvider: Sendable {
    /// The registered name.
    var id: ProviderID { get }
    var capabilities: ProviderCapabilities { get }
    /// Sends one request and returns the answer, or throws ``LLMError``.
    func complete(_ request: CompletionRequest) async throws -> CompletionResponse
    /// Called once before a run: wait until the backend is ready and report what it can do
    /// (llama.cpp: wait on `/health`, read the slot count). The default returns ``capabilities``.
    func prepare() async throws -> ProviderCapabilities
}

extension LLMProvider {
    public func prepare() async throws -> ProviderCapabilities { capabilities }
}

/// The rest of the chain after a middleware.
public typealias CompletionHandler = @Sendable (CompletionRequest) async throws -> CompletionResponse

/// One concern around a provider call: retry, rate limiting, recording, caching, logging,
/// fault injection. It may change the request, call `next` zero or more times, and change
/// the response (after swift-openapi-runtime's `ClientMiddleware`).
public protocol ProviderMiddleware: Sendable {
    func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse
}

/// A provider with its middlewares folded around it.
///
/// The first middleware is the outermost: `LLMClient(provider: p, middlewares: [a, b])`
/// calls `a`, which calls `b`, which calls `p`. Errors that are not ``LLMError`` are wrapped
/// as `.transport`, and cancellation as `.cancelled`, so callers see one error type.
public struct LLMClient: Sendable {
    public let provider: any LLMProvider
    public let middlewares: [any ProviderMiddleware]
    public let logger: Logger
    private let chain: CompletionHandler

    public init(provider: any LLMProvider, middlewares: [any ProviderMiddleware] = [],
                logger: Logger = Logger(label: "llmkit.client")) {
        self.provider = provider
        self.middlewares = middlewares
        self.logger = logger
        var next: CompletionHandler = { request in try await provider.complete(request) }
        for middleware in middlewares.reversed() {
            let inner = next
            next = { request in try await middleware.intercept(request, next: inner) }
        }
        self.chain = next
    }

    /// Sends `request` through the middlewares to the provider.
    public func complete(_ request: CompletionRequest) async throws(LLMError) -> CompletionResponse {
        do {
            try Task.checkCancellation()
            return try await chain(request)
        } catch let error as LLMError {
            throw error
        } catch is CancellationError {
            throw LLMError(.cancelled, "The request was cancelled.", context: .init(provider: provider.id.name, model: request.model))
        } catch {
            throw LLMError(.transport, "The provider failed: \(error).", context: .init(provider: provider.id.name, model: request.model))
        }
    }
}
