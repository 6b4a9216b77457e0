public import Logging

/// When and how long to wait before sending a failed request again.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (1 means no retry).
    public var maxAttempts: Int
    /// The delay before the first retry; doubled for each further one.
    public var base: Duration
    /// The longest computed delay.
    public var cap: Duration
    /// Up to this fraction is taken off each computed delay at random (0.25: 75-100%).
    public var jitter: Double
    /// The longest delay a server may ask for; longer requests are capped to this.
    public var maximumServerDelay: Duration
    /// How long one request may keep being retried, from its first attempt (`nil`: no limit
    /// but ``maxAttempts``). A retry whose wait would end beyond it is not made.
    public var budget: Duration?

    /// A policy; `maxAttempts` below 1 counts as 1 and `jitter` is clamped to [0, 1].
    public init(maxAttempts: Int, base: Duration = .milliseconds(500), cap: Duration = .seconds(8), jitter: Double = 0.25,
                maximumServerDelay: Duration = .seconds(60), budget: Duration? = nil) {
        self.maxAttempts = max(1, maxAttempts)
        self.base = base
        self.cap = cap
        self.jitter = min(1, max(0, jitter))
        self.maximumServerDelay = maximumServerDelay
        self.budget = budget
    }

    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Exponential backoff `min(base * 2^(n-1), cap) * (1 - jitter * random)`; the defaults are
    /// openai-python's (3 attempts, 0.5 s doubling to 8 s, 25% jitter): the library's default
    /// for single calls.
    public static func exponential(maxAttempts: Int = 3, base: Duration = .milliseconds(500), cap: Duration = .seconds(8),
                                   jitter: Double = 0.25, maximumServerDelay: Duration = .seconds(60), budget: Duration? = nil) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, base: base, cap: cap, jitter: jitter, maximumServerDelay: maximumServerDelay, budget: budget)
    }

    /// A corpus run's policy: retries transient errors with the same backoff for up to
    /// `budget` per request (10 minutes by default), however many attempts that takes, or at
    /// most `maxAttempts` when given.
    public static func forRun(budget: Duration = .seconds(600), maxAttempts: Int? = nil) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts ?? .max, budget: budget)
    }

    /// The computed delay before retry number `retry` (1-based), with `random` in [0, 1).
    package func backoff(retry: Int, random: Double) -> Duration {
        let exponent = Double(1 << min(30, max(0, retry - 1)))
        let raw = min(base.seconds * exponent, cap.seconds)
        return .seconds(double: raw * (1 - jitter * random))
    }
}

/// Sends a request again when the error says it may succeed (``LLMError/isRetryable``), after
/// the delay the server asked for (`retry-after-ms`, `retry-after`, `x-ratelimit-reset-*`,
/// capped) or the policy's backoff. Obeys `x-should-retry`. Never retries exhausted quota,
/// authentication or bad requests. Each attempt is logged; the response's ``CompletionResponse/attempts``
/// and the error's ``LLMError/Context/attempt`` say how many requests were sent: the sum of what
/// each attempt reports from inside (its response's `attempts`, its error's `attempt`, else 1),
/// so a step that sends to several servers per attempt, as a pool does, is counted in full.
public struct RetryMiddleware: ProviderMiddleware {
    /// When and how long to wait between attempts.
    public let policy: RetryPolicy
    let clock: any MiddlewareClock
    let logger: Logger
    let random: @Sendable () -> Double

    /// A retry middleware; `clock`, `logger` and `random` (the jitter's source, in [0, 1))
    /// are injectable for tests.
    public init(policy: RetryPolicy = .exponential(), clock: any MiddlewareClock = SystemMiddlewareClock(),
                logger: Logger = Logger(label: "llmkit.retry"), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.random = random
    }

    /// Whether `error` should be retried, and after how long; `nil` means give up.
    package func delay(after error: LLMError, retry: Int) -> Duration? {
        guard !error.kind.isFatal, error.kind != .badRequest, error.kind != .cancelled else { return nil }
        let headers = error.raw?.headers ?? [:]
        switch headers["x-should-retry"]?.lowercased() {
        case "false": return nil
        case "true": break
        default: guard error.isRetryable else { return nil }
        }
        if let asked = RateLimitHeaders.requestedDelay(headers, now: clock.wallTime()) ?? error.retryAfter {
            return min(asked, policy.maximumServerDelay)
        }
        return policy.backoff(retry: retry, random: random())
    }

    /// Sends `request`, and again after a delay while the error is retryable, the attempts
    /// last and the policy's budget allows.
    public func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        var attempt = 1
        var sent = 0
        let started = clock.now()
        while true {
            do {
                var response = try await next(request)
                response.attempts = sent + response.attempts
                return response
            } catch var error as LLMError {
                sent += error.context.attempt ?? 1
                error.context.attempt = sent
                let wait = attempt < policy.maxAttempts ? delay(after: error, retry: attempt) : nil
                guard let wait, policy.budget.map({ clock.now() - started + wait <= $0 }) ?? true else {
                    if attempt > 1 { logger.warning("giving up after \(attempt) attempts: \(error.description)") }
                    throw error
                }
                logger.info("attempt \(attempt) failed (\(error.kind)); retrying in \(wait)")
                RequestObserver.current?.waiting(.retry(after: error.kind, attempt: attempt), for: wait)
                try await clock.sleep(for: wait)
                attempt += 1
            }
        }
    }
}
