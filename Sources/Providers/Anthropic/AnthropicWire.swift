public import Foundation
public import LLMKit

/// Anthropic's Messages API wire format, as the official SDK (PyPI `anthropic` 2.17.0,
/// `types/message_create_params.py`, `types/message.py`, `types/shared/error_response.py`)
/// defines it: request bodies, answers, the error envelope and the rate-limit headers.
///
/// A body holds only keys `MessageCreateParams` defines: `model`, `max_tokens`, `messages`,
/// `system`, and either `output_config.format` (`{"type": "json_schema", "schema"}`) or a forced
/// tool (`tools` with one tool whose `input_schema` is the answer schema, `tool_choice`
/// `{"type": "tool", "name"}`). The SDK defines no `temperature` and no `seed`: neither is sent.
public enum AnthropicWire {
    /// How the answer is constrained to the schema.
    public enum SchemaMode: String, Sendable {
        /// Structured outputs: `output_config: {"format": {"type": "json_schema", "schema": ...}}`.
        case outputConfig = "output_config"
        /// A forced tool whose `input_schema` is the answer schema; the answer is the tool call's input.
        case tool
    }

    /// The `max_tokens` sent when a request names no budget (the key is required).
    public static let defaultMaxTokens = 4096

    /// The `params` of a Messages request (the body of `POST /v1/messages`, and of a Message
    /// Batches request).
    public static func body(for request: CompletionRequest, mode: SchemaMode) -> JSONValue {
        var object = JSONObject()
        object["model"] = .string(request.model)
        object["max_tokens"] = .int(request.maxTokens ?? defaultMaxTokens)
        let system = request.messages.filter { $0.role == .system }.map(\.content)
        if !system.isEmpty { object["system"] = .string(system.joined(separator: "\n\n")) }
        object["messages"] = .array(request.messages.filter { $0.role != .system }.map(\.json))
        if let schema = request.responseSchema {
            switch mode {
            case .outputConfig:
                object["output_config"] = ["format": ["type": "json_schema", "schema": schema.schema]]
            case .tool:
                object["tools"] = [["name": .string(toolName(schema)), "description": "Return the answer in this exact shape.",
                                    "input_schema": schema.schema]]
                object["tool_choice"] = ["type": "tool", "name": .string(toolName(schema))]
            }
        }
        return .object(object)
    }

