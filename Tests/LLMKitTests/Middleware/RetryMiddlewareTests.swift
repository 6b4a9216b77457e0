import Foundation
import Synchronization
import Testing
import TestSupport
@testable import LLMKit

/// A provider that fails with the given errors, then answers.
final class FlakyProvider: LLMProvider {
    let id: ProviderID = "flaky"
    let capabilities = ProviderCapabilities()
    let failures: Mutex<[LLMError]>
    let calls = Mutex(0)
    init(_ failures: [LLMError]) { self.failures = Mutex(failures) }

    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        calls.withLock { $0 += 1 }
        if let next = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw next }
        return CompletionResponse(text: "ok")
    }
}

@Suite struct RetryMiddlewareTests {
    static let request = CompletionRequest(model: "m", messages: [.user("x")])

    static func error(_ kind: LLMError.Kind, status: Int = 429, headers: [String: String] = [:]) -> LLMError {
        LLMError(kind, "injected", raw: RawResponse(status: status, headers: headers, body: "{}"))
    }

    static func run(_ failures: [LLMError], policy: RetryPolicy = .exponential(maxAttempts: 4), random: Double = 0) async -> (Result<CompletionResponse, LLMError>, calls: Int, sleeps: [Duration]) {
        let clock = TestClock()
        let provider = FlakyProvider(failures)
        let client = LLMClient(provider: provider, middlewares: [RetryMiddleware(policy: policy, clock: clock, random: { random })])
        let result: Result<CompletionResponse, LLMError>
        do { result = .success(try await client.complete(request)) } catch { result = .failure(error) }
        return (result, provider.calls.withLock { $0 }, clock.sleeps)
    }

    @Test func serverDelaysAreHonoured() async throws {
        let retryAfter = await Self.run([Self.error(.rateLimited, headers: ["retry-after": "2"])])
        #expect(retryAfter.sleeps == [.seconds(2)])
        #expect(try retryAfter.0.get().attempts == 2)

        let ms = await Self.run([Self.error(.rateLimited, headers: ["retry-after-ms": "250", "retry-after": "9"])])
        #expect(ms.sleeps == [.milliseconds(250)])

        let fractional = await Self.run([Self.error(.serverError, status: 503, headers: ["retry-after": "1.5"])])
        #expect(fractional.sleeps == [.milliseconds(1500)])

        // An HTTP date 3 s after the (test) wall clock.
        let date = TestClock().wallTime().addingTimeInterval(3)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let httpDate = await Self.run([Self.error(.rateLimited, headers: ["retry-after": formatter.string(from: date)])])
        #expect(httpDate.sleeps == [.seconds(3)])

        let reset = await Self.run([Self.error(.rateLimited, headers: ["x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1s", "x-ratelimit-reset-requests": "20ms"])])
        #expect(reset.sleeps == [.seconds(1)], "the exhausted limit's reset")
    }

    @Test func serverDelaysAreCapped() async {
        let long = await Self.run([Self.error(.rateLimited, headers: ["x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"])],
                                  policy: .exponential(maxAttempts: 3, maximumServerDelay: .seconds(60)))
        #expect(long.sleeps == [.seconds(60)])
    }

    @Test func exponentialBackoffWithJitter() async {
        let failures = (0..<3).map { _ in Self.error(.serverError, status: 500) }
        let noJitter = await Self.run(failures, random: 0)
        #expect(noJitter.sleeps == [.milliseconds(500), .seconds(1), .seconds(2)])
        #expect(noJitter.calls == 4)
        let fullJitter = await Self.run(failures, random: 0.999_999)
        #expect(fullJitter.sleeps.map { abs($0.seconds - 0.75 * [0.5, 1, 2][fullJitter.sleeps.firstIndex(of: $0)!]) < 1e-3 } == [true, true, true])
        #expect(RetryPolicy.exponential(cap: .seconds(8)).backoff(retry: 10, random: 0) == .seconds(8))
    }

    @Test func givesUpAfterMaxAttemptsReportingTheAttempt() async {
        let failures = (0..<5).map { _ in Self.error(.timeout, status: 0) }
        let (result, calls, _) = await Self.run(failures, policy: .exponential(maxAttempts: 3))
        #expect(calls == 3)
        guard case .failure(let e) = result else { Issue.record("succeeded"); return }
        #expect(e.kind == .timeout && e.context.attempt == 3)
    }

