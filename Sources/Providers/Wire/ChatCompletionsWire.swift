public import LLMKit

/// The OpenAI Chat Completions wire format, which llama.cpp's server also speaks:
/// request bodies, response decoding and the error envelope (REFERENCE.md sections 4 and 5).
public enum ChatCompletionsWire {
    /// A request body. `response_format` uses the nested `json_schema` shape, the only one
    /// llama.cpp applies (the flat shape is silently ignored there).
    public static func body(for request: CompletionRequest, extra: [(String, JSONValue)] = [], maxTokensKey: String = "max_tokens") -> JSONValue {
        var object = JSONObject()
        object["model"] = .string(request.model)
        object["messages"] = .array(request.messages.map { ["role": .string($0.role.rawValue), "content": .string($0.content)] })
        if let schema = request.responseSchema {
            object["response_format"] = [
                "type": "json_schema",
                "json_schema": ["name": .string(schema.name), "strict": .bool(schema.strict), "schema": schema.schema],
            ]
        }
        if let t = request.temperature { object["temperature"] = .double(t) }
        if let seed = request.seed { object["seed"] = .int(seed) }
        if let maxTokens = request.maxTokens { object[maxTokensKey] = .int(maxTokens) }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// Decodes an HTTP answer: a 2xx becomes a ``CompletionResponse``; anything else, or a
    /// 2xx whose body is not a chat completion, throws ``LLMError`` with the raw answer attached.
    public static func decode(_ response: HTTPResponse, provider: String, model: String) throws(LLMError) -> CompletionResponse {
        let text = String(decoding: response.body, as: UTF8.self)
        let raw = RawResponse(status: response.status, headers: response.headers, body: text)
        let context = LLMError.Context(provider: provider, model: model, httpStatus: response.status, requestID: response.header("x-request-id"))
        let parsed = try? StrictJSON.parse(text)
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, body: parsed, headers: response.headers, context: context, raw: raw)
        }
        func invalid(_ why: String) -> LLMError {
            LLMError(.invalidOutput(path: nil), "\(provider) answered HTTP \(response.status) with something that is not a chat completion: \(why).", context: context, raw: raw)
        }
        guard let body = parsed else { throw invalid("the body is not JSON") }
        guard let choice = body["choices"]?.arrayValue?.first else { throw invalid("no choices") }
        let message = choice["message"]
        let usage = body["usage"].map { u in
            TokenUsage(promptTokens: u["prompt_tokens"]?.intValue ?? 0, completionTokens: u["completion_tokens"]?.intValue ?? 0,
                       cachedTokens: u["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
        }
        let timings = body["timings"].map { t in
            ServerTimings(promptTokens: t["prompt_n"]?.intValue ?? 0, promptMilliseconds: t["prompt_ms"]?.doubleValue ?? 0,
                          predictedTokens: t["predicted_n"]?.intValue ?? 0, predictedMilliseconds: t["predicted_ms"]?.doubleValue ?? 0,
                          cachedTokens: t["cache_n"]?.intValue ?? 0)
        }
        var decoded = CompletionResponse(
            text: message?["content"]?.stringValue,
            finishReason: FinishReason(choice["finish_reason"]?.stringValue ?? "stop"),
            refusal: message?["refusal"]?.stringValue,
            usage: usage, timings: timings, model: body["model"]?.stringValue,
            headers: response.headers, raw: raw)
        decoded.systemFingerprint = body["system_fingerprint"]?.stringValue
        return decoded
    }

    /// Maps an error status and the `{"error": {"message", "type", "code"}}` envelope to an ``LLMError``.
    static func error(status: Int, body: JSONValue?, headers: [String: String], context: LLMError.Context, raw: RawResponse) -> LLMError {
        let envelope = body?["error"]
        let serverMessage = envelope?["message"]?.stringValue ?? envelope?.stringValue ?? String(raw.body.prefix(200))
        let code = envelope?["code"]?.stringValue ?? envelope?["type"]?.stringValue
        let provider = context.provider ?? "the server"
        let said = serverMessage.isEmpty ? "" : ": \(serverMessage)"
        switch status {
        case 401: return LLMError(.authentication, "\(provider) rejected the credentials\(said).", context: context, raw: raw)
        case 403: return LLMError(.permissionDenied, "\(provider) refused access\(said).", context: context, raw: raw)
        case 404: return LLMError(.notFound, "\(provider) does not know this model or endpoint\(said).", context: context, raw: raw)
        case 408, 409: return LLMError(.conflict(status: status), "\(provider) answered HTTP \(status)\(said).", context: context, raw: raw)
        case 429:
            if code == "insufficient_quota" {
                return LLMError(.quotaExhausted, "\(provider) says the quota is exhausted\(said); check the plan and billing.", context: context, raw: raw)
            }
            return LLMError(.rateLimited(retryAfter: retryAfter(headers)), "\(provider) is rate limiting requests\(said).", context: context, raw: raw)
        case 503 where serverMessage.lowercased().contains("loading"):
            return LLMError(.unavailable, "\(provider) is still loading the model\(said).", context: context, raw: raw)
        case 500...599: return LLMError(.serverError(status: status), "\(provider) failed with HTTP \(status)\(said).", context: context, raw: raw)
        default: return LLMError(.badRequest, "\(provider) refused the request (HTTP \(status))\(said).", context: context, raw: raw)
        }
    }

    /// Seconds from `retry-after-ms` or `retry-after` (seconds), when given.
    static func retryAfter(_ headers: [String: String]) -> Double? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init) { return ms / 1000 }
        if let s = headers["retry-after"].flatMap(Double.init) { return s }
        return nil
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
