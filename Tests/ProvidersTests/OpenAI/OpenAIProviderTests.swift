import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

@Suite struct OpenAIProviderTests {
    static let request = CompletionRequest(
        model: "gpt-4o-mini", messages: [.system("sys"), .user("1. calm#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")],
        responseSchema: ChunkAnswerSchema.responseSchema(count: 30, includeReason: true), temperature: 0.2, seed: 7, maxTokens: 4000)

    /// The fields we send, as OpenAI's published API description (openapi.yaml,
    /// `CreateChatCompletionRequest`, `ChatCompletionRequestSystemMessage`/`UserMessage`,
    /// `ResponseFormatJsonSchema`) defines them: types, ranges, enums and the name pattern.
    static let requestShape: JSONValue = [
        "type": "object",
        "required": ["model", "messages"],
        "additionalProperties": false,
        "properties": [
            "model": ["type": "string", "minLength": 1],
            "messages": ["type": "array", "minItems": 1, "items": [
                "type": "object", "required": ["role", "content"], "additionalProperties": false,
                "properties": ["role": ["enum": ["system", "user", "assistant", "developer"]], "content": ["type": "string"]],
            ]],
            "temperature": ["type": "number", "minimum": 0, "maximum": 2],
            "seed": ["type": "integer", "minimum": -9_223_372_036_854_775_808, "maximum": 9_223_372_036_854_775_807],
            "max_completion_tokens": ["type": "integer", "minimum": 1],
            "response_format": [
                "type": "object", "required": ["type", "json_schema"], "additionalProperties": false,
                "properties": [
                    "type": ["const": "json_schema"],
                    "json_schema": [
                        "type": "object", "required": ["name"], "additionalProperties": false,
                        "properties": [
                            "name": ["type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"],
                            "description": ["type": "string"],
                            "schema": ["type": "object"],
                            "strict": ["type": "boolean"],
                        ],
                    ],
                ],
            ],
        ],
    ]

    @Test func requestBodyMatchesThePublishedShapeFieldByField() throws {
        let provider = OpenAIProvider(baseURL: "https://example.invalid/v1/", apiKey: "sk-test", organization: "org-1", project: "proj-1")
        let http = provider.httpRequest(for: Self.request)
        #expect(http.method == "POST" && http.url == "https://example.invalid/v1/chat/completions")
        let headers = Dictionary(uniqueKeysWithValues: http.headers.map { ($0.name.lowercased(), $0.value) })
        #expect(headers["authorization"] == "Bearer sk-test")
        #expect(headers["openai-organization"] == "org-1" && headers["openai-project"] == "proj-1")
        #expect(headers["content-type"] == "application/json")
        let body = try StrictJSON.parse(String(decoding: http.body ?? [], as: UTF8.self))
        let violations = try JSONSchema(Self.requestShape).validate(body)
        #expect(violations.isEmpty, "\(violations)")
        #expect(body["max_completion_tokens"] == 4000 && body["max_tokens"] == nil)
        #expect(body["response_format"]?["json_schema"]?["strict"] == true)
        #expect(body["response_format"]?["json_schema"]?["name"] == .string(ChunkAnswerSchema.name))
        // The schema sent is the contract's, which meets strict mode's rules (checked in LLMKitTests).
        #expect(body["response_format"]?["json_schema"]?["schema"] == ChunkAnswerSchema.schema(count: 30, includeReason: true))
        // The shape check itself fails on a wrong body.
        var wrong = body.objectValue!
        wrong["temperature"] = 3
        wrong["max_tokens"] = 5
        #expect(try JSONSchema(Self.requestShape).validate(.object(wrong)).map(\.keyword).sorted() == ["additionalProperties", "maximum"])
    }

    /// The configured timeouts reach the HTTP request: the connect timeout too, not only the
    /// transport's own default.
    @Test func theConfiguredTimeoutsReachTheRequest() {
        let timeout = ProviderConfiguration.Timeout(connect: .seconds(3), request: .seconds(90), stall: .seconds(7))
        let http = OpenAIProvider(apiKey: "k", timeout: timeout, stream: true).httpRequest(for: Self.request)
        #expect(http.connectTimeout == .seconds(3) && http.timeout == .seconds(90) && http.stallTimeout == .seconds(7))
        let llama = LlamaCppProvider(timeout: timeout).httpRequest(for: Self.request)
        #expect(llama.connectTimeout == .seconds(3))
    }

    @Test func environmentConfiguration() throws {
        #expect { try OpenAIProvider.fromEnvironment([:], baseURL: nil) } throws: { ($0 as? LLMError)?.message.contains("OPENAI_API_KEY") == true }
        let local = try OpenAIProvider.fromEnvironment(["OPENAI_BASE_URL": "http://127.0.0.1:9/v1"], baseURL: nil)
        #expect(local.baseURL == "http://127.0.0.1:9/v1")
        let flagWins = try OpenAIProvider.fromEnvironment(["OPENAI_BASE_URL": "http://a/v1", "OPENAI_API_KEY": "k"], baseURL: "http://b/v1/")
        #expect(flagWins.baseURL == "http://b/v1" && flagWins.httpRequest(for: Self.request).header("Authorization") == "Bearer k")
        #expect(flagWins.httpRequest(for: Self.request).url == "http://b/v1/chat/completions")
        #expect(!local.httpRequest(for: Self.request).headers.contains { $0.name.lowercased() == "authorization" })
    }

