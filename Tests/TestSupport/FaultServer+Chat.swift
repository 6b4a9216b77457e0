import Foundation
import LLMKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The chat-completions endpoint: the content generator (shared with the Batch API), the
// faults, the limits gate, and streaming.
//
// Streaming follows OpenAI's chat-completion chunk format (openai/openai-openapi, openapi.yaml,
// `CreateChatCompletionStreamResponse` and `ChatCompletionStreamOptions`): `data: {chunk}` events
// whose `object` is `chat.completion.chunk` and whose `choices[0].delta` carries `role` (first
// chunk), then `content` (or `refusal`) pieces, then a chunk with an empty delta and the
// `finish_reason`; with `stream_options.include_usage` "an additional chunk will be streamed
// before the `data: [DONE]` message. The `usage` field on this chunk shows the token usage
// statistics for the entire request, and the `choices` field will always be an empty array. All
// other chunks will also include a `usage` field, but with a null value."; then `data: [DONE]`.

extension FaultServer {
    /// A chat-completion request the content generator understands: a `json_schema`
    /// `response_format` whose `items` property has `maxItems` (the batch size).
    struct ChatRequest: Sendable {
        var body: JSONValue
        var model: JSONValue
        var count: Int
        var wantsReason: Bool
        var messages: [JSONValue]
        /// Every message's text content, joined by newlines.
        var text: String
        var stream: Bool
        var includeUsage: Bool

        /// The wire format the request came in (and its answer goes out in).
        var dialect = Dialect.openAI
        /// Anthropic: the name of the forced tool the answer goes to (`nil`: structured outputs).
        var toolName: String?

        init?(_ body: JSONValue) {
            guard body.objectValue != nil else { return nil }
            self.init(body: body, schema: body["response_format"]?["json_schema"]?["schema"], model: body["model"] ?? "fault",
                      messages: body["messages"]?.arrayValue ?? [])
            stream = body["stream"]?.boolValue == true
            includeUsage = body["stream_options"]?["include_usage"]?.boolValue == true
        }

        /// A request of any dialect: its answer schema (whose `items` property has `maxItems`),
        /// model and messages (objects with a string `content`).
        init?(body: JSONValue, schema: JSONValue?, model: JSONValue, messages: [JSONValue]) {
            guard let itemsSchema = schema?["properties"]?["items"],
                  let count = itemsSchema["maxItems"]?.intValue, (1...10_000).contains(count)
            else { return nil }
            self.body = body
            self.count = count
            self.model = model
            wantsReason = itemsSchema["items"]?["properties"]?["reason"] != nil
            self.messages = messages
            text = messages.compactMap { $0["content"]?.stringValue }.joined(separator: "\n")
            stream = false
            includeUsage = false
        }

        var promptTokens: Int { text.utf8.count / 4 }
        var completionTokens: Int { 40 * count }

        /// Valid entries, one per index. Each depends only on its own data point
        /// (`N. descriptions#values`), so the same item gets the same answer in any batch:
        /// resumed and uninterrupted runs can be compared.
        func entries() -> [String] {
            let points = FaultServer.dataPoints(in: messages.last?["content"]?.stringValue ?? "", count: count)
            return (1...count).map { i in FaultServer.entry(index: i, seedText: points.map { $0[i - 1] } ?? "\(text)#\(i)", reason: wantsReason) }
        }
    }

    /// The assistant message of a 200 answer.
    struct Reply: Sendable {
        var content: String?
        var finish = "stop"
        var refusal: String?
        /// `content` holds ``FaultServer/invalidUTF8Marker`` where invalid bytes are sent.
        var invalidUTF8 = false
    }

    static let invalidUTF8Marker = "@@fault-server-invalid-utf8@@"
    /// A lone continuation, bytes never valid in UTF-8, and an encoded UTF-16 surrogate.
    static let invalidUTF8Bytes: [UInt8] = [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80]
    static let runawayTail = "\nAnd one more thing about these labels: each was chosen with care, weighing the descriptions. "

