import Foundation
/// Why generation stopped.
public enum FinishReason: Sendable, Hashable, CustomStringConvertible {
    case stop
    /// The token limit cut the answer off.
    case length
    /// A content filter stopped it.
    case contentFilter
    case toolCalls
    /// Anything else the provider said.
    case other(String)

    /// Maps the OpenAI/llama.cpp spelling.
    public init(_ raw: String) {
        switch raw {
        case "stop", "eos": self = .stop
        case "length": self = .length
        case "content_filter": self = .contentFilter
        case "tool_calls": self = .toolCalls
        default: self = .other(raw)
        }
    }

    public var description: String {
        switch self {
        case .stop: "stop"
        case .length: "length"
        case .contentFilter: "content_filter"
        case .toolCalls: "tool_calls"
        case .other(let s): s
        }
    }
}

/// Token counts as the provider reported them.
public struct TokenUsage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens served from a cache (OpenAI `cached_tokens`, llama.cpp `cache_n`).
    public var cachedTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0, cachedTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }

    public var totalTokens: Int { promptTokens + completionTokens }

    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens,
                   cachedTokens: a.cachedTokens + b.cachedTokens)
    }
}

/// Server-side timings (llama.cpp's `timings`), in milliseconds.
public struct ServerTimings: Sendable, Hashable {
    public var promptTokens: Int
    public var promptMilliseconds: Double
    public var predictedTokens: Int
    public var predictedMilliseconds: Double
    public var cachedTokens: Int

    public init(promptTokens: Int = 0, promptMilliseconds: Double = 0, predictedTokens: Int = 0,
                predictedMilliseconds: Double = 0, cachedTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.promptMilliseconds = promptMilliseconds
        self.predictedTokens = predictedTokens
        self.predictedMilliseconds = predictedMilliseconds
        self.cachedTokens = cachedTokens
    }
}

/// One candidate next token and its natural-log probability, as the server gave it.
public struct TokenProbability: Sendable, Hashable {
    /// The token's text, leading space included (`" angry"`).
    public var token: String
    public var logprob: Double
    public init(token: String, logprob: Double) {
        self.token = token
        self.logprob = logprob
    }
    /// `exp(logprob)`.
    public var probability: Double { exp(logprob) }
}

/// A model's answer, independent of any provider's wire format.
public struct CompletionResponse: Sendable, Hashable {
    /// The generated text (`nil` when the provider sent none, e.g. a refusal).
    public var text: String?
    public var finishReason: FinishReason
    /// The refusal message, when the model refused.
    public var refusal: String?
    public var usage: TokenUsage?
    public var timings: ServerTimings?
    /// The model that answered, as the server names it.
    public var model: String?
    /// OpenAI's `system_fingerprint`: the backend configuration that answered.
    public var systemFingerprint: String?
    /// Response headers that matter for retries, rate limits and support (lower-case names):
    /// see ``CompletionResponse/keptHeaderNames``.
    public var headers: [String: String]
    /// How many requests were sent for it (set by the retry middleware and a pool, which may
    /// send one attempt to several servers; 1 otherwise).
    public var attempts: Int
    /// The HTTP answer this was decoded from, when the provider speaks HTTP (for recording).
    public var raw: RawResponse?
    /// The most likely next tokens with their log-probabilities, most likely first, when the
    /// request asked for them (``CompletionRequest/topTokens``).
    public var nextTokens: [TokenProbability]?
    /// Whether the answer came from the response cache (no request was sent).
    public var servedFromCache = false
    /// Whether the answer's bytes were not valid UTF-8 (they were decoded with U+FFFD in
    /// place of the bad bytes; the items they touch fail with `invalid_utf8`).
    public var bodyWasInvalidUTF8 = false

    public init(text: String?, finishReason: FinishReason = .stop, refusal: String? = nil, usage: TokenUsage? = nil,
                timings: ServerTimings? = nil, model: String? = nil, headers: [String: String] = [:], attempts: Int = 1, raw: RawResponse? = nil) {
        self.text = text
        self.finishReason = finishReason
        self.refusal = refusal
        self.usage = usage
        self.timings = timings
        self.model = model
        self.headers = Self.keptHeaders(headers)
        self.attempts = attempts
        self.raw = raw
    }

    /// The response headers kept: request ids, retry and rate-limit headers. Never credentials.
    public static let keptHeaderNames: Set<String> = [
        "x-request-id", "openai-processing-ms", "openai-model", "retry-after", "retry-after-ms", "x-should-retry",
        "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests",
        "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
        // Anthropic's request id and rate-limit headers (its provider maps them onto the x-ratelimit-* names).
        "request-id", "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset",
    ]

    /// Filters headers down to ``keptHeaderNames``, lower-casing the names.
    public static func keptHeaders(_ headers: [String: String]) -> [String: String] {
        var kept: [String: String] = [:]
        for (name, value) in headers where keptHeaderNames.contains(name.lowercased()) { kept[name.lowercased()] = value }
        return kept
    }
}