    @Test func capturesUsageRequestIdFingerprintAndRateLimitHeaders() async throws {
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let response = try await OpenAIProvider(baseURL: server.baseURL, apiKey: "k").complete(Self.request)
        #expect(response.systemFingerprint == "fp_fault")
        #expect(response.headers["x-request-id"] == "req-none")
        #expect(response.headers["x-ratelimit-remaining-requests"] == "1000")
        #expect(response.usage?.completionTokens == 40 * 30)
        let parsed = ChunkAnswerParser(count: 30, expectsReason: true).parse(response.text ?? "")
        #expect(parsed.failedPositions.isEmpty)
    }
}

/// Every fault of the fault server, through the real transport, the retry middleware (with a
/// test clock: no sleeping) and the pipeline: the error kind, retried or not, the delays the
/// headers asked for, and the outcome of each item.
@Suite struct FaultServerTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var fault: FaultServer.Fault
        /// Outcome per item (nil: relabeled).
        var outcomes: [ItemFailure.Kind?]
        /// The provider error's kind, for provider_error items.
        var errorKind: LLMError.Kind? = nil
        /// Whether the error stops the run (no item is failed).
        var stops = false
        /// HTTP requests the server saw.
        var requests: Int
        /// HTTP attempts the client counted, when not `requests` (redirects are followed inside one attempt).
        var attempts: Int? = nil
        /// Delays slept by the retry middleware, in seconds (nil: not checked exactly).
        var sleeps: [Double]? = []
        var testDescription: String { fault.rawValue }
    }

    static let retried = [0.05, 0.05]   // the server's retry-after is 0.05 s
    static let backoff = [0.5, 1.0]     // no server delay: 0.5 s doubling (random = 0)
    static let cases: [Expectation] = [
        .init(fault: .none, outcomes: [nil, nil, nil], requests: 1),
        .init(fault: .rateLimitRetryAfter, outcomes: [.providerError, .providerError, .providerError], errorKind: .rateLimited, requests: 3, sleeps: retried),
        .init(fault: .rateLimitRetryAfterMs, outcomes: [.providerError, .providerError, .providerError], errorKind: .rateLimited, requests: 3, sleeps: retried),
        .init(fault: .rateLimitHTTPDate, outcomes: [.providerError, .providerError, .providerError], errorKind: .rateLimited, requests: 3, sleeps: nil),
        .init(fault: .rateLimitReset, outcomes: [.providerError, .providerError, .providerError], errorKind: .rateLimited, requests: 3, sleeps: retried),
        // No quota: no other request can succeed, so the run stops without failing any item.
        .init(fault: .quota, outcomes: [], errorKind: .quotaExhausted, stops: true, requests: 1),
        .init(fault: .server500, outcomes: [.providerError, .providerError, .providerError], errorKind: .serverError, requests: 3, sleeps: backoff),
        .init(fault: .server502, outcomes: [.providerError, .providerError, .providerError], errorKind: .serverError, requests: 3, sleeps: backoff),
        .init(fault: .server503, outcomes: [.providerError, .providerError, .providerError], errorKind: .serverError, requests: 3, sleeps: backoff),
        .init(fault: .overloaded529, outcomes: [.providerError, .providerError, .providerError], errorKind: .serverError, requests: 3, sleeps: backoff),
        .init(fault: .slow, outcomes: [.providerError, .providerError, .providerError], errorKind: .timeout, requests: 3, sleeps: backoff),
        .init(fault: .reset, outcomes: [.providerError, .providerError, .providerError], errorKind: .transport, requests: 3, sleeps: backoff),
        // Cut off every time: 3 items split into 2 + 1, then 1 + 1: five requests, each item truncated alone.
        .init(fault: .truncated, outcomes: [.truncated, .truncated, .truncated], requests: 5),
        .init(fault: .refusal, outcomes: [.refused, .refused, .refused], requests: 1),
        .init(fault: .prose, outcomes: [nil, nil, nil], requests: 1),
        // The last entry is dropped every time: item 3 is re-asked alone and comes back empty.
        .init(fault: .wrongCount, outcomes: [nil, nil, .missingIndex], requests: 2),
        // Index 1 twice and 2 missing: both re-asked together, with the same fault again.
        .init(fault: .duplicateIndex, outcomes: [.duplicateIndex, .missingIndex, nil], requests: 2),
        // angry = 1.5 in the first entry, every time.
        .init(fault: .invalidDistribution, outcomes: [.valueOutOfRange, nil, nil], requests: 2),
        // An endless 200: receiving stops at the size limit; another try would do the same.
        .init(fault: .endless, outcomes: [.providerError, .providerError, .providerError], errorKind: .responseTooLarge, requests: 1),
        // A megabyte of error message, retried like any 500; the message stored is capped.
        .init(fault: .hugeError, outcomes: [.providerError, .providerError, .providerError], errorKind: .serverError, requests: 3, sleeps: backoff),
        // Credentials, access, an unknown model: no other request can succeed, the run stops.
        .init(fault: .echoAuth, outcomes: [], errorKind: .authentication, stops: true, requests: 1),
        .init(fault: .auth, outcomes: [], errorKind: .authentication, stops: true, requests: 1),
        .init(fault: .forbidden, outcomes: [], errorKind: .permissionDenied, stops: true, requests: 1),
        .init(fault: .modelNotFound, outcomes: [], errorKind: .notFound, stops: true, requests: 1),
        // A redirect to itself: followed 5 times within one attempt, then given up with the location named.
        .init(fault: .redirect, outcomes: [.providerError, .providerError, .providerError], errorKind: .badRequest, requests: 6, attempts: 1),
        // Item 1's reason holds bytes that are not UTF-8: only it fails, with a kind of its own.
        .init(fault: .invalidUTF8, outcomes: [.invalidUTF8, nil, nil], requests: 2),
        // 1e-320 and zeros: below the sum floor, both fail as zero_sum (asked again together).
        .init(fault: .zeroTiny, outcomes: [.zeroSum, .zeroSum, nil], requests: 2),
        // Text after the answer until the token limit (not streamed): a truncation, split like one.
        .init(fault: .runaway, outcomes: [.truncated, .truncated, .truncated], requests: 5),
    ]

    @Test func everyFaultIsCovered() {
        #expect(Set(Self.cases.map(\.fault)) == Set(FaultServer.Fault.allCases))
    }

    @Test(arguments: cases)
    func fault(_ expected: Expectation) async throws {
        var configuration = FaultServer.Configuration()
        configuration.mix = [expected.fault: 1]
        // Generous: the whole suite shares 2 cores, and a first answer late under that load must not
        // look like the slow fault. The slow answer comes 8 s late, far past the 2 s timeout.
        configuration.slowDelay = 8.0
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let clock = TestClock(followingWallClock: ())
        let provider = OpenAIProvider(baseURL: server.baseURL, apiKey: "sk-test", timeout: .init(request: .seconds(2)), maximumResponseBytes: 4 << 20)
        let client = LLMClient(provider: provider, middlewares: [RetryMiddleware(policy: .exponential(maxAttempts: 3), clock: clock, random: { 0 })])
        let prompt = PromptVersion(name: "t", systemText: "sys")
        let items = (1...3).map { DatasetItem(id: "u\($0)", descriptions: ["w\($0)"], reference: EmotionDistribution(oneHot: .neutral)) }
        let pipeline = RelabelPipeline(client: client, configuration: RelabelConfiguration(prompt: prompt, model: "gpt-test", chunkSize: 3, reaskRounds: 1))
        let (records, summary): ([RelabeledRecord], RelabelSummary)
        do {
            (records, summary) = try await pipeline.relabel(items)
            #expect(!expected.stops, "the run should have stopped")
        } catch let stop as PipelineStop {
            #expect(expected.stops && stop.error.kind == expected.errorKind && server.counts.requests == expected.requests)
            return
        }
        #expect(records.map(\.id) == ["u1", "u2", "u3"])
        #expect(records.map { $0.outcome.failure?.kind } == expected.outcomes)
        #expect(server.counts.requests == expected.requests)
        #expect(summary.attempts == expected.attempts ?? expected.requests, "the summary counts what the server saw")
        #expect(records.allSatisfy { ($0.outcome.failure?.message.utf8.count ?? 0) <= ItemFailure.maximumMessageLength + 40 }, "stored messages are capped")
        if let kind = expected.errorKind {
            #expect(records.allSatisfy { $0.outcome.failure?.providerError == kind })
            #expect(summary.providerErrors == [kind: 3])
        }
        if let sleeps = expected.sleeps {
            #expect(clock.sleeps.map { ($0.seconds * 1000).rounded() / 1000 } == sleeps)
        } else {
            // An HTTP date one second ahead, at one-second resolution.
            #expect(clock.sleeps.count == 2 && clock.sleeps.allSatisfy { $0 <= .seconds(2) })
        }
    }

    @Test func theServerEnforcesItsOwnLimitAndTheClientWaitsForIt() async throws {
        var configuration = FaultServer.Configuration()
        configuration.requestsPerMinute = 2
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let provider = OpenAIProvider(baseURL: server.baseURL, apiKey: "k")
        _ = try await provider.complete(OpenAIProviderTests.request)
        _ = try await provider.complete(OpenAIProviderTests.request)
        await #expect { try await provider.complete(OpenAIProviderTests.request) } throws: { error in
            guard let e = error as? LLMError, e.kind == .rateLimited else { return false }
            return RateLimitHeaders.requestedDelay(e.raw?.headers ?? [:], now: Date()) == .milliseconds(50)
        }
        #expect(server.counts.limitRejections == 1 && server.counts.requests == 3)
    }
}
