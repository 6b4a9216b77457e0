/// A provider's name as registered (`openai`, `llamacpp`, `fixture`, or a third party's).
public struct ProviderID: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }
}

/// What a provider can do, so the pipeline can choose chunk sizes and concurrency.
public struct ProviderCapabilities: Sendable, Hashable {
    /// Whether the provider constrains decoding to ``CompletionRequest/responseSchema``.
    public var constrainsOutput: Bool
    /// How many requests the provider serves at once (llama.cpp's slots), when known.
    public var parallelSlots: Int?
    /// The largest chunk worth sending, when limited.
    public var maximumChunkSize: Int?
    /// The model the backend serves, when it says (llama.cpp's `/props`, the recordings of a
    /// fixture folder): the default when no model is given.
    public var servedModel: String?
    /// Whether the provider answers next-token requests (``CompletionRequest/topTokens``)
    /// with ``CompletionResponse/nextTokens``: what the `logprob` method needs.
    public var nextTokenProbabilities: Bool

    public init(constrainsOutput: Bool = false, parallelSlots: Int? = nil, maximumChunkSize: Int? = nil, servedModel: String? = nil,
                nextTokenProbabilities: Bool = false) {
        self.constrainsOutput = constrainsOutput
        self.parallelSlots = parallelSlots
        self.maximumChunkSize = maximumChunkSize
        self.servedModel = servedModel
        self.nextTokenProbabilities = nextTokenProbabilities
    }
}

/// Something that answers a ``CompletionRequest``: an HTTP API adapter, a recording, a local
/// model, a rule written in Swift.
///
/// ## Writing a provider
///
/// A provider is one type and one registration line; LLMKit itself never changes.
///
/// 1. Conform a `Sendable` type (a struct is best) and give it an ``id`` (the name users pass
///    to `--provider`) and ``capabilities``.
/// 2. Implement ``complete(_:)``: turn the request into whatever your backend wants, and its
///    answer into a ``CompletionResponse``. The rendered prompt is in
///    ``CompletionRequest/messages``; a relabel chunk's items are also in
///    ``CompletionRequest/items`` in structured form, so a provider need not parse the prompt.
///    Put the model's text in ``CompletionResponse/text`` exactly as it came (the pipeline
///    extracts, validates and renormalises it: do not repair anything), and say why it
///    stopped (``FinishReason/length`` when a token limit cut it: the pipeline then splits the
///    chunk). Report ``TokenUsage`` when you know it.
/// 3. Throw ``LLMError`` with the right ``LLMError/Kind``: retries and the run's stop rules
///    depend on it (``LLMError/Kind/isRetryable``, ``LLMError/Kind/isFatal``). Any other error
///    is wrapped as ``LLMError/Kind/transport`` with the original in
///    ``LLMError/underlyingError``, and retried.
/// 4. Optionally implement ``prepare()``: wait until the backend is ready and report what it
///    can do (slot count, the served model), and ``identity``: the server you talk to, when
///    answers depend on it (the cache and the run's fingerprint key on it).
/// 5. Register it: `registry.register("mine", summary: "...") { config in MyProvider(...) }`,
///    and build your own `promptlab` with `PromptLabCLI.main(registry:)` (see
///    `Examples/CustomProvider`).
///
/// Implementations must be safe to call concurrently. Retries, rate limits, caching and
/// recording are middlewares (``ProviderMiddleware``): do not build them in. Check yours with
/// `ProviderConformance` from the `LLMKitTestSupport` library.
public protocol LLMProvider: Sendable {
    /// The registered name.
    var id: ProviderID { get }
    var capabilities: ProviderCapabilities { get }
    /// Who answers, when more than the provider's name and the request decide the answer: the
    /// endpoint (an HTTP provider's base URL), a pool's set of endpoints, or anything else that
    /// changes the answers to the same request. The response cache keeps answers per provider
    /// name and identity, and a run's fingerprint records it as the run's base URL, so one
    /// server's answers are never served as another's and `--resume` goes on only against the
    /// same one. Providers with the same name and identity must give interchangeable answers.
    /// The default, `nil`, says the name and the request are all that matter (a tool that also
    /// knows a configured base URL may use that instead).
    var identity: String? { get }
    /// Sends one request and returns the answer, or throws (preferably ``LLMError``).
    func complete(_ request: CompletionRequest) async throws -> CompletionResponse
    /// Called once before a run: wait until the backend is ready and report what it can do
    /// (llama.cpp: wait on `/health`, read the slot count). The default returns ``capabilities``.
    func prepare() async throws -> ProviderCapabilities
}

