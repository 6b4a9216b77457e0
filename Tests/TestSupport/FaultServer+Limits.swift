import Foundation
public import LLMKit

// OpenAI-style rate limits (REFERENCE.md 4, "How the limits behave"): limits per minute for
// requests and for tokens, possibly enforced over shorter periods (600 RPM acting as 10
// requests per second), tokens counted when the request arrives as its prompt plus its
// `max_tokens`/`max_completion_tokens`, and `x-ratelimit-*` headers on every answer saying
// what is left now.

extension FaultServer {
    /// OpenAI-style limits, enforced as two continuous token buckets (one for requests, one
    /// for tokens).
    ///
    /// Each bucket refills continuously at `limit / 60` per second. Its capacity is the whole
    /// per-minute limit with ``Window/minute`` (a full bucket allows a burst of a minute's
    /// worth) or the per-second share `limit / 60` with ``Window/second`` (600 RPM then admits
    /// about 10 requests in any one second, and a burst at the start of a minute is refused).
    ///
    /// A request is admitted when every bucket holds at least `min(cost, capacity)`; its cost
    /// is then taken, so a request larger than a per-second bucket empties it into debt and
    /// the next one waits until the debt is repaid (the long-run rate still equals the limit).
    /// A request costing more tokens than the whole per-minute limit can never pass: it gets a
    /// 429 "Request too large" without a retry hint, as OpenAI answers it. A refused request
    /// costs nothing. An unset limit is not enforced and its headers are not sent.
    ///
    /// The token cost of a request is ``FaultServer/estimatedPromptTokens(messages:tokensPerMessage:)``
    /// plus `max_completion_tokens`, else `max_tokens`, else ``defaultMaxTokens``.
    public struct RateLimits: Sendable, Equatable {
        /// The period a limit is enforced over.
        public enum Window: String, Sendable, CaseIterable {
            /// A bucket holds a whole minute's limit.
            case minute
            /// A bucket holds the per-second share of the limit (`limit / 60`).
            case second
        }

        /// Requests per minute (RPM); `nil`: not limited.
        public var requestsPerMinute: Int?
        /// Tokens per minute (TPM); `nil`: not limited.
        public var tokensPerMinute: Int?
        /// The period the limits are enforced over.
        public var window: Window
        /// The completion budget counted for a request that sets neither `max_completion_tokens`
        /// nor `max_tokens`.
        public var defaultMaxTokens: Int
        /// Tokens counted per message on top of its text (role and framing).
        public var tokensPerMessage: Int

