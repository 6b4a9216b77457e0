import Foundation
import LLMKit
import Synchronization

/// An OpenAI-compatible chat-completions server on 127.0.0.1 that answers well-formed requests
/// with content built from the request (valid for any batch: it reads N from the schema's
/// `maxItems`) and injects faults from a seeded mix. It can enforce an RPM/TPM limit itself,
/// answering 429 past it, and it counts everything it saw.
public final class FaultServer: @unchecked Sendable {
    /// What can go wrong with one request.
    public enum Fault: String, CaseIterable, Sendable {
        case none
        case rateLimitRetryAfter = "429_retry_after"
        case rateLimitRetryAfterMs = "429_retry_after_ms"
        case rateLimitHTTPDate = "429_http_date"
        case rateLimitReset = "429_ratelimit_reset"
        case quota = "429_insufficient_quota"
        case server500 = "500"
        case server502 = "502"
        case server503 = "503"
        case slow
        case reset
        case truncated
        case refusal
        case prose
        case wrongCount = "wrong_count"
        case duplicateIndex = "duplicate_index"
        case invalidDistribution = "invalid_distribution"
    }

    public struct Configuration: Sendable {
        /// Weight of each fault; `none` gets what is left of 1.
        public var mix: [Fault: Double] = [:]
        public var seed: UInt64 = 1
        /// Added before every answer, in seconds.
        public var latency: Double = 0
        /// How long a `slow` answer takes (make it longer than the client's timeout).
        public var slowDelay: Double = 2
        /// Seconds the 429s ask the client to wait.
        public var retryAfter: Double = 0.05
        /// Server-side limits (429 past them).
        public var requestsPerMinute: Int?
        public var tokensPerMinute: Int?
        /// Append every request body, one per line, to this file (benchmarks replay them).
        public var bodyLog: String?
        public init() {}
    }

    /// What the server saw.
    public struct Counts: Sendable, Equatable {
        public var requests = 0
        /// Requests by the fault they got (`none` for a good answer).
        public var faults: [String: Int] = [:]
        /// Items in the batches of requests, by fault.
        public var items: [String: Int] = [:]
        /// 429s sent because the server's own RPM/TPM limit was exceeded.
        public var limitRejections = 0
        /// Requests that were not chat completions (bad JSON, no schema).
        public var malformed = 0
    }

    public let server: LoopbackHTTPServer
    /// `http://127.0.0.1:PORT/v1`, the base URL an OpenAI client wants.
    public var baseURL: String { server.baseURL + "/v1" }
    public var configuration: Configuration { core.configuration }
    private let core: Core

    public init(_ configuration: Configuration, port: UInt16 = 0) throws {
        let core = Core(configuration)
        self.core = core
        server = try LoopbackHTTPServer(port: port) { request in core.answer(request) }
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

    public var counts: Counts { core.state.withLock { $0.counts } }
    public func stop() { server.stop() }
}

extension FaultServer.Counts {
    /// The counts as JSON text.
    public var json: String {
        func object(_ d: [String: Int]) -> String { "{" + d.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}" }
        return "{\"requests\":\(requests),\"faults\":\(object(faults)),\"items\":\(object(items)),\"limit_rejections\":\(limitRejections),\"malformed\":\(malformed)}"
    }
}

extension FaultServer {
    struct State {
        var rng: SplitMix64
        var counts = Counts()
        var window: [(time: Double, tokens: Int)] = []
    }

    final class Core: Sendable {
        let configuration: Configuration
        let state: Mutex<State>
        let bodyLog: Mutex<FileHandle?>

        init(_ configuration: Configuration) {
            self.configuration = configuration
            state = Mutex(State(rng: SplitMix64(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 | 1)))
            var handle: FileHandle?
            if let path = configuration.bodyLog, FileManager.default.createFile(atPath: path, contents: nil) {
                handle = FileHandle(forWritingAtPath: path)
            }
            bodyLog = Mutex(handle)
        }