extension LLMProvider {
    public func prepare() async throws -> ProviderCapabilities { capabilities }
    /// `nil`: the provider's name and the request decide its answers.
    public var identity: String? { nil }
}

/// A provider that can say which models its server serves: an endpoint pool asks each of its
/// endpoints before a run and refuses a pool whose servers serve different models (see
/// `PoolProvider` in the Providers library). Any provider may adopt it, a third party's too;
/// the pool asks through this protocol, never by casting to a known type.
///
/// The built-in HTTP providers adopt it: `openai` (`GET {base}/models`, `data[].id`),
/// `anthropic` (`GET {base}/v1/models`, `data[].id`, page by page) and `gemini`
/// (`GET {base}/v1beta/models`, `models[].name` without its `models/` prefix, page by page).
/// A provider that learns its model another way (llama.cpp's `/props`) reports it as
/// ``ProviderCapabilities/servedModel`` from ``LLMProvider/prepare()`` instead.
public protocol ModelListing: LLMProvider {
    /// The model names the server serves, as a request's ``CompletionRequest/model`` names
    /// them (the one a server would choose by default first, when it has one). Throws
    /// ``LLMError`` when the server does not answer with a list: a status of 400 to 499 in
    /// ``LLMError/Context/httpStatus`` says it has no such list (many OpenAI-compatible
    /// servers have none); any other failure says it could not be asked.
    func listModels() async throws -> [String]
}

/// The rest of the chain after a middleware.
public typealias CompletionHandler = @Sendable (CompletionRequest) async throws -> CompletionResponse

/// One concern around a provider call: retry, rate limiting, recording, caching, logging,
/// fault injection. It may change the request, call `next` zero or more times, and change
/// the response (after swift-openapi-runtime's `ClientMiddleware`). Errors from `next` are
/// always ``LLMError``s.
public protocol ProviderMiddleware: Sendable {
    func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse
}

/// A provider with its middlewares folded around it.
///
/// The first middleware is the outermost: `LLMClient(provider: p, middlewares: [a, b])`
/// calls `a`, which calls `b`, which calls `p`. Errors the provider throws that are not
/// ``LLMError`` are wrapped at the innermost step (as `.transport`, with
/// ``LLMError/underlyingError``; cancellation as `.cancelled`), so every middleware, the
/// retry middleware included, sees one error type.
public struct LLMClient: Sendable {
    public let provider: any LLMProvider
    public let middlewares: [any ProviderMiddleware]
    private let chain: CompletionHandler

    public init(provider: any LLMProvider, middlewares: [any ProviderMiddleware] = []) {
        self.provider = provider
        self.middlewares = middlewares
        let name = provider.id.name
        var next: CompletionHandler = { request in
            try await LLMError.wrapping(provider: name, model: request.model) { try await provider.complete(request) }
        }
        for middleware in middlewares.reversed() {
            let inner = next
            next = { request in try await middleware.intercept(request, next: inner) }
        }
        self.chain = next
    }

    /// Sends `request` through the middlewares to the provider.
    public func complete(_ request: CompletionRequest) async throws(LLMError) -> CompletionResponse {
        let name = provider.id.name
        return try await LLMError.wrapping(provider: name, model: request.model) {
            try Task.checkCancellation()
            return try await chain(request)
        }
    }
}