    @Test(arguments: [LLMError.Kind.quotaExhausted, .authentication, .badRequest, .permissionDenied, .notFound])
    func finalErrorsAreNeverRetriedEvenWhenTheServerSaysSo(_ kind: LLMError.Kind) async {
        let (result, calls, sleeps) = await Self.run([Self.error(kind, headers: ["x-should-retry": "true", "retry-after": "1"])])
        #expect(calls == 1 && sleeps.isEmpty)
        #expect((try? result.get()) == nil)
    }

    @Test(arguments: [LLMError.Kind.truncatedOutput, .refusal, .invalidOutput])
    func answerErrorsAreNotRetriedUnlessTheServerAsks(_ kind: LLMError.Kind) async {
        #expect(await Self.run([Self.error(kind, status: 200)]).calls == 1)
        #expect(await Self.run([Self.error(kind, status: 200, headers: ["x-should-retry": "true"])]).calls == 2)
    }

    @Test func xShouldRetryIsObeyed() async {
        let refused = await Self.run([Self.error(.serverError, status: 500, headers: ["x-should-retry": "false"])])
        #expect(refused.calls == 1)
        let asked = await Self.run([Self.error(.truncatedOutput, status: 200, headers: ["x-should-retry": "true"])])
        #expect(asked.calls == 2)
    }

    @Test func noneNeverRetries() async {
        let (_, calls, sleeps) = await Self.run([Self.error(.serverError, status: 500)], policy: .none)
        #expect(calls == 1 && sleeps.isEmpty)
    }

    @Test func goDurations() {
        #expect(RateLimitHeaders.goDuration("1s") == .seconds(1))
        #expect(RateLimitHeaders.goDuration("6m0s") == .seconds(360))
        #expect(RateLimitHeaders.goDuration("20ms") == .milliseconds(20))
        #expect(RateLimitHeaders.goDuration("1h2m3.5s") == .milliseconds(3_723_500))
        #expect(RateLimitHeaders.goDuration("250us") == .microseconds(250))
        #expect(RateLimitHeaders.goDuration("") == nil)
        #expect(RateLimitHeaders.goDuration("5 minutes") == nil)
        #expect(RateLimitHeaders.goDuration("s") == nil)
    }
}

