import Foundation
import Logging

/// Client-side limits: requests per minute and tokens per minute.
public struct RateLimits: Sendable, Hashable {
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public init(requestsPerMinute: Double? = nil, tokensPerMinute: Double? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }
}

/// Token buckets for RPM and TPM, shared by every concurrent caller of one client.
///
/// A caller reserves one request and the estimated tokens at once; the balance may go below
/// zero, and the caller then waits until refill brings it back, so waiters are served in
/// arrival order and nothing is sent that the limit would refuse. The estimate is corrected by
/// the usage the server reports. When the server sends `x-ratelimit-remaining-*` and
/// `x-ratelimit-reset-*`, the buckets follow it: never more optimistic than the server.
public actor RateLimiter {
    struct Bucket {
        var capacity: Double
        var balance: Double
        /// Per second.
        var refill: Double
        var updated: Duration

        mutating func advance(to now: Duration) {
            let elapsed = max(0, (now - updated).seconds)
            balance = min(capacity, balance + elapsed * refill)
            updated = now
        }

        /// How long until the balance is back to zero or above.
        func wait() -> Duration { balance >= 0 ? .zero : .seconds(double: -balance / refill) }
    }

    private var requests: Bucket?
    private var tokens: Bucket?
    private let clock: any MiddlewareClock
    /// The limits this limiter was made with.
    public let limits: RateLimits
    private let logger = Logger(label: "llmkit.ratelimit")

    public init(limits: RateLimits, clock: any MiddlewareClock = SystemMiddlewareClock()) {
        self.clock = clock
        self.limits = limits
        let now = clock.now()
        if let rpm = limits.requestsPerMinute, rpm > 0 { requests = Bucket(capacity: rpm, balance: rpm, refill: rpm / 60, updated: now) }
        if let tpm = limits.tokensPerMinute, tpm > 0 { tokens = Bucket(capacity: tpm, balance: tpm, refill: tpm / 60, updated: now) }
    }

    /// Reserves a request costing `estimatedTokens` and waits until the limits allow it,
    /// reporting the wait to the request's ``RequestObserver``.
    public func acquire(estimatedTokens: Int) async throws {
        let now = clock.now()
        requests?.advance(to: now)
        tokens?.advance(to: now)
        requests?.balance -= 1
        if let capacity = tokens?.capacity { tokens?.balance -= min(Double(estimatedTokens), capacity) }
        let wait = max(requests?.wait() ?? .zero, tokens?.wait() ?? .zero)
        if wait > .zero {
            if wait >= .seconds(2) { logger.info("waiting \(wait) for the client-side rate limit") }
            RequestObserver.current?.waiting(.rateLimit, for: wait)
            try await clock.sleep(for: wait)
        }
    }

    /// Corrects the token estimate with what the server counted.
    public func settle(estimatedTokens: Int, actualTokens: Int) {
        guard tokens != nil else { return }
        tokens!.advance(to: clock.now())
        tokens!.balance -= Double(actualTokens - estimatedTokens)
    }

    /// Follows the server's view of the limits (`x-ratelimit-remaining-*`, `x-ratelimit-reset-*`).
    public func observe(headers: [String: String]) {
        let now = clock.now()
        func follow(_ bucket: inout Bucket?, remaining: String, reset: String) {
            guard var b = bucket, let left = headers[remaining].flatMap(Double.init) else { return }
            b.advance(to: now)
            if left < b.balance { b.balance = left }
            if left <= 0, let resetIn = headers[reset].flatMap(RateLimitHeaders.goDuration) {
                // Empty until the server's window resets.
                b.balance = min(b.balance, -resetIn.seconds * b.refill)
            }
            bucket = b
        }
        follow(&requests, remaining: "x-ratelimit-remaining-requests", reset: "x-ratelimit-reset-requests")
        follow(&tokens, remaining: "x-ratelimit-remaining-tokens", reset: "x-ratelimit-reset-tokens")
    }

    /// The balances, for tests.
    package func balances() -> (requests: Double?, tokens: Double?) {
        let now = clock.now()
        requests?.advance(to: now)
        tokens?.advance(to: now)
        return (requests?.balance, tokens?.balance)
    }
}

/// Puts every request through a shared ``RateLimiter``: waits for room, sends, then corrects
/// the token estimate from the reported usage and follows the server's rate-limit headers.
public struct RateLimitMiddleware: ProviderMiddleware {
    public let limiter: RateLimiter

    public init(limiter: RateLimiter) { self.limiter = limiter }

    /// The tokens a request is expected to cost before it is sent: its text at about four
    /// characters a token, plus the token limit of the answer when one is set (as OpenAI counts it).
    public static func estimatedTokens(_ request: CompletionRequest) -> Int {
        let characters = request.messages.reduce(0) { $0 + $1.content.count } + (request.responseSchema?.schema.description.count ?? 0)
        return characters / 4 + 1 + (request.maxTokens ?? 0)
    }

    /// Why `request` could never be sent under these limits (its estimate is more tokens than
    /// a whole minute allows), or `nil` when it can.
    public func refusal(for request: CompletionRequest) -> String? {
        let estimate = Self.estimatedTokens(request)
        guard let tpm = limiter.limits.tokensPerMinute, Double(estimate) > tpm else { return nil }
        return "one request of a full batch is estimated at \(estimate) tokens (its prompt and answer budget), more than the \(Int(tpm)) tokens per minute allowed: it would wait forever; raise the token limit or lower the batch size or the token budget"
    }

    public func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        let estimate = Self.estimatedTokens(request)
        try await limiter.acquire(estimatedTokens: estimate)
        do {
            let response = try await next(request)
            await limiter.observe(headers: response.headers)
            if let usage = response.usage { await limiter.settle(estimatedTokens: estimate, actualTokens: usage.totalTokens) }
            return response
        } catch let error as LLMError {
            if let headers = error.raw?.headers { await limiter.observe(headers: headers) }
            throw error
        }
    }
}
