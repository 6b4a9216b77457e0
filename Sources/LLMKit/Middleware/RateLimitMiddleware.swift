import Foundation
import Logging

/// Client-side limits: requests per minute and tokens per minute.
public struct RateLimits: Sendable, Hashable {
    /// Requests per minute (`nil`: no request limit).
    public var requestsPerMinute: Double?
    /// Tokens per minute, counted as the server counts them (`nil`: no token limit).
    public var tokensPerMinute: Double?
    /// Limits; `nil` leaves that dimension unlimited.
    public init(requestsPerMinute: Double? = nil, tokensPerMinute: Double? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }
}

/// Paces requests to requests-per-minute and tokens-per-minute limits, shared by every
/// concurrent caller of one client, the way OpenAI enforces them (REFERENCE.md section 4):
/// limits per minute may act per second (600 RPM as 10 requests a second), so a burst at the
/// start of a minute is refused.
///
/// Pacing, not a bucket: each request reserves the next free start time (one request every
/// 60/RPM seconds, and its tokens at TPM/60 a second), so there is no burst at the start and in
/// any second at most the per-second share plus one request goes out; with enough requests
/// waiting, the limit is used to 98% (`headroom`). The 2% left is what keeps a server that
/// enforces the limit per second from refusing a request that arrives a few milliseconds early
/// because the one before it was sent a few milliseconds late: a request costing more than a
/// second's share of tokens is only admitted once the bucket is full again, so without slack
/// every bit of jitter is a 429 (measured: 37% of requests refused at 100% pacing, none at 98%).
/// Tokens are counted as the server counts them when the request arrives (the prompt's
/// estimate plus the answer's token limit, not the tokens later generated). Every answer's
/// `x-ratelimit-remaining-*` / `reset-*` headers are followed: when the server had less left
/// than the pacing assumes (another client on the same key), the next start moves to when it
/// has refilled, counted from when the request was sent (the server measured then, not when
/// the answer arrived). After a 429 the next start moves to when the server said it would
/// accept again, for every caller, and not further.
public actor RateLimiter {
    nonisolated let clock: any MiddlewareClock
    /// The limits this limiter was made with.
    public let limits: RateLimits
    private let requestInterval: Duration?
    private let tokensPerSecond: Double?
    /// The earliest start of the next request, by the request limit and by the token limit.
    private var nextByRequests: Duration
    private var nextByTokens: Duration
    private let logger = Logger(label: "llmkit.ratelimit")

    /// The share of each limit the pacing uses.
    package static let headroom = 0.98

    /// A limiter pacing to `limits` on `clock`.
    public init(limits: RateLimits, clock: any MiddlewareClock = SystemMiddlewareClock()) {
        self.clock = clock
        self.limits = limits
        requestInterval = limits.requestsPerMinute.flatMap { $0 > 0 ? .seconds(double: 60 / ($0 * Self.headroom)) : nil }
        tokensPerSecond = limits.tokensPerMinute.flatMap { $0 > 0 ? $0 * Self.headroom / 60 : nil }
        let now = clock.now()
        nextByRequests = now
        nextByTokens = now
    }

    /// Reserves the next start for a request costing `estimatedTokens` and waits for it,
    /// reporting the wait to the request's ``RequestObserver``.
    package func acquire(estimatedTokens: Int) async throws {
        let wait = reserve(estimatedTokens: estimatedTokens)
        guard wait > .zero else { return }
        if wait >= .seconds(2) { logger.info("waiting \(wait) for the client-side rate limit") }
        RequestObserver.current?.waiting(.rateLimit, for: wait)
        try await clock.sleep(for: wait)
    }

    /// Reserves the next start and returns how long to wait for it.
    func reserve(estimatedTokens: Int) -> Duration {
        let now = clock.now()
        var start = now
        if requestInterval != nil { start = max(start, nextByRequests) }
        if tokensPerSecond != nil { start = max(start, nextByTokens) }
        if let requestInterval { nextByRequests = start + requestInterval }
        if let tokensPerSecond { nextByTokens = start + .seconds(double: Double(max(0, estimatedTokens)) / tokensPerSecond) }
        return start - now
    }

    /// Follows the server's view: when it had less left than one request needs (no request, or
    /// fewer tokens than `typicalTokens`), nothing starts before the server has refilled that
    /// much (at its limit's per-second rate, from `x-ratelimit-limit-*`; at its reset when it
    /// names no limit), counted from `sent`, when the request left (the server measured what
    /// was left when the request arrived, not when its answer got here); a `retry-after` on a
    /// refusal holds every caller until then.
    package func observe(headers: [String: String], refused: Bool = false, typicalTokens: Int = 0, sent: Duration? = nil) {
        let now = clock.now()
        let measured = min(sent ?? now, now)
        func refill(_ kind: String, needed: Double) -> Duration? {
            guard let left = headers["x-ratelimit-remaining-\(kind)"].flatMap(Double.init), left < needed else { return nil }
            if let limit = headers["x-ratelimit-limit-\(kind)"].flatMap(Double.init), limit > 0 {
                return .seconds(double: (needed - left) / (limit / 60))
            }
            return headers["x-ratelimit-reset-\(kind)"].flatMap(RateLimitHeaders.goDuration)
        }
        if let wait = refill("requests", needed: 1) { nextByRequests = max(nextByRequests, measured + wait) }
        if let wait = refill("tokens", needed: Double(max(1, typicalTokens))) { nextByTokens = max(nextByTokens, measured + wait) }
        if refused, let delay = RateLimitHeaders.requestedDelay(headers, now: clock.wallTime()) {
            nextByRequests = max(nextByRequests, now + delay)
            nextByTokens = max(nextByTokens, now + delay)
        }
    }

    /// How far ahead the next starts are, for tests.
    package func backlog() -> (requests: Duration, tokens: Duration) {
        let now = clock.now()
        return (max(.zero, nextByRequests - now), max(.zero, nextByTokens - now))
    }
}