@Suite struct RateLimiterTests {
    @Test func requestsArePacedWithoutABurst() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 600), clock: clock)
        for _ in 0..<20 { try await limiter.acquire(estimatedTokens: 0) }
        // The first goes at once, every other 0.1 s / 0.98 after the one before: 10 a second at
        // 98% of the limit (the headroom that absorbs send jitter), no burst.
        let h = RateLimiter.headroom
        #expect(clock.sleeps.count == 19)
        #expect(clock.sleeps.allSatisfy { abs($0.seconds - 0.1 / h) < 1e-9 })
        #expect(abs(clock.now().seconds - 1.9 / h) < 1e-6)
    }

    @Test func noSecondHoldsMoreThanItsShareAndOne() async throws {
        // Twelve callers at once against 600 RPM (10 a second): the starts they are given.
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 600, tokensPerMinute: 120_000), clock: clock)
        var starts: [Double] = []
        for k in 0..<200 {
            let wait = await limiter.reserve(estimatedTokens: 150 + (k % 7) * 40)
            starts.append(wait.seconds)
        }
        for window in stride(from: 0.0, to: starts.last!, by: 0.05) {
            let inSecond = starts.filter { $0 >= window && $0 < window + 1 }.count
            #expect(inSecond <= 11, "window at \(window): \(inSecond)")
        }
        // Used to the headroom: each start follows the one before by whichever limit binds for
        // it, the request's 0.1 s or its tokens at 2000 a second (both at 98%), and not a moment later.
        var expected = 0.0
        for k in 0..<199 {
            let tokens = Double(150 + (k % 7) * 40)
            expected += max(0.1, tokens / 2000) / RateLimiter.headroom
        }
        #expect(abs(starts.last! - expected) < 1e-6, "the binding limit paces exactly: \(starts.last!) vs \(expected)")
    }

    @Test func tokensArePacedAtTheirPerSecondShareCountingTheAnswersLimit() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(tokensPerMinute: 6000), clock: clock)
        try await limiter.acquire(estimatedTokens: 5000)
        #expect(clock.sleeps.isEmpty)
        try await limiter.acquire(estimatedTokens: 100)
        // 5000 tokens at 100 a second (98 with the headroom): the next request starts ~51 s after the first.
        #expect(clock.sleeps.count == 1 && abs(clock.sleeps[0].seconds - 50 / RateLimiter.headroom) < 1e-9)
        let request = CompletionRequest(model: "m", messages: [.system(String(repeating: "x", count: 401)), .user("abc")], maxTokens: 100)
        #expect(RateLimitMiddleware.estimatedTokens(request) == (404 + 3) / 4 + 8 + 100)
    }

    @Test func followsTheServersRemainingAndRefusals() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 600, tokensPerMinute: 60_000), clock: clock)
        // The server has no request left of its 60 a minute: one refills in a second.
        await limiter.observe(headers: ["x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "60", "x-ratelimit-reset-requests": "59s"])
        #expect(abs(await limiter.backlog().requests.seconds - 1) < 1e-9)
        // 200 tokens left of 60,000 a minute (1000 a second), a request needs 700: 0.5 s.
        await limiter.observe(headers: ["x-ratelimit-remaining-tokens": "200", "x-ratelimit-limit-tokens": "60000"], typicalTokens: 700)
        #expect(abs(await limiter.backlog().tokens.seconds - 0.5) < 1e-9)
        // A refusal with retry-after-ms holds everyone until then, no longer.
        await limiter.observe(headers: ["retry-after-ms": "1500"], refused: true)
        let held = await limiter.backlog()
        #expect(abs(held.requests.seconds - 1.5) < 1e-9 && abs(held.tokens.seconds - 1.5) < 1e-9)
        try await limiter.acquire(estimatedTokens: 10)
        #expect(abs(clock.sleeps[0].seconds - 1.5) < 1e-9)
    }

    @Test func whatTheServerHadLeftIsCountedFromWhenTheRequestWasSent() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(tokensPerMinute: 60_000), clock: clock)
        let sent = clock.now()
        try await clock.sleep(for: .seconds(3))
        // The server had 0 of 60,000 a minute left when the request arrived, and the request
        // needs 5,000: 5 s after it was sent, 2 s from now (the answer took 3 s).
        await limiter.observe(headers: ["x-ratelimit-remaining-tokens": "0", "x-ratelimit-limit-tokens": "60000"], typicalTokens: 5000, sent: sent)
        #expect(abs(await limiter.backlog().tokens.seconds - 2) < 1e-9)
    }

    @Test func sharedByConcurrentCallersInArrivalOrder() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 6), clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { try await limiter.acquire(estimatedTokens: 0) } }
            try await group.waitForAll()
        }
        // One at once, every other one waits for its own start, 10 s / 0.98 after the one before
        // (the test clock moves on with each sleep, so the waits seen depend on the interleaving;
        // each is a whole number of intervals, and none is shorter than one).
        let interval = 10 / RateLimiter.headroom
        let waits = clock.sleeps.map(\.seconds)
        #expect(waits.count == 11)
        for wait in waits { #expect(wait >= interval - 1e-9 && abs(wait / interval - (wait / interval).rounded()) < 1e-9, "\(wait)") }
    }

    @Test func theMiddlewareObservesEveryAnswer() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 100, tokensPerMinute: 10_000), clock: clock)
        struct Answering: LLMProvider {
            let id: ProviderID = "a"
            let capabilities = ProviderCapabilities()
            func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
                CompletionResponse(text: "ok", usage: TokenUsage(promptTokens: 10, completionTokens: 5),
                                   headers: ["x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "30"])
            }
        }
        let client = LLMClient(provider: Answering(), middlewares: [RateLimitMiddleware(limiter: limiter)])
        _ = try await client.complete(CompletionRequest(model: "m", messages: [.user("x")], maxTokens: 100))
        #expect(abs(await limiter.backlog().requests.seconds - 2) < 1e-9, "the server's 30 a minute: one more in 2 s")
    }
}
