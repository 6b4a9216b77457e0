import Foundation
public import LLMKit
import Synchronization

/// An OpenAI-compatible server on 127.0.0.1 for tests and benchmarks.
///
/// - `POST /v1/chat/completions` answers well-formed requests with content built from the
///   request (valid for any batch: it reads N from the schema's `maxItems`) and injects faults
///   from a seeded mix (``Fault``); `"stream": true` is answered as server-sent events the way
///   OpenAI streams (see `FaultServer+Chat.swift`).
/// - It can enforce limits itself: OpenAI-style token buckets (``Configuration/rateLimits``)
///   or the older sliding window (``Configuration/requestsPerMinute``), answering 429 past them.
/// - The Files and Batch APIs (`/v1/files`, `/v1/batches`), with a lifecycle driven by wall
///   time and batch faults of their own (see `FaultServer+Batches.swift`).
///
/// It counts everything it saw (``Counts``).
public final class FaultServer: @unchecked Sendable {
    /// What can go wrong with one chat request. The raw value is the name used in a mix.
    public enum Fault: String, CaseIterable, Sendable {
        /// A good answer.
        case none
        /// A 429 with `retry-after` in seconds (``Configuration/retryAfter``).
        case rateLimitRetryAfter = "429_retry_after"
        /// A 429 with `retry-after-ms`.
        case rateLimitRetryAfterMs = "429_retry_after_ms"
        /// A 429 with `retry-after` as an HTTP date one second ahead.
        case rateLimitHTTPDate = "429_http_date"
        /// A 429 with `x-ratelimit-remaining-tokens: 0` and `x-ratelimit-reset-tokens`.
        case rateLimitReset = "429_ratelimit_reset"
        /// A 429 `insufficient_quota` (not transient).
        case quota = "429_insufficient_quota"
        /// A 500 `server_error`.
        case server500 = "500"
        /// A 502.
        case server502 = "502"
        /// A 503 (Gemini: `UNAVAILABLE`).
        case server503 = "503"
        /// A 529 `overloaded_error` (Anthropic's "overloaded").
        case overloaded529 = "529"
        /// An answer after ``Configuration/slowDelay`` (streamed: the stream starts that late).
        case slow
        /// The connection closed in the middle of the body (streamed: after half the chunks).
        case reset
        /// Half the JSON with `finish_reason: length`.
        case truncated
        /// `content: null` and a `refusal`.
        case refusal
        /// The JSON inside prose and a code fence.
        case prose
        /// One entry missing.
        case wrongCount = "wrong_count"
        /// Index 1 twice, index 2 missing.
        case duplicateIndex = "duplicate_index"
        /// `angry: 1.5` in the first entry.
        case invalidDistribution = "invalid_distribution"
        /// A 200 with a chunked body that never ends: junk at full speed until the client hangs
        /// up (bounded by ``Configuration/endlessMaxBytes`` and ``Configuration/endlessMaxSeconds``).
        case endless
        /// A 500 whose `error.message` is 1 MiB long.
        case hugeError = "huge_error"
        /// A 401 whose `error.message` echoes the request's `Authorization` value, as a badly
        /// behaved server would.
        case echoAuth = "echo_auth"
        /// A 401 `invalid_api_key`.
        case auth
        /// A 403 `unsupported_country_region_territory`.
        case forbidden
        /// A 404 `model_not_found`.
        case modelNotFound = "model_not_found"
        /// A 301 whose `Location` is the same path on the same server.
        case redirect
        /// A 200 whose content has invalid UTF-8 bytes inside the first reason string.
        case invalidUTF8 = "invalid_utf8"
        /// A 200 whose first entry has `angry: 1e-320` and zeros, the second all zeros.
        case zeroTiny = "zero_tiny"
        /// Streaming: the JSON, then more content after its closing brace until the client
        /// hangs up. Not streaming: the JSON followed by a long tail, `finish_reason: length`.
        case runaway
    }