        /// Limits of `requestsPerMinute` and `tokensPerMinute` (`nil`: not limited) over `window`.
        public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, window: Window = .minute,
                    defaultMaxTokens: Int = 4096, tokensPerMessage: Int = 4) {
            self.requestsPerMinute = requestsPerMinute
            self.tokensPerMinute = tokensPerMinute
            self.window = window
            self.defaultMaxTokens = defaultMaxTokens
            self.tokensPerMessage = tokensPerMessage
        }
    }

    /// The server's estimate of a prompt's tokens: the UTF-8 bytes of every message's text
    /// (a string `content`, or the `text` of each content part) divided by 4 and rounded up,
    /// plus `tokensPerMessage` for each message. Not a tokenizer: about 4 bytes a token for
    /// English, as OpenAI's rule of thumb says.
    public static func estimatedPromptTokens(messages: [JSONValue], tokensPerMessage: Int = 4) -> Int {
        var bytes = 0
        for message in messages {
            switch message["content"] {
            case .string(let text): bytes += text.utf8.count
            case .array(let parts): for part in parts { bytes += part["text"]?.stringValue?.utf8.count ?? 0 }
            default: break
            }
        }
        return (bytes + 3) / 4 + tokensPerMessage * messages.count
    }

    /// The tokens a chat-completion body costs when it arrives: the estimated prompt plus
    /// `max_completion_tokens`, else `max_tokens`, else `limits.defaultMaxTokens`.
    public static func requestTokenCost(_ body: JSONValue, limits: RateLimits) -> Int {
        let messages = body["messages"]?.arrayValue ?? []
        let budget = body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue ?? limits.defaultMaxTokens
        return estimatedPromptTokens(messages: messages, tokensPerMessage: limits.tokensPerMessage) + max(0, budget)
    }

    /// A Go-style duration as OpenAI writes `x-ratelimit-reset-*`: `0s`, `20ms`, `1s`, `1.5s`,
    /// `6m0s`, `1h2m3.5s`. Rounded up to the millisecond, so a client that waits this long is
    /// never early.
    public static func goDuration(_ seconds: Double) -> String {
        let ms = Int((max(0, seconds) * 1000 - 1e-6).rounded(.up))
        if ms <= 0 { return "0s" }
        if ms < 1000 { return "\(ms)ms" }
        let hours = ms / 3_600_000, minutes = (ms / 60_000) % 60, rest = ms % 60_000
        var text = ""
        if hours > 0 { text += "\(hours)h" }
        if hours > 0 || minutes > 0 { text += "\(minutes)m" }
        text += "\(rest / 1000)"
        if rest % 1000 > 0 {
            var fraction = String(rest % 1000 + 1000).dropFirst()
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "s"
    }

    /// The two buckets of ``RateLimits``, advanced by explicit times (seconds) so they can be
    /// tested without sleeping.
    public struct Limiter: Sendable {
        /// One continuous token bucket.
        public struct Bucket: Sendable, Equatable {
            /// The per-minute limit it enforces.
            public var limit: Int
            /// What a full bucket holds.
            public var capacity: Double
            /// Refill per second (`limit / 60`).
            public var rate: Double
            /// What it holds now; negative while a large request's debt is repaid.
            public var balance: Double
            var updated: Double

            init(limit: Int, window: RateLimits.Window, now: Double) {
                self.limit = limit
                capacity = window == .minute ? Double(limit) : Double(limit) / 60
                rate = Double(limit) / 60
                balance = capacity
                updated = now
            }

            mutating func advance(to now: Double) {
                if now > updated { balance = min(capacity, balance + rate * (now - updated)) }
                updated = max(updated, now)
            }

            /// Seconds until `cost` would be admitted (0: now).
            func wait(for cost: Double) -> Double {
                let need = min(cost, capacity)
                return balance + 1e-9 >= need ? 0 : (need - balance) / rate
            }

            /// Whole units left now.
            public var remaining: Int { max(0, Int(balance.rounded(.down))) }
            /// Seconds until the bucket is full again.
            public var secondsUntilFull: Double { max(0, (capacity - balance) / rate) }
        }

        /// What the limiter said about one request.
        public struct Decision: Sendable {
            /// Whether the request was admitted (and its cost taken).
            public var admitted: Bool
            /// For a refusal: seconds until the same request would be admitted; `nil` when it
            /// never can (more tokens than the per-minute limit).
            public var retryAfter: Double?
            /// For a refusal: the limit that refused it (`requests` or `tokens`).
            public var exhausted: String?
            /// The request's token cost.
            public var tokens: Int
            /// The requests bucket after the decision (`nil`: not limited).
            public var requests: Bucket?
            /// The tokens bucket after the decision (`nil`: not limited).
            public var tokenBucket: Bucket?

            /// The six `x-ratelimit-*` headers (those of unset limits left out).
            public var headers: [(String, String)] {
                var headers: [(String, String)] = []
                if let b = requests { headers.append(("x-ratelimit-limit-requests", String(b.limit))) }
                if let b = tokenBucket { headers.append(("x-ratelimit-limit-tokens", String(b.limit))) }
                if let b = requests { headers.append(("x-ratelimit-remaining-requests", String(b.remaining))) }
                if let b = tokenBucket { headers.append(("x-ratelimit-remaining-tokens", String(b.remaining))) }
                if let b = requests { headers.append(("x-ratelimit-reset-requests", FaultServer.goDuration(b.secondsUntilFull))) }
                if let b = tokenBucket { headers.append(("x-ratelimit-reset-tokens", FaultServer.goDuration(b.secondsUntilFull))) }
                return headers
            }
        }

        /// The limits enforced.
        public let limits: RateLimits
        /// The requests bucket (`nil`: requests not limited).
        public private(set) var requests: Bucket?
        /// The tokens bucket (`nil`: tokens not limited).
        public private(set) var tokens: Bucket?

        /// Full buckets at `now`.
        public init(_ limits: RateLimits, now: Double) {
            self.limits = limits
            requests = limits.requestsPerMinute.map { Bucket(limit: $0, window: limits.window, now: now) }
            tokens = limits.tokensPerMinute.map { Bucket(limit: $0, window: limits.window, now: now) }
        }

        /// The `x-ratelimit-*` headers at `now`, taking nothing (for answers that cost nothing).
        public func headers(at now: Double) -> [(String, String)] {
            var copy = self
            copy.requests?.advance(to: now)
            copy.tokens?.advance(to: now)
            return Decision(admitted: false, tokens: 0, requests: copy.requests, tokenBucket: copy.tokens).headers
        }

        /// Admits a request costing `tokenCost` tokens at `now`, or refuses it at no cost.
        public mutating func admit(tokenCost: Int, at now: Double) -> Decision {
            requests?.advance(to: now)
            tokens?.advance(to: now)
            var decision = Decision(admitted: false, retryAfter: nil, exhausted: nil, tokens: tokenCost)
            if let t = tokens, tokenCost > t.limit {
                decision.exhausted = "tokens"
            } else {
                let waitRequests = requests?.wait(for: 1) ?? 0
                let waitTokens = tokens?.wait(for: Double(tokenCost)) ?? 0
                if waitRequests > 0 || waitTokens > 0 {
                    decision.retryAfter = max(waitRequests, waitTokens)
                    decision.exhausted = waitRequests >= waitTokens ? "requests" : "tokens"
                } else {
                    decision.admitted = true
                    requests?.balance -= 1
                    tokens?.balance -= Double(tokenCost)
                }
            }
            decision.requests = requests
            decision.tokenBucket = tokens
            return decision
        }
    }

    /// What one second of the run saw at the chat endpoint (second 0 holds the first request).
    public struct SecondCounts: Sendable, Equatable {
        /// Seconds since the first chat request, rounded down.
        public var second: Int
        /// Requests the limiter admitted (whatever fault they got afterwards).
        public var requests = 0
        /// Tokens those requests cost.
        public var tokens = 0
        /// Requests refused with 429 by the server's own limit.
        public var rejected = 0

        /// The counts of second `second`.
        public init(second: Int, requests: Int = 0, tokens: Int = 0, rejected: Int = 0) {
            self.second = second
            self.requests = requests
            self.tokens = tokens
            self.rejected = rejected
        }
    }

    /// How a run used the OpenAI-style limits, from the per-second timeline.
    public struct LimitSummary: Sendable, Equatable {
        /// The seconds the steady-state figures were computed over.
        public var steadySeconds: Int
        /// Mean admitted requests per steady second over the per-second share (`RPM / 60`).
        public var requestShare: Double?
        /// Mean admitted tokens per steady second over the per-second share (`TPM / 60`).
        public var tokenShare: Double?
        /// 429s from the limit over all limit decisions, whole run.
        public var rejectionRate: Double
        /// The largest `admitted requests in a second - RPM / 60` (negative: never above the share).
        public var maxExcessRequests: Double?
        /// The largest `admitted tokens in a second - TPM / 60`.
        public var maxExcessTokens: Double?
    }
}

