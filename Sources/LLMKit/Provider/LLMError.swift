/// The one error type providers, middlewares and the pipeline throw.
///
/// A struct with a ``Kind`` and a ``Context``, in the style of async-http-client's
/// `HTTPClientError`: ``Kind`` is a struct of static members over a private enum, so a new
/// kind breaks no client's `switch` (match with `==` or `~=`, as in `case .rateLimited:`).
/// Messages are one sentence a user can act on and name no command-line flag (a tool adds its
/// own hint). ``isRetryable`` is what the retry middleware asks; invalid output is not
/// retryable at the HTTP level: the pipeline re-asks instead. An error thrown by code outside
/// this package (a third party's provider) is wrapped as ``Kind/transport`` with the original
/// in ``underlyingError``.
public struct LLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong. Compare with `==` or `switch` over the static members; new kinds may
    /// be added in any release.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Code: String, Sendable, Hashable, CaseIterable {
            case rateLimited = "rate_limited", quotaExhausted = "quota_exhausted", authentication
            case permissionDenied = "permission_denied", notFound = "not_found", badRequest = "bad_request"
            case conflict, serverError = "server_error", timeout, transport, unavailable
            case responseTooLarge = "response_too_large", truncatedOutput = "truncated_output", refusal
            case invalidOutput = "invalid_output", configuration, cancelled
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// 429: too many requests (``LLMError/retryAfter`` holds the delay the server asked for).
        public static let rateLimited = Kind(.rateLimited)
        /// 429 `insufficient_quota`: no money left. Never retried; stops a run.
        public static let quotaExhausted = Kind(.quotaExhausted)
        /// 401: missing or wrong API key. Stops a run.
        public static let authentication = Kind(.authentication)
        /// 403: the key may not use this model or endpoint. Stops a run.
        public static let permissionDenied = Kind(.permissionDenied)
        /// 404: unknown model or endpoint. Stops a run.
        public static let notFound = Kind(.notFound)
        /// 400/422 or another 4xx: the request itself is wrong.
        public static let badRequest = Kind(.badRequest)
        /// 408/409: the server gave up or hit a conflict; worth another try.
        public static let conflict = Kind(.conflict)
        /// 5xx (the status is in ``Context/httpStatus``).
        public static let serverError = Kind(.serverError)
        /// The connect or total timeout passed, or the answer stalled.
        public static let timeout = Kind(.timeout)
        /// No HTTP answer: connection refused or reset, DNS, TLS, a body cut short, or an error
        /// thrown by a provider that is not an ``LLMError``.
        public static let transport = Kind(.transport)
        /// The server is not ready yet (llama.cpp loading a model).
        public static let unavailable = Kind(.unavailable)
        /// The answer was larger than the configured maximum; receiving stopped there.
        public static let responseTooLarge = Kind(.responseTooLarge)
        /// The answer was cut off (`finish_reason: length`).
        public static let truncatedOutput = Kind(.truncatedOutput)
        /// The model refused (`refusal`) or a content filter stopped it.
        public static let refusal = Kind(.refusal)
        /// The answer is not what was asked for (not a chat completion, not the output contract).
        public static let invalidOutput = Kind(.invalidOutput)
        /// The provider is misconfigured (missing base URL, unknown provider name, no model).
        public static let configuration = Kind(.configuration)
        /// The task was cancelled.
        public static let cancelled = Kind(.cancelled)

        /// The stable name used in files and summaries (`rate_limited`, `server_error`, ...).
        public var name: String { code.rawValue }
        public var description: String { code.rawValue }

        /// The kind with this stable name, or `nil`.
        public init?(name: String) {
            guard let code = Code(rawValue: name) else { return nil }
            self.code = code
        }

        /// Every kind, in declaration order.
        public static var all: [Kind] { Code.allCases.map(Kind.init) }

        /// Whether another attempt of the same request may succeed.
        public var isRetryable: Bool {
            switch code {
            case .rateLimited, .conflict, .serverError, .timeout, .transport, .unavailable: true
            default: false
            }
        }

        /// Whether no other request of the same run can succeed either (wrong key, no access,
        /// unknown model, no quota): a run stops at the first one instead of failing every item.
        public var isFatal: Bool {
            switch code {
            case .authentication, .permissionDenied, .notFound, .quotaExhausted, .configuration: true
            default: false
            }
        }
    }

    /// A setting a ``Kind/configuration`` error is about (``Context/setting``). New values may
    /// be added; a provider may define its own.
    public struct Setting: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No model name was given and the server names none.
        public static let model = Setting("model")
        /// No usable recordings folder.
        public static let fixtures = Setting("fixtures")
        /// No recording for a request.
        public static let recording = Setting("recording")
    }

    /// Where it happened.
    public struct Context: Sendable, Equatable {
        public var provider: String?
        public var model: String?
        /// 1-based attempt number, when known.
        public var attempt: Int?
        public var httpStatus: Int?
        /// The server's request id (`x-request-id`), for support tickets.
        public var requestID: String?
        /// For a ``Kind/configuration`` error, the setting that is missing or wrong, so a tool
        /// can name its own option.
        public var setting: Setting?

        public init(provider: String? = nil, model: String? = nil, attempt: Int? = nil, httpStatus: Int? = nil, requestID: String? = nil,
                    setting: Setting? = nil) {
            self.provider = provider
            self.model = model
            self.attempt = attempt
            self.httpStatus = httpStatus
            self.requestID = requestID
            self.setting = setting
        }
    }

    public var kind: Kind
    /// One sentence, e.g. "openai rejected the credentials: Incorrect API key provided." Capped
    /// at ``maximumMessageLength`` and scrubbed of registered secrets (``SecretRedactor``).
    public var message: String {
        didSet { message = Self.clean(message) }
    }
    public var context: Context
    /// The delay the server asked for before another attempt (`retry-after-ms`, `retry-after`
    /// in seconds or as an HTTP date), when it said.
    public var retryAfter: Duration?
    /// The HTTP answer behind the error, when there was one (for recording and replay).
    public var raw: RawResponse?
    /// The error this one wraps (a third party's provider error, a file system error), if any.
    public var underlyingError: (any Error)?

    /// The longest message kept; a server that puts a megabyte into `error.message` does not
    /// get it copied into every failed line.
    public static let maximumMessageLength = 1024

    public init(_ kind: Kind, _ message: String, context: Context = Context(), retryAfter: Duration? = nil,
                raw: RawResponse? = nil, underlyingError: (any Error)? = nil) {
        self.kind = kind
        self.message = Self.clean(message)
        self.context = context
        self.retryAfter = retryAfter
        self.raw = raw
        self.underlyingError = underlyingError
    }

    private static func clean(_ text: String) -> String {
        SecretRedactor.shared.scrub(TextLimit.capped(text, maximumMessageLength))
    }

    /// Whether sending the same request again may succeed: rate limits (not quota), 408/409,
    /// 5xx, timeouts, transport failures and a server still loading.
    public var isRetryable: Bool { kind.isRetryable }

    /// Same kind, message and context (the underlying error is not compared).
    public static func == (a: LLMError, b: LLMError) -> Bool {
        a.kind == b.kind && a.message == b.message && a.context == b.context && a.retryAfter == b.retryAfter && a.raw == b.raw
    }

    public var description: String {
        var parts: [String] = []
        if let p = context.provider { parts.append(p) }
        if let m = context.model { parts.append(m) }
        if let s = context.httpStatus { parts.append("HTTP \(s)") }
        if let a = context.attempt { parts.append(a == 1 ? "1 attempt" : "\(a) attempts") }
        if let r = context.requestID { parts.append("request \(r)") }
        return parts.isEmpty ? message : "\(message) (\(parts.joined(separator: ", ")))"
    }

    /// Runs `body`, turning any error that is not an ``LLMError`` into one: cancellation
    /// becomes ``Kind/cancelled``, anything else ``Kind/transport`` with the original as
    /// ``underlyingError`` (as swift-openapi-runtime's `UniversalClient` wraps transport
    /// errors), so the retry middleware and the pipeline see one error type.
    public static func wrapping<T>(provider: String? = nil, model: String? = nil,
                                   _ body: () async throws -> T) async throws(LLMError) -> T {
        do {
            return try await body()
        } catch let error as LLMError {
            throw error
        } catch is CancellationError {
            throw LLMError(.cancelled, "The request was cancelled.", context: .init(provider: provider, model: model))
        } catch {
            throw LLMError(.transport, "The provider failed: \(error).", context: .init(provider: provider, model: model), underlyingError: error)
        }
    }
}