    /// A tool name Anthropic accepts (`^[a-zA-Z0-9_-]{1,64}$`) made from the schema's name.
    static func toolName(_ schema: ResponseSchema) -> String {
        let cleaned = String(schema.name.map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII || $0 == "_" || $0 == "-" ? $0 : "_" }.prefix(64))
        return cleaned.isEmpty ? "answer" : cleaned
    }

    /// Decodes an HTTP answer: a 2xx `Message` becomes a ``CompletionResponse`` (text blocks
    /// joined, or the forced tool's input as JSON text); anything else throws ``LLMError``.
    /// `stop_reason` `max_tokens` (and `model_context_window_exceeded`) is ``FinishReason/length``,
    /// `refusal` a refusal. Usage counts cache reads and writes as prompt tokens, cache reads as
    /// cached. The `anthropic-ratelimit-*` headers are also given under the `x-ratelimit-*`
    /// names the rate limiter follows.
    public static func decode(_ response: HTTPResponse, provider: String = "anthropic", model: String) throws(LLMError) -> CompletionResponse {
        let headers = limiterHeaders(response.headers, now: Date())
        let text = String(decoding: response.body, as: UTF8.self)
        let raw = RawResponse(status: response.status, headers: headers, body: text)
        let context = LLMError.Context(provider: provider, model: model, httpStatus: response.status,
                                       requestID: response.header("request-id") ?? response.header("x-request-id"))
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, body: try? StrictJSON.parse(text), headers: headers, context: context, raw: raw)
        }
        guard let body = try? StrictJSON.parse(bytes: response.body), body["type"]?.stringValue == "message",
              let blocks = body["content"]?.arrayValue else {
            throw LLMError(.invalidOutput, "\(provider) answered HTTP \(response.status) with something that is not a Message.", context: context, raw: raw)
        }
        return message(body, blocks: blocks, headers: headers, raw: raw, invalidUTF8: !UTF8Check.isValid(response.body))
    }

    /// A decoded `Message` object.
    static func message(_ body: JSONValue, blocks: [JSONValue], headers: [String: String], raw: RawResponse?, invalidUTF8: Bool) -> CompletionResponse {
        var pieces: [String] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text": if let t = block["text"]?.stringValue { pieces.append(t) }
            case "tool_use": if let input = block["input"] { pieces.append(input.description) }
            default: break
            }
        }
        let stop = body["stop_reason"]?.stringValue ?? "end_turn"
        let finish: FinishReason = switch stop {
        case "end_turn", "stop_sequence", "tool_use": .stop
        case "max_tokens", "model_context_window_exceeded": .length
        default: .other(stop)
        }
        let refusal = stop == "refusal" ? "Claude declined to answer (stop_reason refusal)." : nil
        var decoded = CompletionResponse(text: pieces.isEmpty ? nil : pieces.joined(), finishReason: finish, refusal: refusal,
                                         usage: body["usage"].map(usage), model: body["model"]?.stringValue, headers: headers, raw: raw)
        decoded.bodyWasInvalidUTF8 = invalidUTF8
        return decoded
    }

    /// `usage`: `input_tokens` + cache writes + cache reads are the prompt, cache reads the cached part.
    static func usage(_ u: JSONValue) -> TokenUsage {
        let read = u["cache_read_input_tokens"]?.intValue ?? 0
        let written = u["cache_creation_input_tokens"]?.intValue ?? 0
        return TokenUsage(promptTokens: (u["input_tokens"]?.intValue ?? 0) + read + written, completionTokens: u["output_tokens"]?.intValue ?? 0,
                          cachedTokens: read)
    }

    /// An error status and the `{"type": "error", "error": {"type", "message"}}` envelope as an
    /// ``LLMError``: 529 `overloaded_error` is `.unavailable` (transient), 402 billing is
    /// quota; the rest as any HTTP API's (429 rate limited with its `retry-after`, 401/403 fatal).
    static func error(status: Int, body: JSONValue?, headers: [String: String], context: LLMError.Context, raw: RawResponse) -> LLMError {
        let message = body?["error"]?["message"]?.stringValue ?? ""
        let said = message.isEmpty ? "" : ": \(message)"
        let provider = context.provider ?? "anthropic"
        switch status {
        case 529:
            return LLMError(.unavailable, "\(provider) is overloaded (HTTP 529)\(said).", context: context,
                            retryAfter: RateLimitHeaders.requestedDelay(headers, now: Date()), raw: raw)
        case 402:
            return LLMError(.quotaExhausted, "\(provider) refused the request for billing reasons\(said); check the plan and billing.", context: context, raw: raw)
        default:
            return ChatCompletionsWire.error(status: status, body: body, headers: headers, context: context, raw: raw)
        }
    }

    /// `headers` plus the `x-ratelimit-*` equivalents of `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`
    /// (the reset, an RFC 3339 time, as the duration from `now`) and `request-id` as `x-request-id`.
    public static func limiterHeaders(_ headers: [String: String], now: Date) -> [String: String] {
        var out = headers
        for kind in ["requests", "tokens"] {
            if let v = headers["anthropic-ratelimit-\(kind)-limit"] { out["x-ratelimit-limit-\(kind)"] = v }
            if let v = headers["anthropic-ratelimit-\(kind)-remaining"] { out["x-ratelimit-remaining-\(kind)"] = v }
            if let v = headers["anthropic-ratelimit-\(kind)-reset"], let date = rfc3339(v) {
                out["x-ratelimit-reset-\(kind)"] = "\(max(0, Int((date.timeIntervalSince(now) * 1000).rounded(.up))))ms"
            }
        }
        if let id = headers["request-id"], out["x-request-id"] == nil { out["x-request-id"] = id }
        return out
    }

    static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
