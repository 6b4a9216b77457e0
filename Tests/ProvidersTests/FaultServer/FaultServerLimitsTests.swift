import Foundation
import LLMKit
import Testing
import TestSupport

extension FaultServerSelfTests {
    /// The fault server's OpenAI-style rate limits: the buckets by themselves (explicit times), then
    /// over real sockets with a manual clock (exact headers and 429s), then with the real clock
    /// under load (the per-second timeline).
    @Suite struct FaultServerLimitsTests {
        @Test func goStyleDurations() {
            let cases: [(Double, String)] = [(0, "0s"), (0.0004, "1ms"), (0.02, "20ms"), (0.05, "50ms"), (0.1, "100ms"), (0.999, "999ms"), (1, "1s"),
                                             (1.5, "1.5s"), (1.25, "1.25s"), (59.001, "59.001s"), (60, "1m0s"), (360, "6m0s"), (3723.5, "1h2m3.5s"), (7200, "2h0m0s")]
            for (seconds, text) in cases { #expect(FaultServer.goDuration(seconds) == text, "\(seconds) s") }
            // Whatever the client's parser, the text means at least the time asked for.
            for seconds in [0.0123, 0.3333, 1.0001, 61.2] {
                #expect(RateLimitHeaders.goDuration(FaultServer.goDuration(seconds))!.seconds >= seconds - 1e-9)
            }
        }

        @Test func tokenEstimateAndCost() {
            let messages: [JSONValue] = [["role": "system", "content": "12345678"],               // 8 bytes
                                         ["role": "user", "content": [["type": "text", "text": "héllo"]]],   // 6 bytes
                                         ["role": "assistant", "content": .null]]
            // ceil(14 / 4) = 4, plus 4 per message.
            #expect(FaultServer.estimatedPromptTokens(messages: messages) == 4 + 12)
            #expect(FaultServer.estimatedPromptTokens(messages: messages, tokensPerMessage: 0) == 4)
            let limits = FaultServer.RateLimits(tokensPerMinute: 1000, defaultMaxTokens: 500)
            let body: JSONValue = ["messages": .array(messages)]
            #expect(FaultServer.requestTokenCost(body, limits: limits) == 16 + 500)
            #expect(FaultServer.requestTokenCost(["messages": .array(messages), "max_tokens": 7], limits: limits) == 16 + 7)
            #expect(FaultServer.requestTokenCost(["messages": .array(messages), "max_tokens": 7, "max_completion_tokens": 9], limits: limits) == 16 + 9)
        }

        @Test func aMinuteWindowAllowsABurstThenRefillsContinuously() {
            var limiter = FaultServer.Limiter(.init(requestsPerMinute: 600), now: 0)
            for _ in 0..<600 { #expect(limiter.admit(tokenCost: 0, at: 0).admitted) }
            let refused = limiter.admit(tokenCost: 0, at: 0)
            #expect(!refused.admitted && refused.exhausted == "requests")
            #expect(abs(refused.retryAfter! - 0.1) < 1e-9, "10 requests a second come back")
            #expect(!limiter.admit(tokenCost: 0, at: 0.09).admitted)
            #expect(limiter.admit(tokenCost: 0, at: 0.1).admitted)
            // Full again after a minute: reset says how long until then.
            #expect(abs(limiter.requests!.secondsUntilFull - 60) < 1e-6)
        }

        @Test func aSecondWindowHoldsOnlyThePerSecondShare() {
            var limiter = FaultServer.Limiter(.init(requestsPerMinute: 600, window: .second), now: 100)
            let admitted = (0..<20).filter { _ in limiter.admit(tokenCost: 0, at: 100).admitted }.count
            #expect(admitted == 10, "600 RPM acts as 10 per second: a burst at the start of a minute is refused")
            #expect(limiter.requests!.remaining == 0)
            // Over 5 s of steady arrivals every 10 ms, about 10 per second pass.
            var passed = 0
            for step in 1...500 where limiter.admit(tokenCost: 0, at: 100 + Double(step) * 0.01).admitted { passed += 1 }
            #expect((49...51).contains(passed))
        }

        @Test func refusalsCostNothingAndLargeRequestsRunIntoDebt() {
            // TPM 6000 per second: 100 tokens a second; a 150-token request is larger than the bucket.
            var limiter = FaultServer.Limiter(.init(tokensPerMinute: 6000, window: .second), now: 0)
            #expect(limiter.admit(tokenCost: 150, at: 0).admitted, "a full bucket admits it")
            #expect(abs(limiter.tokens!.balance - -50) < 1e-9)
            let refused = limiter.admit(tokenCost: 150, at: 0.5)
            #expect(!refused.admitted && refused.exhausted == "tokens")
            #expect(abs(refused.retryAfter! - 1.0) < 1e-9, "from 0 tokens at 0.5 s to a full 100 at 1.5 s")
            #expect(abs(limiter.tokens!.balance - 0) < 1e-9, "the refusal took nothing")
            #expect(limiter.admit(tokenCost: 150, at: 1.5).admitted)
            // More than a whole minute's tokens: never, and no retry hint.
            let tooLarge = limiter.admit(tokenCost: 6001, at: 1000)
            #expect(!tooLarge.admitted && tooLarge.retryAfter == nil && tooLarge.exhausted == "tokens")
            // A fraction of a request per second (30 RPM per second = 0.5): one every 2 s.
            var slow = FaultServer.Limiter(.init(requestsPerMinute: 30, window: .second), now: 0)
            #expect(slow.admit(tokenCost: 0, at: 0).admitted)
            let wait = slow.admit(tokenCost: 0, at: 0).retryAfter
            #expect(wait.map { abs($0 - 2) < 1e-9 } == true)
            #expect(slow.admit(tokenCost: 0, at: 2).admitted)
        }

        /// Headers and 429s exactly as the client sees them, with a manual clock.
        @Test func headersOnEveryAnswerAnd429sThatSayWhenToComeBack() async throws {
            let clock = ManualClock(start: 1_800_000_000)
            var configuration = FaultServer.Configuration()
            configuration.clock = clock.function
            // 2 requests and 1000 tokens a second.
            configuration.rateLimits = FaultServer.RateLimits(requestsPerMinute: 120, tokensPerMinute: 60_000, window: .second, defaultMaxTokens: 300)
            let server = try FaultServer(configuration)
            defer { server.stop() }
            let port = server.server.port
            let body = Loopback.chatBody(count: 2)
            let cost = FaultServer.requestTokenCost(body, limits: configuration.rateLimits!)
            #expect(cost > 300 && cost < 400)

            let (first, second, third) = try await Loopback.offPool {
                (try Loopback.postJSON(port, "/v1/chat/completions", body), try Loopback.postJSON(port, "/v1/chat/completions", body),
                 try Loopback.postJSON(port, "/v1/chat/completions", body))
            }
            #expect(first.status == 200 && second.status == 200)
            #expect(first.header("x-ratelimit-limit-requests") == "120" && first.header("x-ratelimit-limit-tokens") == "60000")
            #expect(first.header("x-ratelimit-remaining-requests") == "1" && second.header("x-ratelimit-remaining-requests") == "0")
            #expect(first.header("x-ratelimit-remaining-tokens") == String(1000 - cost))
            #expect(first.header("x-ratelimit-reset-requests") == "500ms" && second.header("x-ratelimit-reset-requests") == "1s")
            #expect(second.header("x-ratelimit-reset-tokens") == FaultServer.goDuration(Double(2 * cost) / 1000))
            // The third: 429, costs nothing, says 500 ms (one request refills in half a second).
            #expect(third.status == 429)
            #expect(third.header("retry-after-ms") == "500" && third.header("retry-after") == "1")
            #expect(third.header("x-ratelimit-remaining-requests") == "0" && third.header("x-ratelimit-remaining-tokens") == String(1000 - 2 * cost))
            let error = try third.json()["error"]
            #expect(error?["code"] == "rate_limit_exceeded" && error?["type"] == "requests")
            #expect(error?["message"]?.stringValue?.contains("Please try again in 500ms") == true)

            clock.advance(by: 0.25)
            let early = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", body) }
            #expect(early.status == 429 && early.header("retry-after-ms") == "250")
            clock.advance(by: 0.25)
            // Now the tokens are short: 1000 - 2 cost + 0.5 s * 1000 refill.
            let tokensLeft = 1000 - 2 * cost + 500
            let next = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", body) }
            if tokensLeft >= cost {
                #expect(next.status == 200)
            } else {
                let type = try next.json()["error"]?["type"]
                #expect(next.status == 429 && type == "tokens")
            }

            // Too large for the minute: 429 without a retry hint.
            let huge = Loopback.chatBody(count: 2, maxTokens: 70_000)
            let tooLarge = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", huge) }
            #expect(tooLarge.status == 429 && tooLarge.header("retry-after") == nil && tooLarge.header("retry-after-ms") == nil)
            #expect((try tooLarge.json()["error"]?["message"]?.stringValue)?.hasPrefix("Request too large") == true)

            // Every answer carried all six headers, and the timeline has it all in second 0.
            let counts = server.counts
            #expect(counts.requests == 6 && counts.limitRejections == (next.status == 200 ? 3 : 4))
            #expect(counts.timeline.count == 1)
            #expect(counts.timeline[0].requests + counts.timeline[0].rejected == 6)
            #expect(counts.timeline[0].tokens == counts.timeline[0].requests * cost)
            clock.advance(by: 2.2)
            _ = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", body) }
            #expect(server.counts.timeline.map(\.second) == [0, 1, 2])
            #expect(server.counts.timeline[2].requests == 1)
            // Even an answer that costs nothing says where the limits stand.
            let malformed = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", ["model": "m"]) }
            #expect(malformed.status == 400 && malformed.header("x-ratelimit-remaining-requests") == "1" && malformed.header("x-ratelimit-reset-tokens") != nil)
            #expect(server.counts.malformed == 1 && server.counts.timeline[2].requests == 1)
            let json = try StrictJSON.parse(server.counts.json)
            #expect(json["rate_limits"]?["window"] == "second" && json["timeline"]?.arrayValue?.count == 3)
            #expect(json["limit_summary"]?["rejection_rate"]?.doubleValue ?? 0 > 0)
        }

        @Test func injectedFaultsKeepTheLimitHeadersAndOverrideTheirOwn() async throws {
            let clock = ManualClock()
            var configuration = FaultServer.Configuration()
            configuration.clock = clock.function
            configuration.rateLimits = FaultServer.RateLimits(requestsPerMinute: 6000, tokensPerMinute: 10_000_000)
            configuration.mix = [.rateLimitReset: 1]
            let server = try FaultServer(configuration)
            defer { server.stop() }
            let port = server.server.port
            let response = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody()) }
            #expect(response.status == 429)
            #expect(response.headers.filter { $0.0.lowercased() == "x-ratelimit-remaining-tokens" }.map(\.1) == ["0"], "one value, the fault's")
            #expect(response.header("x-ratelimit-remaining-requests") == "5999" && response.header("x-ratelimit-limit-tokens") == "10000000")
        }