    /// The reply for a content fault (`none` included); `nil` for faults that are not content.
    static func reply(_ fault: Fault, for request: ChatRequest) -> Reply? {
        let entries = request.entries()
        func document(_ list: [String]) -> String { "{\"items\":[" + list.joined(separator: ",") + "]}" }
        let emotions = Self.emotions
        switch fault {
        case .none:
            return Reply(content: document(entries))
        case .truncated:
            let full = document(entries)
            return Reply(content: String(full.prefix(full.count / 2)), finish: "length")
        case .refusal:
            return Reply(content: nil, refusal: "I'm sorry, I can't help with that.")
        case .prose:
            return Reply(content: "Here are the adjusted labels:\n```json\n" + document(entries) + "\n```\nLet me know if you need more.")
        case .wrongCount:
            return Reply(content: document(Array(entries.dropLast())))
        case .duplicateIndex:
            guard request.count > 1 else { return Reply(content: document(entries)) }
            var list = entries
            list[1] = entry(index: 1, seedText: request.text, reason: request.wantsReason)
            return Reply(content: document(list))
        case .invalidDistribution:
            var list = entries
            list[0] = entryWithValue(index: 1, angry: 1.5, reason: request.wantsReason)
            return Reply(content: document(list))
        case .invalidUTF8:
            var list = entries
            list[0] = entry(index: 1, values: emotions.map { $0 == "neutral" ? "1" : "0" }, reason: "fault-server answer 1 \(invalidUTF8Marker) with broken bytes")
            return Reply(content: document(list), invalidUTF8: true)
        case .zeroTiny:
            var list = entries
            list[0] = entry(index: 1, values: emotions.map { $0 == "angry" ? "1e-320" : "0" }, reason: request.wantsReason ? "tiny" : nil)
            if request.count > 1 { list[1] = entry(index: 2, values: emotions.map { _ in "0" }, reason: request.wantsReason ? "zeros" : nil) }
            return Reply(content: document(list))
        case .runaway:
            return Reply(content: document(entries) + String(repeating: runawayTail, count: 160), finish: "length")
        default:
            return nil
        }
    }

    static func usage(_ request: ChatRequest) -> JSONValue {
        ["prompt_tokens": .int(request.promptTokens), "completion_tokens": .int(request.completionTokens),
         "total_tokens": .int(request.promptTokens + request.completionTokens), "prompt_tokens_details": ["cached_tokens": 0]]
    }

    /// A `chat.completion` object.
    static func completion(_ request: ChatRequest, _ reply: Reply, created: Int) -> JSONValue {
        var message: JSONObject = ["role": "assistant", "content": reply.content.map(JSONValue.string) ?? .null]
        if let refusal = reply.refusal { message["refusal"] = .string(refusal) }
        return ["id": "chatcmpl-fault", "object": "chat.completion", "created": .int(created), "model": request.model,
                "system_fingerprint": "fp_fault",
                "choices": [["index": 0, "finish_reason": .string(reply.finish), "message": .object(message)]],
                "usage": usage(request)]
    }

    /// JSON text as bytes; with `invalidUTF8`, every marker becomes invalid bytes.
    static func render(_ value: JSONValue, invalidUTF8: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        encode(value, into: &bytes)
        guard invalidUTF8 else { return bytes }
        let marker = Array(invalidUTF8Marker.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == marker[0], i + marker.count <= bytes.count, bytes[i..<(i + marker.count)].elementsEqual(marker) {
                out += invalidUTF8Bytes
                i += marker.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// Compact JSON text (see ``encode(_:into:)``).
    static func text(_ value: JSONValue) -> String { String(decoding: render(value), as: UTF8.self) }

    /// Compact JSON, as `JSONSerializer` writes it (keys in insertion order, the same number
    /// format and escapes), but straight into bytes: the answers are built on every request.
    static func encode(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += [110, 117, 108, 108]
        case .bool(let b): out += b ? [116, 114, 117, 101] : [102, 97, 108, 115, 101]
        case .number(let n): out += JSONSerializer.format(n).utf8
        case .string(let s): encode(string: s, into: &out)
        case .array(let elements):
            out.append(91)
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(44) }
                encode(element, into: &out)
            }
            out.append(93)
        case .object(let object):
            out.append(123)
            var first = true
            for (key, member) in object {
                if !first { out.append(44) }
                first = false
                encode(string: key, into: &out)
                out.append(58)
                encode(member, into: &out)
            }
            out.append(125)
        }
    }