extension FaultServer.Counts {
    /// Steady-state use of the configured ``FaultServer/RateLimits`` (`nil` without them):
    /// the first `skippingFirst` seconds (the initial burst) and the last `skippingLast` (a
    /// partial second) are left out of the shares, unless nothing would be left.
    public func limitSummary(skippingFirst: Int = 1, skippingLast: Int = 1) -> FaultServer.LimitSummary? {
        guard let limits = rateLimits, !timeline.isEmpty else { return nil }
        var steady = Array(timeline.dropFirst(skippingFirst).dropLast(skippingLast))
        if steady.isEmpty { steady = timeline }
        let rps = limits.requestsPerMinute.map { Double($0) / 60 }
        let tps = limits.tokensPerMinute.map { Double($0) / 60 }
        let seconds = Double(steady.count)
        let admitted = timeline.reduce(0) { $0 + $1.requests }
        let rejected = timeline.reduce(0) { $0 + $1.rejected }
        return FaultServer.LimitSummary(
            steadySeconds: steady.count,
            requestShare: rps.map { Double(steady.reduce(0) { $0 + $1.requests }) / seconds / $0 },
            tokenShare: tps.map { Double(steady.reduce(0) { $0 + $1.tokens }) / seconds / $0 },
            rejectionRate: admitted + rejected == 0 ? 0 : Double(rejected) / Double(admitted + rejected),
            maxExcessRequests: rps.map { share in Double(timeline.map(\.requests).max() ?? 0) - share },
            maxExcessTokens: tps.map { share in Double(timeline.map(\.tokens).max() ?? 0) - share })
    }
}
