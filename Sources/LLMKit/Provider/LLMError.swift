/// The one error type providers, middlewares and the pipeline throw.
///
/// A struct with a ``Kind`` and a ``Context`` (in the style of async-http-client's
/// `HTTPClientError`), so new context can be added without breaking `switch` statements.
/// Messages are one sentence a user can act on. ``isRetryable`` is what the retry middleware
/// asks; invalid output is not retryable at the HTTP level: the pipeline re-asks instead.
public struct LLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// 429: too many requests; `retryAfter` is the delay the server asked for, in seconds.
        case rateLimited(retryAfter: Double?)
        /// 429 `insufficient_quota`: no money left. Never retried.
        case quotaExhausted
        /// 401: missing or wrong API key.
        case authentication
        /// 403: the key may not use this model or endpoint.
        case permissionDenied
        /// 404: unknown model or endpoint.
        case notFound
        /// 400/422: the request itself is wrong.
        case badRequest
        /// 408/409: the server gave up or hit a conflict; worth another try.
        case conflict(status: Int)
        /// 5xx.
        case serverError(status: Int)
        /// The connect or total timeout passed.
        case timeout
        /// No HTTP answer: connection refused or reset, DNS, TLS, a body cut short.
        case transport
        /// The server is not ready yet (llama.cpp loading a model).
        case unavailable
        /// The answer was cut off (`finish_reason: length`).
        case truncatedOutput
        /// The model refused (`refusal`) or a content filter stopped it.
        case refusal
        /// The answer is not what the output contract asks for; `path` is a JSON pointer.
        case invalidOutput(path: String?)
        /// The provider is misconfigured (missing base URL, unknown provider name).
        case configuration
        /// The task was cancelled.
        case cancelled
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

        public init(provider: String? = nil, model: String? = nil, attempt: Int? = nil, httpStatus: Int? = nil, requestID: String? = nil) {
            self.provider = provider
            self.model = model
            self.attempt = attempt
            self.httpStatus = httpStatus
            self.requestID = requestID
        }
    }

    public var kind: Kind
    /// One sentence, e.g. "The API key was rejected; set OPENAI_API_KEY to a valid key."
    public var message: String
    public var context: Context
    /// The HTTP answer behind the error, when there was one (for recording and replay).
    public var raw: RawResponse?

    public init(_ kind: Kind, _ message: String, context: Context = Context(), raw: RawResponse? = nil) {
        self.kind = kind
        self.message = message
        self.context = context
        self.raw = raw
    }

    /// Whether sending the same request again may succeed: rate limits (not quota), 408/409,
    /// 5xx, timeouts, transport failures and a server still loading.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .conflict, .serverError, .timeout, .transport, .unavailable: true
        case .quotaExhausted, .authentication, .permissionDenied, .notFound, .badRequest,
            .truncatedOutput, .refusal, .invalidOutput, .configuration, .cancelled: false
        }
    }

    /// A short stable name for the kind (`rate_limited`, `invalid_output`, ...), for summaries and files.
    public var kindName: String {
        switch kind {
        case .rateLimited: "rate_limited"
        case .quotaExhausted: "quota_exhausted"
        case .authentication: "authentication"
        case .permissionDenied: "permission_denied"
        case .notFound: "not_found"
        case .badRequest: "bad_request"
        case .conflict: "conflict"
        case .serverError: "server_error"
        case .timeout: "timeout"
        case .transport: "transport"
        case .unavailable: "unavailable"
        case .truncatedOutput: "truncated_output"
        case .refusal: "refusal"
        case .invalidOutput: "invalid_output"
        case .configuration: "configuration"
        case .cancelled: "cancelled"
        }
    }

    public var description: String {
        var parts: [String] = []
        if let p = context.provider { parts.append(p) }
        if let m = context.model { parts.append(m) }
        if let s = context.httpStatus { parts.append("HTTP \(s)") }
        if let a = context.attempt { parts.append("attempt \(a)") }
        if let r = context.requestID { parts.append("request \(r)") }
        return parts.isEmpty ? message : "\(message) (\(parts.joined(separator: ", ")))"
    }
}