    func answer(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        let c = configuration
        bodyLog.withLock { handle in
            guard let handle, !request.body.contains(0x0A) else { return }
            handle.write(Data(request.body + [0x0A]))
        }
        guard request.method == "POST", request.path.hasSuffix("/chat/completions"),
              let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              let format = body["response_format"] as? [String: Any], let wrapper = format["json_schema"] as? [String: Any],
              let schema = wrapper["schema"] as? [String: Any], let properties = schema["properties"] as? [String: Any],
              let itemsSchema = properties["items"] as? [String: Any], let count = itemsSchema["maxItems"] as? Int
        else {
            state.withLock { $0.counts.requests += 1; $0.counts.malformed += 1 }
            return .json(400, #"{"error":{"message":"expected a chat completion with a json_schema response_format","type":"invalid_request_error","param":null,"code":null}}"#)
        }
        let entrySchema = (itemsSchema["items"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
        let wantsReason = entrySchema["reason"] != nil
        let messages = (body["messages"] as? [[String: Any]]) ?? []
        let text = messages.compactMap { $0["content"] as? String }.joined(separator: "\n")
        let tokens = text.utf8.count / 4 + 50 * count

        // Limits, then the fault draw, under one lock.
        let now = Date().timeIntervalSince1970
        let (fault, limited): (Fault, Bool) = state.withLock { s in
            s.counts.requests += 1
            s.window.removeAll { now - $0.time >= 60 }
            let overRPM = c.requestsPerMinute.map { s.window.count >= $0 } ?? false
            let overTPM = c.tokensPerMinute.map { s.window.reduce(0) { $0 + $1.tokens } + tokens > $0 } ?? false
            if overRPM || overTPM {
                s.counts.limitRejections += 1
                return (.none, true)
            }
            s.window.append((now, tokens))
            let fault = FaultServer.draw(&s.rng, c.mix)
            s.counts.faults[fault.rawValue, default: 0] += 1
            s.counts.items[fault.rawValue, default: 0] += count
            return (fault, false)
        }
        if limited {
            let reset = c.retryAfter
            return .json(429, #"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                         headers: [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "\(Int(reset * 1000))ms"), ("x-request-id", "req-limit")])
        }
        let delay = c.latency
        // Each entry depends only on its own data point (`N. descriptions#values`), so the same item
        // gets the same answer in any batch: resumed and uninterrupted runs can be compared.
        let points = FaultServer.dataPoints(in: messages.last?["content"] as? String ?? "", count: count)
        let entries = (1...count).map { i in
            FaultServer.entry(index: i, seedText: points.map { $0[i - 1] } ?? "\(text)#\(i)", reason: wantsReason)
        }
        func completion(_ content: String?, finish: String = "stop", refusal: String? = nil) -> LoopbackHTTPServer.Action {
            var message: [String: Any] = ["role": "assistant", "content": content ?? NSNull()]
            if let refusal { message["refusal"] = refusal }
            let object: [String: Any] = [
                "id": "chatcmpl-fault", "object": "chat.completion", "model": body["model"] ?? "fault", "system_fingerprint": "fp_fault",
                "choices": [["index": 0, "finish_reason": finish, "message": message]],
                "usage": ["prompt_tokens": text.utf8.count / 4, "completion_tokens": 40 * count, "total_tokens": text.utf8.count / 4 + 40 * count,
                          "prompt_tokens_details": ["cached_tokens": 0]],
            ]
            let data = try! JSONSerialization.data(withJSONObject: object)
            return .respond(status: 200, headers: [("Content-Type", "application/json"), ("x-request-id", "req-\(fault.rawValue)"),
                                                   ("x-ratelimit-remaining-requests", "1000"), ("x-ratelimit-remaining-tokens", "1000000")],
                            body: Array(data), delay: delay)
        }
        func document(_ list: [String]) -> String { "{\"items\":[" + list.joined(separator: ",") + "]}" }
        func error(_ status: Int, _ type: String, _ code: String?, headers: [(String, String)] = []) -> LoopbackHTTPServer.Action {
            let codeText = code.map { "\"\($0)\"" } ?? "null"
            return .json(status, "{\"error\":{\"message\":\"injected \(fault.rawValue)\",\"type\":\"\(type)\",\"param\":null,\"code\":\(codeText)}}", headers: headers + [("x-request-id", "req-\(fault.rawValue)")], delay: delay)
        }
        let wait = c.retryAfter
        switch fault {
        case .none: return completion(document(entries))
        case .rateLimitRetryAfter: return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after", String(wait))])
        case .rateLimitRetryAfterMs: return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after-ms", String(Int(wait * 1000)))])
        case .rateLimitHTTPDate:
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after", formatter.string(from: Date().addingTimeInterval(1)))])
        case .rateLimitReset:
            return error(429, "tokens", "rate_limit_exceeded", headers: [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "\(Int(wait * 1000))ms")])
        case .quota: return error(429, "insufficient_quota", "insufficient_quota")
        case .server500: return error(500, "server_error", nil)
        case .server502: return error(502, "server_error", nil)
        case .server503: return error(503, "server_error", nil)
        case .slow: return .json(200, "{}", delay: c.slowDelay)
        case .reset: return .closeMidBody(status: 200, declaredLength: 4096, sent: Array("{\"id\":\"chatcmpl-fault\",\"choices\":[{\"index\":0,".utf8))
        case .truncated:
            let full = document(entries)
            return completion(String(full.prefix(full.count / 2)), finish: "length")
        case .refusal: return completion(nil, refusal: "I'm sorry, I can't help with that.")
        case .prose: return completion("Here are the adjusted labels:\n```json\n" + document(entries) + "\n```\nLet me know if you need more.")
        case .wrongCount: return completion(document(Array(entries.dropLast())))
        case .duplicateIndex:
            guard count > 1 else { return completion(document(entries)) }
            var list = entries
            list[1] = FaultServer.entry(index: 1, seedText: text, reason: wantsReason)
            return completion(document(list))
        case .invalidDistribution:
            var list = entries
            list[0] = FaultServer.entryWithValue(index: 1, angry: 1.5, reason: wantsReason)
            return completion(document(list))
        }
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

    /// The data points of a user message written by a prompt version (`1. a#... | 2. b#...`),
    /// without their numbers; `nil` when the message does not have `count` of them.
    static func dataPoints(in message: String, count: Int) -> [String]? {
        var points: [String] = []
        var rest = Substring(message)
        for n in 1...count {
            guard let start = rest.range(of: "\(n). ") else { return nil }
            let afterNumber = rest[start.upperBound...]
            let end = n < count ? afterNumber.range(of: " \(n + 1). ")?.lowerBound ?? afterNumber.endIndex : afterNumber.endIndex
            points.append(String(afterNumber[..<end]).trimmingCharacters(in: CharacterSet(charactersIn: " |")))
            rest = afterNumber[end...]
        }
        return points
    }

    /// A valid entry whose values depend only on the seed text and the index.
    static func entry(index: Int, seedText: String, reason: Bool) -> String {
        var hash: UInt64 = 1469598103934665603
        for byte in seedText.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        let emotions = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
        let main = Int(hash % 8)
        let values = emotions.indices.map { i -> String in i == main ? "0.7" : (i == 5 ? (main == 5 ? "0.7" : "0.3") : (main == 5 && i == 7 ? "0.3" : "0")) }
        var fields = ["\"index\":\(index)"] + zip(emotions, values).map { "\"\($0)\":\($1)" }
        if reason { fields.append("\"reason\":\"fault-server answer \(index)\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func entryWithValue(index: Int, angry: Double, reason: Bool) -> String {
        let emotions = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
        var fields = ["\"index\":\(index)"] + emotions.map { "\"\($0)\":\($0 == "angry" ? String(angry) : "0")" }
        if reason { fields.append("\"reason\":\"invalid\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
