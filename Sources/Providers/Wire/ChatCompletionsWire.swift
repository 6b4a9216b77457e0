import Foundation
public import LLMKit
import Synchronization

/// The OpenAI Chat Completions wire format, which llama.cpp's server also speaks:
/// request bodies, response decoding (whole or streamed) and the error envelope
/// (REFERENCE.md sections 4 and 5).
public enum ChatCompletionsWire {
    /// A request body. `response_format` uses the nested `json_schema` shape, the only one
    /// llama.cpp applies (the flat shape is silently ignored there). `schema` rewrites the
    /// response schema for a dialect (OpenAI's strict mode refuses `maxLength`).
    public static func body(for request: CompletionRequest, extra: [(String, JSONValue)] = [], maxTokensKey: String = "max_tokens",
                            stream: Bool = false, schema: (JSONValue) -> JSONValue = { $0 }) -> JSONValue {
        var object = JSONObject()
        object["model"] = .string(request.model)
        object["messages"] = .array(request.messages.map(\.json))
        if let responseSchema = request.responseSchema {
            object["response_format"] = [
                "type": "json_schema",
                "json_schema": ["name": .string(responseSchema.name), "strict": .bool(responseSchema.strict), "schema": schema(responseSchema.schema)],
            ]
        }
        if let t = request.temperature { object["temperature"] = .double(t) }
        if let seed = request.seed { object["seed"] = .int(seed) }
        if let maxTokens = request.maxTokens { object[maxTokensKey] = .int(maxTokens) }
        if stream {
            object["stream"] = true
            object["stream_options"] = ["include_usage": true]
        }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// `schema` without the given keywords, at every level (for dialects that refuse them).
    public static func removing(_ keywords: Set<String>, from schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let o): .object(JSONObject(o.compactMap { keywords.contains($0.key) ? nil : ($0.key, removing(keywords, from: $0.value)) }))
        case .array(let a): .array(a.map { removing(keywords, from: $0) })
        default: schema
        }
    }

    /// Decodes an HTTP answer: a 2xx becomes a ``CompletionResponse`` (a whole chat completion,
    /// or a server-sent event stream of chunks); anything else, or a 2xx that is neither,
    /// throws ``LLMError`` with the raw answer attached. Bytes that are not UTF-8 are decoded
    /// with U+FFFD and flagged (``CompletionResponse/bodyWasInvalidUTF8``).
    public static func decode(_ response: HTTPResponse, provider: String, model: String) throws(LLMError) -> CompletionResponse {
        try decode(response, provider: provider, model: model, streamed: nil)
    }

    /// ``decode(_:provider:model:)`` of an answer whose stream was already decoded as it
    /// arrived (`streamed`, from the ``StreamMonitor`` that read every byte of the body), so its
    /// chunks are not parsed a second time.
    static func decode(_ response: HTTPResponse, provider: String, model: String, streamed: StreamDecoder?) throws(LLMError) -> CompletionResponse {
        let text = String(decoding: response.body, as: UTF8.self)
        let raw = RawResponse(status: response.status, headers: response.headers, body: text)
        let context = LLMError.Context(provider: provider, model: model, httpStatus: response.status, requestID: response.header("x-request-id"))
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context, raw: raw)
        }
        let invalidUTF8 = !UTF8Check.isValid(response.body)
        var decoded = isEventStream(response, text: text)
            ? try (streamed ?? StreamDecoder(body: response.body)).response(provider: provider, context: context, raw: raw)
            : try decodeWhole(invalidUTF8 ? Array(text.utf8) : response.body, provider: provider, context: context, raw: raw)
        decoded.bodyWasInvalidUTF8 = invalidUTF8
        return decoded
    }

    static func isEventStream(_ response: HTTPResponse, text: String) -> Bool {
        response.header("content-type")?.lowercased().hasPrefix("text/event-stream") == true || text.hasPrefix("data:")
    }

    static func invalid(_ why: String, provider: String, context: LLMError.Context, raw: RawResponse) -> LLMError {
        LLMError(.invalidOutput, "\(provider) answered HTTP \(raw.status) with something that is not a chat completion: \(why).", context: context, raw: raw)
    }

    private static func decodeWhole(_ bytes: [UInt8], provider: String, context: LLMError.Context, raw: RawResponse) throws(LLMError) -> CompletionResponse {
        guard let body = try? StrictJSON.parse(bytes: bytes) else { throw invalid("the body is not JSON", provider: provider, context: context, raw: raw) }
        guard let choice = body["choices"]?.arrayValue?.first else { throw invalid("no choices", provider: provider, context: context, raw: raw) }
        let message = choice["message"]
        var decoded = CompletionResponse(
            text: message?["content"]?.stringValue,
            finishReason: FinishReason(choice["finish_reason"]?.stringValue ?? "stop"),
            refusal: message?["refusal"]?.stringValue,
            usage: body["usage"].map(usage), timings: body["timings"].map(timings), model: body["model"]?.stringValue,
            headers: raw.headers, raw: raw)
        decoded.systemFingerprint = body["system_fingerprint"]?.stringValue
        return decoded
    }

    static func usage(_ u: JSONValue) -> TokenUsage {
        TokenUsage(promptTokens: u["prompt_tokens"]?.intValue ?? 0, completionTokens: u["completion_tokens"]?.intValue ?? 0,
                   cachedTokens: u["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
    }

    static func timings(_ t: JSONValue) -> ServerTimings {
        ServerTimings(promptTokens: t["prompt_n"]?.intValue ?? 0, promptMilliseconds: t["prompt_ms"]?.doubleValue ?? 0,
                      predictedTokens: t["predicted_n"]?.intValue ?? 0, predictedMilliseconds: t["predicted_ms"]?.doubleValue ?? 0,
                      cachedTokens: t["cache_n"]?.intValue ?? 0)
    }

    /// Maps an error status and the `{"error": {"message", "type", "code"}}` envelope to an ``LLMError``.
    static func error(status: Int, body: JSONValue?, headers: [String: String], context: LLMError.Context, raw: RawResponse) -> LLMError {
        let envelope = body?["error"]
        let serverMessage = envelope?["message"]?.stringValue ?? envelope?.stringValue ?? String(raw.body.prefix(200))
        let code = envelope?["code"]?.stringValue ?? envelope?["type"]?.stringValue
        let provider = context.provider ?? "the server"
        let said = serverMessage.isEmpty ? "" : ": \(serverMessage)"
        let retryAfter = RateLimitHeaders.requestedDelay(headers, now: Date())
        func make(_ kind: LLMError.Kind, _ message: String) -> LLMError {
            LLMError(kind, message, context: context, retryAfter: retryAfter, raw: raw)
        }
        switch status {
        case 401: return make(.authentication, "\(provider) rejected the credentials\(said).")
        case 403: return make(.permissionDenied, "\(provider) refused access\(said).")
        case 404: return make(.notFound, "\(provider) does not know this model or endpoint\(said).")
        case 408, 409: return make(.conflict, "\(provider) answered HTTP \(status)\(said).")
        case 429 where code == "insufficient_quota":
            return make(.quotaExhausted, "\(provider) says the quota is exhausted\(said); check the plan and billing.")
        case 429: return make(.rateLimited, "\(provider) is rate limiting requests\(said).")
        case 503 where serverMessage.lowercased().contains("loading"):
            return make(.unavailable, "\(provider) is still loading the model\(said).")
        case 500...599: return make(.serverError, "\(provider) failed with HTTP \(status)\(said).")
        case 300...399:
            return make(.badRequest, "\(provider) redirected the request (HTTP \(status)) to \(headers["location"] ?? "no location") and it was not followed.")
        default: return make(.badRequest, "\(provider) refused the request (HTTP \(status))\(said).")
        }
    }
}

extension ChatCompletionsWire {
    /// A chat-completion body for a response that came from no HTTP server (a provider
    /// written in Swift), so it can be recorded and replayed like any other.
    public static func synthesizedRaw(for response: CompletionResponse) -> RawResponse {
        var message = JSONObject()
        message["role"] = "assistant"
        message["content"] = response.text.map(JSONValue.string) ?? .null
        if let refusal = response.refusal { message["refusal"] = .string(refusal) }
        var body = JSONObject()
        body["choices"] = [["index": 0, "finish_reason": .string(response.finishReason.description), "message": .object(message)]]
        if let model = response.model { body["model"] = .string(model) }
        if let u = response.usage {
            body["usage"] = ["prompt_tokens": .int(u.promptTokens), "completion_tokens": .int(u.completionTokens),
                             "total_tokens": .int(u.totalTokens), "prompt_tokens_details": ["cached_tokens": .int(u.cachedTokens)]]
        }
        return RawResponse(status: 200, headers: response.headers, body: JSONValue.object(body).description)
    }
}

/// A streamed chat completion decoded line by line: `data: {chunk}` lines until
/// `data: [DONE]`; the content is the concatenated `delta.content`, usage and timings come
/// with the last chunks, and a stream that ends without a finish reason (cut off) counts as
/// `length`. Every line is parsed once: as it arrives (``StreamMonitor`` feeds it while the
/// body streams in), or from a whole body.
struct StreamDecoder: Sendable {
    private var content = ""
    private var sawContent = false
    private var refusal: String?
    private var finish: String?
    private var model: String?
    private var fingerprint: String?
    private var usage: TokenUsage?
    private var timings: ServerTimings?
    /// The first line that makes the stream an error: a chunk that is not JSON, or an error envelope.
    private var failure: Failure?
    /// `[DONE]` or a failure was seen: later lines change nothing.
    private(set) var finished = false
    #if DEBUG
    private let counter = StreamChunkCounter.current
    #endif

    private enum Failure: Sendable {
        case notJSON
        case envelope(JSONValue)
    }

    init() {}

    /// Decodes the whole lines of `body`; a last line without its newline was cut off (by the
    /// client's runaway detection) and does not count.
    init(body: [UInt8]) {
        var start = body.startIndex
        while !finished, let newline = body[start...].firstIndex(of: 0x0A) {
            _ = take(line: body[start..<newline])
            start = newline + 1
        }
    }

    /// Takes one line without its newline and returns the content piece it carries, if any.
    /// Lines after the end are still read for their piece (a monitor counts them) but change
    /// nothing.
    mutating func take(line: ArraySlice<UInt8>) -> String? {
        guard line.starts(with: "data:".utf8) else { return nil }
        // Whitespace and newlines: a CR of a CRLF line ending included.
        let payload = String(decoding: line.dropFirst(5), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if payload == "[DONE]" {
            finished = true
            return nil
        }
        #if DEBUG
        counter?.add()
        #endif
        guard let chunk = try? StrictJSON.parse(payload) else {
            if !finished { failure = .notJSON }
            finished = true
            return nil
        }
        let choice = chunk["choices"]?.arrayValue?.first
        let piece = choice?["delta"]?["content"]?.stringValue
        guard !finished else { return piece }
        if chunk["error"] != nil {
            failure = .envelope(chunk)
            finished = true
            return piece
        }
        if let choice {
            if let piece { content += piece; sawContent = true }
            if let more = choice["delta"]?["refusal"]?.stringValue { refusal = (refusal ?? "") + more }
            if let reason = choice["finish_reason"]?.stringValue { finish = reason }
        }
        if let u = chunk["usage"], u != .null { usage = ChatCompletionsWire.usage(u) }
        if let t = chunk["timings"], t != .null { timings = ChatCompletionsWire.timings(t) }
        model = chunk["model"]?.stringValue ?? model
        fingerprint = chunk["system_fingerprint"]?.stringValue ?? fingerprint
        return piece
    }

    /// The answer, or the error the stream carried.
    func response(provider: String, context: LLMError.Context, raw: RawResponse) throws(LLMError) -> CompletionResponse {
        switch failure {
        case .notJSON?:
            throw ChatCompletionsWire.invalid("a stream chunk is not JSON", provider: provider, context: context, raw: raw)
        case .envelope(let chunk)?:
            throw ChatCompletionsWire.error(status: chunk["error"]?["code"]?.intValue ?? 500, body: chunk, headers: raw.headers, context: context, raw: raw)
        case nil:
            var decoded = CompletionResponse(text: sawContent ? content : nil, finishReason: FinishReason(finish ?? "length"), refusal: refusal,
                                             usage: usage, timings: timings, model: model, headers: raw.headers, raw: raw)
            decoded.systemFingerprint = fingerprint
            return decoded
        }
    }
}

#if DEBUG
/// Debug builds only, a test hook: counts the stream chunks parsed by the tasks that bind
/// ``current``, so a test can show that a streamed answer is parsed once.
package final class StreamChunkCounter: Sendable {
    @TaskLocal package static var current: StreamChunkCounter?
    private let value = Atomic<Int>(0)
    package init() {}
    /// Chunks parsed so far.
    package var count: Int { value.load(ordering: .relaxed) }
    func add() { value.wrappingAdd(1, ordering: .relaxed) }
}
#endif