/// Puts every request through a shared ``RateLimiter``: waits for its start, sends, and
/// follows the server's rate-limit headers on answers and refusals alike.
public struct RateLimitMiddleware: ProviderMiddleware {
    /// The limiter shared by every caller of the client.
    public let limiter: RateLimiter

    /// A middleware pacing requests through `limiter` (share one limiter between the
    /// middlewares of clients that spend the same limits).
    public init(limiter: RateLimiter) { self.limiter = limiter }

    /// The tokens a request counts against a token limit when it arrives, as OpenAI estimates
    /// it (and the fault server counts it): the UTF-8 bytes of the messages' text at 4 bytes a
    /// token, 4 tokens per message, plus the answer's token limit.
    package static func estimatedTokens(_ request: CompletionRequest) -> Int {
        let bytes = request.messages.reduce(0) { $0 + $1.content.utf8.count }
        return (bytes + 3) / 4 + 4 * request.messages.count + (request.maxTokens ?? 0)
    }

    /// Why `request` could never be sent under these limits (its estimate is more tokens than
    /// a whole minute allows), or `nil` when it can.
    package func refusal(for request: CompletionRequest) -> String? {
        let estimate = Self.estimatedTokens(request)
        guard let tpm = limiter.limits.tokensPerMinute, Double(estimate) > tpm else { return nil }
        return "one request of a full chunk is estimated at \(estimate) tokens (its prompt and answer budget), more than the \(Int(tpm)) tokens per minute allowed: it would wait forever; raise the token limit or lower the items per request or the token budget"
    }

    /// Waits for the request's start, sends it and follows the rate-limit headers of the
    /// answer or refusal.
    public func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        let estimate = Self.estimatedTokens(request)
        try await limiter.acquire(estimatedTokens: estimate)
        let sent = limiter.clock.now()
        do {
            let response = try await next(request)
            await limiter.observe(headers: response.headers, typicalTokens: estimate, sent: sent)
            return response
        } catch let error as LLMError {
            if let headers = error.raw?.headers {
                await limiter.observe(headers: headers, refused: error.kind == .rateLimited, typicalTokens: estimate, sent: sent)
            }
            throw error
        }
    }
}