    /// A JSON string literal: quotes, backslashes, control characters and U+2028/U+2029
    /// escaped, everything else copied as UTF-8. Written through a pointer into a buffer of
    /// the worst-case size, then appended once: cheap even in a debug build.
    static func encode(string: String, into out: inout [UInt8]) {
        var text = string
        let escaped = text.withUTF8 { source -> [UInt8] in
            guard let input = source.baseAddress else { return [34, 34] }
            let count = source.count
            return [UInt8](unsafeUninitializedCapacity: count * 6 + 2) { buffer, written in
                let output = buffer.baseAddress!
                var j = 0
                output[j] = 34; j += 1
                var i = 0
                while i < count {
                    let b = input[i]
                    if b >= 0x20 && b != 34 && b != 92 && b != 0xE2 {
                        output[j] = b; j += 1; i += 1
                        continue
                    }
                    if b == 0xE2 {
                        if i + 2 < count && input[i + 1] == 0x80 && (input[i + 2] == 0xA8 || input[i + 2] == 0xA9) {
                            output[j] = 92; output[j + 1] = 117; output[j + 2] = 50; output[j + 3] = 48; output[j + 4] = 50
                            output[j + 5] = input[i + 2] == 0xA8 ? 56 : 57
                            j += 6; i += 3
                        } else {
                            output[j] = b; j += 1; i += 1
                        }
                        continue
                    }
                    output[j] = 92
                    switch b {
                    case 34: output[j + 1] = 34; j += 2
                    case 92: output[j + 1] = 92; j += 2
                    case 10: output[j + 1] = 110; j += 2
                    case 13: output[j + 1] = 114; j += 2
                    case 9: output[j + 1] = 116; j += 2
                    case 8: output[j + 1] = 98; j += 2
                    case 12: output[j + 1] = 102; j += 2
                    default:
                        let hex: StaticString = "0123456789abcdef"
                        output[j + 1] = 117; output[j + 2] = 48; output[j + 3] = 48
                        output[j + 4] = hex.utf8Start[Int(b >> 4)]; output[j + 5] = hex.utf8Start[Int(b & 15)]
                        j += 6
                    }
                    i += 1
                }
                output[j] = 34; j += 1
                written = j
            }
        }
        out.append(contentsOf: escaped)
    }

