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
    @Test func requestsPerMinuteWaitInsteadOfSending() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 60), clock: clock)
        for _ in 0..<60 { try await limiter.acquire(estimatedTokens: 0) }
        #expect(clock.sleeps.isEmpty)
        try await limiter.acquire(estimatedTokens: 0)
        #expect(clock.sleeps == [.seconds(1)], "one request a second refills")
        try await limiter.acquire(estimatedTokens: 0)
        #expect(clock.sleeps.last == .seconds(1))
    }

    @Test func tokensPerMinuteUseTheEstimateThenTheReportedUsage() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(tokensPerMinute: 6000), clock: clock)
        try await limiter.acquire(estimatedTokens: 5000)
        #expect(clock.sleeps.isEmpty)
        // The server counted only 2000: 3000 tokens go back.
        await limiter.settle(estimatedTokens: 5000, actualTokens: 2000)
        #expect(await limiter.balances().tokens == 4000)
        try await limiter.acquire(estimatedTokens: 4000)
        #expect(clock.sleeps.isEmpty)
        // Now empty: 3000 more tokens take 30 s at 100 tokens/s.
        try await limiter.acquire(estimatedTokens: 3000)
        #expect(clock.sleeps == [.seconds(30)])
    }

    @Test func followsTheServersRemainingAndReset() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 600), clock: clock)
        await limiter.observe(headers: ["x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s"])
        try await limiter.acquire(estimatedTokens: 0)
        // Empty until the reset (2 s), then one request's refill (0.1 s at 10/s).
        #expect(abs(clock.sleeps[0].seconds - 2.1) < 1e-9)
        await limiter.observe(headers: ["x-ratelimit-remaining-requests": "3"])
        #expect(await limiter.balances().requests! <= 3)
    }

    @Test func sharedByConcurrentCallersInArrivalOrder() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 6), clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { try await limiter.acquire(estimatedTokens: 0) } }
            try await group.waitForAll()
        }
        // 6 go at once; each of the other 6 waits for its own slot: 10 s, 20 s, ... of refill.
        let waits = clock.sleeps.map(\.seconds).sorted()
        #expect(waits.count == 6)
        #expect(waits.first! >= 10 - 1e-9)
    }

    @Test func middlewareEstimatesCorrectsAndObserves() async throws {
        let clock = TestClock()
        let limiter = RateLimiter(limits: RateLimits(requestsPerMinute: 100, tokensPerMinute: 10_000), clock: clock)
        struct Answering: LLMProvider {
            let id: ProviderID = "a"
            let capabilities = ProviderCapabilities()
            func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
                CompletionResponse(text: "ok", usage: TokenUsage(promptTokens: 10, completionTokens: 5), headers: ["x-ratelimit-remaining-requests": "42"])
            }
        }
        let client = LLMClient(provider: Answering(), middlewares: [RateLimitMiddleware(limiter: limiter)])
        let request = CompletionRequest(model: "m", messages: [.user(String(repeating: "x", count: 400))], maxTokens: 100)
        #expect(RateLimitMiddleware.estimatedTokens(request) == 201)
        _ = try await client.complete(request)
        let balances = await limiter.balances()
        #expect(balances.requests == 42)
        #expect(abs((balances.tokens ?? 0) - 9985) < 1e-9, "\(String(describing: balances.tokens))")
    }
}