    /// What the server does: its fault mix, timing, limits and Batch API behaviour.
    public struct Configuration: Sendable {
        /// Weight of each fault; `none` gets what is left of 1.
        public var mix: [Fault: Double] = [:]
        /// Seeds every draw (faults, ids, batch plans): the same seed and requests give the same answers.
        public var seed: UInt64 = 1
        /// Added before every answer, in seconds.
        public var latency: Double = 0
        /// How long a `slow` answer takes (make it longer than the client's timeout).
        public var slowDelay: Double = 2
        /// Seconds the injected 429s ask the client to wait.
        public var retryAfter: Double = 0.05
        /// The older server-side limit: a sliding 60-second window of requests (and of tokens
        /// estimated as prompt bytes / 4 + 50 per item), refused with a 429 whose
        /// `x-ratelimit-reset-*` says ``retryAfter``. Ignored when ``rateLimits`` is set.
        public var requestsPerMinute: Int?
        /// See ``requestsPerMinute``.
        public var tokensPerMinute: Int?
        /// OpenAI-style limits: token buckets, truthful `x-ratelimit-*` headers on every chat
        /// answer, `retry-after-ms`/`retry-after` on a refusal. Takes precedence over
        /// ``requestsPerMinute``/``tokensPerMinute``.
        public var rateLimits: RateLimits?
        /// Append every chat request body, one per line, to this file (benchmarks replay them).
        public var bodyLog: String?
        /// Streaming: characters of content per chunk.
        public var streamChunkCharacters = 16
        /// Streaming: seconds between chunks.
        public var chunkDelay: Double = 0
        /// The never-ending answers (`endless`, streamed `runaway`) stop after this many body
        /// bytes, closing the connection, so a client with no limit of its own fails instead
        /// of hanging its test.
        public var endlessMaxBytes = 256 * 1024 * 1024
        /// ... or after this many seconds.
        public var endlessMaxSeconds: Double = 60
        /// The Files and Batch APIs: phase delays, limits, faults.
        public var batches = BatchConfiguration()
        /// The models the model lists name: OpenAI's and Anthropic's `GET /v1/models`, Gemini's
        /// `GET /v1beta/models` (`FaultServer+Models.swift`). `nil`: each answers 404, as on
        /// servers without one.
        public var models: [String]?
        /// The longest page of a model list (Anthropic's and Gemini's are paged).
        public var modelsPageLimit = 1000
        /// The model its chat answers name (`nil`: the model asked for, as OpenAI-compatible
        /// servers do).
        public var answerModel: String?
        /// Anthropic and Gemini routes: the API key every request must carry (Anthropic:
        /// `Authorization: Bearer KEY`; Gemini: `x-goog-api-key: KEY`, and no `key=` in the URL);
        /// a request without it is answered 401. `nil`: any.
        public var requiredKey: String?
        /// The wall clock in Unix seconds, for timestamps, limits, the timeline and the batch
        /// lifecycle (tests inject a ``ManualClock``). Delays (latency, chunk delays) are real.
        public var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }
        /// A well-behaved server: no faults, no limits, no latency.
        public init() {}
    }

    /// What the server saw.
    public struct Counts: Sendable, Equatable {
        /// Chat-completion requests (including malformed ones and those refused by a limit).
        public var requests = 0
        /// Requests by the fault they got (`none` for a good answer).
        public var faults: [String: Int] = [:]
        /// Items in the batches of requests, by fault.
        public var items: [String: Int] = [:]
        /// 429s sent because the server's own limit was exceeded.
        public var limitRejections = 0
        /// Requests that were not chat completions (bad JSON, no schema).
        public var malformed = 0
        /// Chat requests answered as a stream (`"stream": true`).
        public var streams = 0
        /// Anthropic and Gemini requests refused for a missing or wrong key.
        public var unauthenticated = 0
        /// The query strings (`?...`) of completion requests, as sent (a key in the URL would show here).
        public var queryStrings: [String] = []
        /// Completion requests by wire format (`openai`, `anthropic`, `gemini`).
        public var dialects: [String: Int] = [:]
        /// The OpenAI-style limits in force (`nil`: none).
        public var rateLimits: RateLimits?
        /// Per second since the first chat request: admitted requests, their tokens, 429s from
        /// the server's own limit (either kind).
        public var timeline: [SecondCounts] = []
        /// The Files and Batch APIs.
        public var batch = BatchCounts()
    }

    /// The HTTP server underneath (its port, connection counts).
    public let server: LoopbackHTTPServer
    /// `http://127.0.0.1:PORT/v1`, the base URL an OpenAI client wants.
    public var baseURL: String { server.baseURL + "/v1" }
    /// The configuration it was started with.
    public var configuration: Configuration { core.configuration }
    private let core: Core

    /// Starts serving on 127.0.0.1:`port` (0: a free port; see ``baseURL``).
    public init(_ configuration: Configuration, port: UInt16 = 0) throws {
        let core = Core(configuration)
        self.core = core
        var limits = LoopbackHTTPServer.Limits()
        limits.maxBodyBytes = max(limits.maxBodyBytes, configuration.batches.maxFileBytes + (1 << 20))
        server = try LoopbackHTTPServer(port: port, limits: limits) { request in core.answer(request) }
        core.port.store(server.port, ordering: .relaxed)
    }

    /// Parses a mix such as `429_retry_after=0.1,500=0.05,prose=0.02`.
    public static func parseMix(_ text: String) throws -> [Fault: Double] {
        var mix: [Fault: Double] = [:]
        for part in text.split(separator: ",") where !part.isEmpty {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let fault = Fault(rawValue: pair[0]), let weight = Double(pair[1]), weight >= 0 else {
                throw ServerError("'\(part)' is not FAULT=WEIGHT (faults: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            mix[fault] = weight
        }
        guard mix.values.reduce(0, +) <= 1 + 1e-9 else { throw ServerError("the fault weights add up to more than 1") }
        return mix
    }

    /// A snapshot of what the server saw. Batches that have reached a final state by now get
    /// their result files written first, so their lines are counted.
    public var counts: Counts { core.snapshot() }
    /// Stops serving and closes every connection.
    public func stop() { server.stop() }
}

/// A wall clock that moves only when told, for ``FaultServer/Configuration/clock``.
public final class ManualClock: Sendable {
    private let seconds: Mutex<Double>

    /// A clock at `start` Unix seconds.
    public init(start: Double = 1_800_000_000) { seconds = Mutex(start) }

    /// The current time in Unix seconds.
    public var now: Double { seconds.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by delta: Double) { seconds.withLock { $0 += delta } }

    /// The closure ``FaultServer/Configuration/clock`` wants.
    public var function: @Sendable () -> Double { { [self] in now } }
}

extension FaultServer {
    struct State {
        var rng: SplitMix64
        var counts = Counts()
        /// The legacy sliding window.
        var window: [(time: Double, tokens: Int)] = []
        var limiter: Limiter?
        var timelineOrigin: Double?

        /// The timeline slot for `now`, created on demand.
        mutating func second(at now: Double) -> Int {
            let origin = timelineOrigin ?? now
            timelineOrigin = origin
            let index = max(0, Int((now - origin).rounded(.down)))
            while counts.timeline.count <= index { counts.timeline.append(SecondCounts(second: counts.timeline.count)) }
            return index
        }
    }

    final class Core: Sendable {
        let configuration: Configuration
        let state: Mutex<State>
        let store: Mutex<BatchStore>
        let bodyLog: Mutex<FileHandle?>
        /// The listening port, for answers that name the server (a redirect without `Host`).
        let port = Atomic<Int>(0)

        init(_ configuration: Configuration) {
            self.configuration = configuration
            var initial = State(rng: SplitMix64(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 | 1))
            initial.counts.rateLimits = configuration.rateLimits
            if let limits = configuration.rateLimits { initial.limiter = Limiter(limits, now: configuration.clock()) }
            state = Mutex(initial)
            store = Mutex(BatchStore(seed: configuration.seed))
            var handle: FileHandle?
            if let path = configuration.bodyLog, FileManager.default.createFile(atPath: path, contents: nil) {
                handle = FileHandle(forWritingAtPath: path)
            }
            bodyLog = Mutex(handle)
        }

        func answer(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
            let route = request.route
            if let list = modelList(request) { return list }
            if route == "/v1/messages/batches" || route.hasPrefix("/v1/messages/batches/") { return messageBatches(request) }
            if route == "/v1/messages" { return countedChat(request, dialect: .anthropic) }
            if route == "/v1beta/batches" || route.hasPrefix("/v1beta/batches/") || route.hasPrefix("/v1beta/files/") || (route.hasPrefix("/v1beta/models/") && route.hasSuffix(":batchGenerateContent")) {
                return geminiBatches(request)
            }
            if route.hasPrefix("/v1beta/models/") && route.hasSuffix(":generateContent") { return countedChat(request, dialect: .gemini) }
            if route == "/v1/files" || route.hasPrefix("/v1/files/") { return files(request) }
            if route == "/v1/batches" || route.hasPrefix("/v1/batches/") { return batches(request) }
            return countedChat(request, dialect: .openAI)
        }

        /// ``chat(_:dialect:)``, counted by dialect, its body logged (``Configuration/bodyLog``).
        func countedChat(_ request: LoopbackHTTPServer.Request, dialect: FaultServer.Dialect) -> LoopbackHTTPServer.Action {
            bodyLog.withLock { handle in
                guard let handle, !request.body.contains(0x0A) else { return }
                handle.write(Data(request.body + [0x0A]))
            }
            state.withLock { $0.counts.dialects[dialect.rawValue, default: 0] += 1 }
            return chat(request, dialect: dialect)
        }

        func snapshot() -> Counts {
            let batch = store.withLock { store in
                store.refreshAll(now: configuration.clock(), configuration: configuration)
                return store.counts
            }
            var counts = state.withLock { $0.counts }
            counts.batch = batch
            return counts
        }
    }

    static func draw(_ rng: inout SplitMix64, _ mix: [Fault: Double]) -> Fault {
        let z = rng.next()
        var u = Double(z >> 11) / Double(1 << 53)
        for fault in Fault.allCases where fault != .none {
            let w = mix[fault] ?? 0
            if u < w { return fault }
            u -= w
        }
        return .none
    }

    /// A uniform draw in [0, 1).
    static func uniform(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    /// An OpenAI error body.
    static func errorBody(_ message: String, type: String, param: String? = nil, code: String?) -> String {
        let value: JSONValue = ["error": ["message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
                                          "code": code.map(JSONValue.string) ?? .null]]
        var bytes: [UInt8] = []
        encode(value, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension FaultServer.Counts {
    /// The counts as JSON text: `requests`, `faults`, `items`, `limit_rejections`, `malformed`
    /// (as always), then `streams`, `rate_limits`, `limit_summary`, `timeline` and `batch`.
    public var json: String { JSONSerializer.string(jsonValue) }

    /// The counts as a JSON value (see ``json``).
    public var jsonValue: JSONValue {
        func object(_ d: [String: Int]) -> JSONValue { .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })) }
        func number(_ d: Double?) -> JSONValue { d.map { .double(($0 * 1e6).rounded() / 1e6) } ?? .null }
        var root: JSONObject = ["requests": .int(requests), "faults": object(faults), "items": object(items),
                                "limit_rejections": .int(limitRejections), "malformed": .int(malformed), "streams": .int(streams),
                                "unauthenticated": .int(unauthenticated), "query_strings": .array(queryStrings.map(JSONValue.string)), "dialects": object(dialects)]
        root["rate_limits"] = rateLimits.map { l -> JSONValue in
            ["requests_per_minute": l.requestsPerMinute.map(JSONValue.int) ?? .null, "tokens_per_minute": l.tokensPerMinute.map(JSONValue.int) ?? .null,
             "window": .string(l.window.rawValue), "default_max_tokens": .int(l.defaultMaxTokens), "tokens_per_message": .int(l.tokensPerMessage)]
        } ?? .null
        root["limit_summary"] = limitSummary().map { s -> JSONValue in
            ["steady_seconds": .int(s.steadySeconds), "request_share": number(s.requestShare), "token_share": number(s.tokenShare),
             "rejection_rate": number(s.rejectionRate), "max_excess_requests": number(s.maxExcessRequests), "max_excess_tokens": number(s.maxExcessTokens)]
        } ?? .null
        root["timeline"] = .array(timeline.map { ["second": .int($0.second), "requests": .int($0.requests), "tokens": .int($0.tokens), "rejected": .int($0.rejected)] })
        root["batch"] = [
            "api_requests": .int(batch.apiRequests), "files_uploaded": .int(batch.filesUploaded), "bytes_uploaded": .int(batch.bytesUploaded),
            "batches_created": .int(batch.batchesCreated), "cancel_requests": .int(batch.cancelRequests), "statuses": object(batch.statuses),
            "line_outcomes": object(batch.lineOutcomes), "custom_ids_submitted": .int(batch.submitted.count),
            "custom_ids_submitted_more_than_once": .int(batch.submitted.values.filter { $0 > 1 }.count),
            "custom_ids_answered": .int(batch.answered.count), "submitted": object(batch.submitted), "answered": object(batch.answered),
            "errored": object(batch.errored),
        ]
        return .object(root)
    }
}