    /// Replaces `base` headers by those of `extra` with the same name, then appends `extra`.
    static func merge(_ base: [(String, String)], _ extra: [(String, String)]) -> [(String, String)] {
        let names = Set(extra.map { $0.0.lowercased() })
        return base.filter { !names.contains($0.0.lowercased()) } + extra
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(t.tm_wday)]), \(two(t.tm_mday)) \(months[Int(t.tm_mon)]) \(t.tm_year + 1900) \(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) GMT"
    }

    /// The body of a `huge_error`: an error whose message is exactly 1 MiB of ASCII.
    static let hugeErrorBody: [UInt8] = {
        let sentence = "The server had an error while processing your request and is telling you all about it. "
        let message = String(String(repeating: sentence, count: (1 << 20) / sentence.utf8.count + 1).prefix(1 << 20))
        return Array(errorBody(message, type: "server_error", code: nil).utf8)
    }()

    /// The body of an `endless` answer: the start of a completion, then this junk forever.
    static let endlessStart = Array("{\"id\":\"chatcmpl-endless\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"".utf8)
    static let endlessJunk: [UInt8] = Array(String(repeating: "endless junk ", count: 64 * 1024 / 13).utf8)

    /// The content cut into pieces of `size` characters; the invalid-UTF-8 marker stays whole.
    static func pieces(_ text: String, size: Int) -> [String] {
        let size = max(1, size)
        var result: [String] = []
        let segments = text.components(separatedBy: invalidUTF8Marker)
        for (i, segment) in segments.enumerated() {
            if i > 0 { result.append(invalidUTF8Marker) }
            var rest = Substring(segment)
            while !rest.isEmpty {
                result.append(String(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
        }
        return result
    }
}

extension FaultServer.Core {
    typealias Action = LoopbackHTTPServer.Action
    typealias Fault = FaultServer.Fault

    private enum Gate {
        case pass(Fault, limitHeaders: [(String, String)]?)
        case refused(Action)
    }

    func chat(_ request: LoopbackHTTPServer.Request, dialect: FaultServer.Dialect = .openAI) -> Action {
        let c = configuration
        let body = try? StrictJSON.parse(bytes: request.body)
        let parsedRequest: FaultServer.ChatRequest? = switch dialect {
        case .openAI: request.route.hasSuffix("/chat/completions") ? body.flatMap { FaultServer.ChatRequest($0) } : nil
        case .anthropic: body.flatMap(FaultServer.ChatRequest.init(anthropic:))
        case .gemini: body.flatMap { FaultServer.ChatRequest(gemini: $0, route: request.route) }
        }
        let keyProblem = dialect == .openAI ? nil : FaultServer.keyProblem(request, dialect: dialect, key: c.requiredKey)
        state.withLock { s in
            if request.path.contains("?") { s.counts.queryStrings.append(String(request.path.drop { $0 != "?" })) }
        }
        guard request.method == "POST", let body, var parsed = parsedRequest, keyProblem == nil else {
            let now = c.clock()
            let headers = state.withLock { s -> [(String, String)] in
                s.counts.requests += 1
                if keyProblem == nil { s.counts.malformed += 1 } else { s.counts.unauthenticated += 1 }
                return s.limiter?.headers(at: now) ?? []
            }
            if let keyProblem { return FaultServer.nativeError(dialect, status: 401, message: keyProblem, headers: headers, delay: 0) }
            if dialect != .openAI {
                return FaultServer.nativeError(dialect, status: 400, message: "expected a request whose answer is constrained to a schema with an items array", headers: headers, delay: 0)
            }
            return .json(400, #"{"error":{"message":"expected a chat completion with a json_schema response_format","type":"invalid_request_error","param":null,"code":null}}"#,
                         headers: headers)
        }
        if let model = c.answerModel { parsed.model = .string(model) }

        // Limits, then the fault draw, under one lock.
        let now = c.clock()
        let legacyTokens = parsed.text.utf8.count / 4 + 50 * parsed.count
        let cost = c.rateLimits.map { FaultServer.requestTokenCost(body, limits: $0) } ?? legacyTokens
        let gate: Gate = state.withLock { s in
            s.counts.requests += 1
            let second = s.second(at: now)
            var limitHeaders: [(String, String)]?
            if var limiter = s.limiter {
                let decision = limiter.admit(tokenCost: cost, at: now)
                s.limiter = limiter
                guard decision.admitted else {
                    s.counts.limitRejections += 1
                    s.counts.timeline[second].rejected += 1
                    return .refused(Self.refusal(decision, model: parsed.model, latency: c.latency))
                }
                limitHeaders = decision.headers
            } else if c.requestsPerMinute != nil || c.tokensPerMinute != nil {
                s.window.removeAll { now - $0.time >= 60 }
                let overRPM = c.requestsPerMinute.map { s.window.count >= $0 } ?? false
                let overTPM = c.tokensPerMinute.map { s.window.reduce(0) { $0 + $1.tokens } + legacyTokens > $0 } ?? false
                if overRPM || overTPM {
                    s.counts.limitRejections += 1
                    s.counts.timeline[second].rejected += 1
                    return .refused(.json(429, #"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                                          headers: [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "\(Int(c.retryAfter * 1000))ms"),
                                                    ("x-request-id", "req-limit")]))
                }
                s.window.append((now, legacyTokens))
            }
            s.counts.timeline[second].requests += 1
            s.counts.timeline[second].tokens += cost
            let fault = FaultServer.draw(&s.rng, c.mix)
            s.counts.faults[fault.rawValue, default: 0] += 1
            s.counts.items[fault.rawValue, default: 0] += parsed.count
            if parsed.stream { s.counts.streams += 1 }
            return .pass(fault, limitHeaders: limitHeaders)
        }
        guard case .pass(let fault, let limitHeaders) = gate else {
            if case .refused(let action) = gate { return action }
            fatalError("unreachable")
        }
        return respond(fault, to: parsed, request: request, limitHeaders: limitHeaders, now: now)
    }

    /// The 429 of the OpenAI-style limiter, worded as OpenAI words it.
    static func refusal(_ d: FaultServer.Limiter.Decision, model: JSONValue, latency: Double) -> Action {
        let name = model.stringValue ?? "the model"
        var headers = d.headers
        let message: String
        if let wait = d.retryAfter {
            headers += [("retry-after-ms", String(Int((wait * 1000 - 1e-6).rounded(.up)))), ("retry-after", String(Int((wait - 1e-9).rounded(.up))))]
            let isRequests = d.exhausted == "requests"
            let bucket = isRequests ? d.requests : d.tokenBucket
            let used = bucket.map { max(0, Int(($0.capacity - $0.balance).rounded())) } ?? 0
            message = "Rate limit reached for \(name) in organization org-fault on \(isRequests ? "requests per min (RPM)" : "tokens per min (TPM)"): "
                + "Limit \(bucket?.limit ?? 0), Used \(used), Requested \(isRequests ? 1 : d.tokens). Please try again in \(FaultServer.goDuration(wait))."
        } else {
            message = "Request too large for \(name) in organization org-fault on tokens per min (TPM): Limit \(d.tokenBucket?.limit ?? 0), "
                + "Requested \(d.tokens). The input or output tokens must be reduced in order to run successfully."
        }
        headers.append(("x-request-id", "req-limit"))
        return .json(429, FaultServer.errorBody(message, type: d.exhausted ?? "tokens", code: "rate_limit_exceeded"), headers: headers, delay: latency)
    }

    private func respond(_ fault: Fault, to parsed: FaultServer.ChatRequest, request: LoopbackHTTPServer.Request,
                         limitHeaders: [(String, String)]?, now: Double) -> Action {
        let c = configuration
        let delay = c.latency
        let base = limitHeaders ?? []
        let requestID = ("x-request-id", "req-\(fault.rawValue)")
        let dialect = parsed.dialect
        let okHeaders = [("Content-Type", "application/json"), requestID]
            + (limitHeaders ?? FaultServer.plentyHeaders(dialect, now: now))

        func completion(_ reply: FaultServer.Reply) -> Action {
            if parsed.stream { return stream(parsed, reply, headers: FaultServer.merge(base, [requestID]), delay: delay) }
            let object = FaultServer.answer(parsed, reply, created: Int(now))
            return .respond(status: 200, headers: okHeaders, body: FaultServer.render(object, invalidUTF8: reply.invalidUTF8), delay: delay)
        }
        func error(_ status: Int, _ type: String, _ code: String?, message: String? = nil, headers: [(String, String)] = []) -> Action {
            if dialect != .openAI {
                return FaultServer.nativeError(dialect, status: status, message: message ?? "injected \(fault.rawValue)", retryAfter: status == 429 ? c.retryAfter : nil,
                                               headers: FaultServer.merge(base, headers + [requestID]), delay: delay)
            }
            let body = FaultServer.errorBody(message ?? "injected \(fault.rawValue)", type: type, code: code)
            return .json(status, body, headers: FaultServer.merge(base, headers + [requestID]), delay: delay)
        }

        let wait = c.retryAfter
        switch fault {
        case .rateLimitRetryAfter where dialect == .anthropic:
            return error(429, "rate_limit_error", nil, headers: [("retry-after", String(wait))] + FaultServer.anthropicExhausted(now: now, wait: wait))
        case .rateLimitRetryAfter where dialect == .gemini:
            return error(429, "RESOURCE_EXHAUSTED", nil)
        case .rateLimitRetryAfter: return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after", String(wait))])
        case .overloaded529: return error(529, "overloaded_error", nil, message: "Overloaded (injected)")
        case .rateLimitRetryAfterMs: return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after-ms", String(Int(wait * 1000)))])
        case .rateLimitHTTPDate:
            return error(429, "requests", "rate_limit_exceeded", headers: [("retry-after", FaultServer.httpDate(Date().addingTimeInterval(1)))])
        case .rateLimitReset:
            return error(429, "tokens", "rate_limit_exceeded", headers: [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "\(Int(wait * 1000))ms")])
        case .quota: return error(429, "insufficient_quota", "insufficient_quota")
        case .server500: return error(500, "server_error", nil)
        case .server502: return error(502, "server_error", nil)
        case .server503: return error(503, "server_error", nil)
        case .slow:
            if parsed.stream, let reply = FaultServer.reply(.none, for: parsed) {
                return stream(parsed, reply, headers: FaultServer.merge(base, [requestID]), delay: c.slowDelay)
            }
            return .json(200, "{}", delay: c.slowDelay)
        case .reset:
            if parsed.stream, let reply = FaultServer.reply(.none, for: parsed) {
                return stream(parsed, reply, headers: FaultServer.merge(base, [requestID]), delay: delay, cutAfterHalf: true)
            }
            return .closeMidBody(status: 200, declaredLength: 4096, sent: Array("{\"id\":\"chatcmpl-fault\",\"choices\":[{\"index\":0,".utf8))
        case .endless:
            let maxBytes = c.endlessMaxBytes, maxSeconds = c.endlessMaxSeconds
            return .stream(status: 200, headers: FaultServer.merge(base, [("Content-Type", "application/json"), requestID]), delay: delay) { writer in
                let started = Date()
                guard writer.send(FaultServer.endlessStart) else { return }
                while writer.bytesSent < maxBytes, Date().timeIntervalSince(started) < maxSeconds {
                    guard writer.send(FaultServer.endlessJunk) else { return }
                }
                writer.abort()
            }
        case .hugeError:
            return .respond(status: 500, headers: FaultServer.merge(base, [("Content-Type", "application/json"), requestID]), body: FaultServer.hugeErrorBody, delay: delay)
        case .echoAuth:
            let value = request.headers["authorization"] ?? "(none)"
            return error(401, "invalid_request_error", "invalid_api_key", message: "Incorrect API key provided: \(value). You can find your API key in your account settings.")
        case .auth:
            return error(401, "invalid_request_error", "invalid_api_key", message: "Incorrect API key provided. You can find your API key in your account settings.")
        case .forbidden:
            return error(403, "request_forbidden", "unsupported_country_region_territory", message: "Country, region, or territory not supported")
        case .modelNotFound:
            let name = parsed.model.stringValue ?? "\(parsed.model)"
            return error(404, "invalid_request_error", "model_not_found", message: "The model `\(name)` does not exist or you do not have access to it.")
        case .redirect:
            let host = request.headers["host"] ?? "127.0.0.1:\(port.load(ordering: .relaxed))"
            let body = FaultServer.errorBody("Moved Permanently (injected redirect)", type: "redirect", code: nil)
            return .json(301, body, headers: FaultServer.merge(base, [("Location", "http://\(host)\(request.path)"), requestID]), delay: delay)
        case .runaway where parsed.stream:
            let reply = FaultServer.reply(.none, for: parsed)!
            return stream(parsed, reply, headers: FaultServer.merge(base, [requestID]), delay: delay, runaway: true)
        case .none, .truncated, .refusal, .prose, .wrongCount, .duplicateIndex, .invalidDistribution, .invalidUTF8, .zeroTiny, .runaway:
            return completion(FaultServer.reply(fault, for: parsed)!)
        }
    }

    /// A streamed answer: role chunk, content (or refusal) pieces, the finish chunk, the usage
    /// chunk when asked for, `[DONE]`. `cutAfterHalf`: the connection is closed after half the
    /// pieces. `runaway`: after the content, more content until the client hangs up (bounded
    /// like `endless`), never a finish chunk.
    private func stream(_ request: FaultServer.ChatRequest, _ reply: FaultServer.Reply, headers: [(String, String)], delay: Double,
                        cutAfterHalf: Bool = false, runaway: Bool = false) -> Action {
        let c = configuration
        let created = Int(c.clock())
        let pieces = FaultServer.pieces(reply.refusal ?? reply.content ?? "", size: c.streamChunkCharacters)
        let key = reply.refusal != nil ? "refusal" : "content"
        return .stream(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")] + headers, delay: delay) { writer in
            func chunk(_ delta: JSONObject, finish: String?) -> JSONValue {
                var object: JSONObject = ["id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": .int(created), "model": request.model,
                                          "system_fingerprint": "fp_fault",
                                          "choices": [["index": 0, "delta": .object(delta), "logprobs": .null, "finish_reason": finish.map(JSONValue.string) ?? .null]]]
                if request.includeUsage { object["usage"] = .null }
                return .object(object)
            }
            func event(_ value: JSONValue, invalidUTF8: Bool = false) -> Bool {
                writer.send(Array("data: ".utf8) + FaultServer.render(value, invalidUTF8: invalidUTF8) + [10, 10])
            }
            guard event(chunk(["role": "assistant", "content": "", "refusal": .null], finish: nil)) else { return }
            for (i, piece) in pieces.enumerated() {
                if cutAfterHalf && i >= pieces.count / 2 { writer.abort(); return }
                if c.chunkDelay > 0 { guard writer.pause(c.chunkDelay) else { return } }
                let broken = reply.invalidUTF8 && piece == FaultServer.invalidUTF8Marker
                guard event(chunk([key: .string(piece)], finish: nil), invalidUTF8: broken) else { return }
            }
            if runaway {
                let started = Date()
                while writer.bytesSent < c.endlessMaxBytes, Date().timeIntervalSince(started) < c.endlessMaxSeconds {
                    if c.chunkDelay > 0 { guard writer.pause(c.chunkDelay) else { return } }
                    guard event(chunk(["content": .string(FaultServer.runawayTail)], finish: nil)) else { return }
                }
                writer.abort()
                return
            }
            guard event(chunk([:], finish: reply.finish)) else { return }
            if request.includeUsage {
                let usage: JSONValue = ["id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": .int(created), "model": request.model,
                                        "system_fingerprint": "fp_fault", "choices": [], "usage": FaultServer.usage(request)]
                guard event(usage) else { return }
            }
            writer.send("data: [DONE]\n\n")
        }
    }
}

extension FaultServer {
    static let emotions = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]

    /// The data points of a user message written by a prompt version (`1. a#... | 2. b#...`),
    /// without their numbers and the spaces and bars around them; `nil` when the message does
    /// not have `count` of them. (A byte search: the markers are ASCII.)
    static func dataPoints(in message: String, count: Int) -> [String]? {
        let bytes = Array(message.utf8)
        var points: [String] = []
        points.reserveCapacity(count)
        var position = 0
        for n in 1...count {
            guard let start = search(Array("\(n). ".utf8), in: bytes, from: position) else { return nil }
            var from = start + "\(n). ".utf8.count
            var end = n < count ? search(Array(" \(n + 1). ".utf8), in: bytes, from: from) ?? bytes.count : bytes.count
            position = end
            while from < end, bytes[from] == 32 || bytes[from] == 124 { from += 1 }
            while end > from, bytes[end - 1] == 32 || bytes[end - 1] == 124 { end -= 1 }
            points.append(String(decoding: bytes[from..<end], as: UTF8.self))
        }
        return points
    }

    /// A valid entry whose values depend only on the seed text and the index.
    static func entry(index: Int, seedText: String, reason: Bool) -> String {
        var hash: UInt64 = 1469598103934665603
        for byte in seedText.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        return entry(index: index, values: mainValues[Int(hash % 8)], reason: reason ? "fault-server answer \(index)" : nil)
    }

    /// The values of an entry whose main emotion is `main`: 0.7 for it and 0.3 neutral (or
    /// happy when neutral is the main one), 0 elsewhere.
    private static let mainValues: [[String]] = (0..<8).map { main in
        emotions.indices.map { i -> String in i == main ? "0.7" : (i == 5 ? (main == 5 ? "0.7" : "0.3") : (main == 5 && i == 7 ? "0.3" : "0")) }
    }
    private static let emotionKeys = emotions.map { ",\"\($0)\":" }

    static func entryWithValue(index: Int, angry: Double, reason: Bool) -> String {
        entry(index: index, values: emotions.map { $0 == "angry" ? String(angry) : "0" }, reason: reason ? "invalid" : nil)
    }

    /// An entry with the given value literals (in emotion order) and reason text.
    static func entry(index: Int, values: [String], reason: String?) -> String {
        var text = "{\"index\":"
        text.reserveCapacity(200)
        text += String(index)
        for (key, value) in zip(emotionKeys, values) {
            text += key
            text += value
        }
        if let reason {
            text += ",\"reason\":\""
            text += reason
            text += "\""
        }
        text += "}"
        return text
    }
}