        /// Real time, real sockets, two clients sending about 30 requests a second each for 2.5 s against 600 RPM
        /// enforced per second: the timeline shows about 10 admitted a second and many refusals.
        @Test func underLoadTheTimelineShowsThePerSecondShare() async throws {
            var configuration = FaultServer.Configuration()
            configuration.rateLimits = FaultServer.RateLimits(requestsPerMinute: 600, window: .second)
            let server = try FaultServer(configuration)
            defer { server.stop() }
            let port = server.server.port
            let body = Array(JSONSerializer.string(Loopback.chatBody(count: 1)).utf8)
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await Loopback.offPool {
                            let connection = try RawConnection(port: port)
                            var seen: [Int] = []
                            let end = Date().addingTimeInterval(2.5)
                            while Date() < end {
                                try connection.send("POST", "/v1/chat/completions", headers: [("Content-Type", "application/json")], body: body)
                                seen.append(try connection.readResponse().status)
                                Thread.sleep(forTimeInterval: 0.03)
                            }
                            return seen
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            let counts = server.counts
            #expect(Set(statuses) == [200, 429])
            #expect(counts.requests == statuses.count && counts.limitRejections == statuses.filter { $0 == 429 }.count)
            #expect(server.server.connectionsAccepted == 2, "keep-alive: one connection per client")
            // No second admits more than a full bucket plus a second of refill.
            #expect(counts.timeline.allSatisfy { $0.requests <= 20 }, "\(counts.timeline)")
            let admitted = statuses.filter { $0 == 200 }.count
            #expect((24...36).contains(admitted), "about 10 at once plus 10 a second for 2.5 s, got \(admitted)")
            let summary = try #require(counts.limitSummary(skippingFirst: 1, skippingLast: 1))
            #expect(summary.rejectionRate > 0.3)
            if counts.timeline.count >= 3 {
                #expect(summary.requestShare! > 0.6 && summary.requestShare! < 1.3, "\(summary)")
            }
        }
    }
}
