import Foundation
import LLMKit

// Anthropic's Messages API and Google's Gemini generateContent, in the shapes of their official
// SDKs (PyPI `anthropic` 2.17.0: `types/message.py` `Message`, `types/usage.py` `Usage`,
// `types/stop_reason.py`, `types/shared/error_response.py` `ErrorResponse` with the error types of
// `types/shared/error_object.py`; PyPI `google-genai` 3.6.1: `types.py`
// `GenerateContentResponse`, `Candidate`, `FinishReason`, `GenerateContentResponseUsageMetadata`).
// Every canned answer is checked against those types by `scripts/sdk-check.sh` (see
// `Tests/ProvidersTests/SDK`).
//
// - `POST /v1/messages`: the schema is `output_config.format.schema` (structured outputs) or the
//   `input_schema` of the tool `tool_choice` forces; the answer is a `Message` with a text block
//   (structured outputs) or a `tool_use` block whose `input` is the answer object. Faults:
//   429 `rate_limit_error` with `retry-after` and `anthropic-ratelimit-requests-*`, 529
//   `overloaded_error`, 500 `api_error`, `truncated` as `stop_reason: max_tokens`, `refusal` as
//   `stop_reason: refusal` with no content.
// - `POST /v1beta/models/{model}:generateContent`: the schema is
//   `generationConfig.responseJsonSchema` or `responseSchema` with `responseMimeType:
//   application/json`; 429 `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail, 503
//   `UNAVAILABLE`, 500 `INTERNAL`; `truncated` as `finishReason: MAX_TOKENS`, `refusal` as
//   `finishReason: SAFETY` with no content.

extension FaultServer {
    /// The wire format of a completion request.
    public enum Dialect: String, Sendable {
        case openAI = "openai", anthropic, gemini
    }

    /// Why a native request's credentials are refused, or `nil` when they are fine. A key in
    /// the URL is refused too: the Gemini key belongs in `x-goog-api-key`.
    static func keyProblem(_ request: LoopbackHTTPServer.Request, dialect: Dialect, key: String?) -> String? {
        guard let key else { return nil }
        if request.path.contains("key=") { return "The API key must not be sent in the URL." }
        switch dialect {
        case .anthropic: return request.headers["authorization"] == "Bearer \(key)" ? nil : "invalid x-api-key"
        case .gemini: return request.headers["x-goog-api-key"] == key ? nil : "API key not valid. Please pass a valid API key."
        case .openAI: return nil
        }
    }

    /// Headers of a success when no limiter runs: plenty left.
    static func plentyHeaders(_ dialect: Dialect, now: Double) -> [(String, String)] {
        switch dialect {
        case .openAI: [("x-ratelimit-remaining-requests", "1000"), ("x-ratelimit-remaining-tokens", "1000000")]
        case .anthropic: [("anthropic-ratelimit-requests-limit", "4000"), ("anthropic-ratelimit-requests-remaining", "3999"),
                          ("anthropic-ratelimit-requests-reset", rfc3339(now + 60)), ("anthropic-ratelimit-tokens-limit", "2000000"),
                          ("anthropic-ratelimit-tokens-remaining", "1999000"), ("anthropic-ratelimit-tokens-reset", rfc3339(now + 60))]
        case .gemini: []
        }
    }

    /// Anthropic's headers for an exhausted request limit that resets in `wait` seconds.
    static func anthropicExhausted(now: Double, wait: Double) -> [(String, String)] {
        [("anthropic-ratelimit-requests-limit", "4000"), ("anthropic-ratelimit-requests-remaining", "0"),
         ("anthropic-ratelimit-requests-reset", rfc3339(now + wait))]
    }

    static func rfc3339(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// Anthropic's error `type` for a status (`types/shared/error_object.py`).
    static func anthropicErrorType(_ status: Int) -> String {
        switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 529: "overloaded_error"
        default: "api_error"
        }
    }

    /// Google's canonical error `status` for an HTTP status.
    static func googleStatus(_ status: Int) -> String {
        switch status {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 429: "RESOURCE_EXHAUSTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }

    /// An error body of a native dialect: Anthropic's `ErrorResponse`, Google's `{"error": {code, message, status, details}}`.
    static func nativeErrorBody(_ dialect: Dialect, status: Int, message: String, retryAfter: Double? = nil) -> JSONValue {
        switch dialect {
        case .anthropic:
            return ["type": "error", "error": ["type": .string(anthropicErrorType(status)), "message": .string(message)], "request_id": "req_fault"]
        case .gemini, .openAI:
            var error: JSONObject = ["code": .int(status), "message": .string(message), "status": .string(googleStatus(status))]
            if let retryAfter {
                error["details"] = [["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": .string("\(retryAfter)s")]]
            }
            return ["error": .object(error)]
        }
    }

    static func nativeError(_ dialect: Dialect, status: Int, message: String, retryAfter: Double? = nil, headers: [(String, String)], delay: Double) -> LoopbackHTTPServer.Action {
        .json(status, text(nativeErrorBody(dialect, status: status, message: message, retryAfter: retryAfter)), headers: headers, delay: delay)
    }

    /// The 200 answer in the request's dialect.
    static func answer(_ request: ChatRequest, _ reply: Reply, created: Int) -> JSONValue {
        switch request.dialect {
        case .openAI: completion(request, reply, created: created)
        case .anthropic: anthropicMessage(request, reply)
        case .gemini: geminiResponse(request, reply)
        }
    }

    /// A `Message`: a `tool_use` block when the request forced a tool and the content is a JSON
    /// object, else a text block; none for a refusal.
    static func anthropicMessage(_ request: ChatRequest, _ reply: Reply) -> JSONValue {
        var content: [JSONValue] = []
        if let text = reply.content {
            if let tool = request.toolName, let input = try? StrictJSON.parse(text), input.objectValue != nil, !reply.invalidUTF8 {
                content.append(["type": "tool_use", "id": "toolu_fault", "name": .string(tool), "input": input])
            } else {
                content.append(["type": "text", "text": .string(text)])
            }
        }
        let stop: String = reply.refusal != nil ? "refusal" : reply.finish == "length" ? "max_tokens" : request.toolName != nil && reply.content != nil ? "tool_use" : "end_turn"
        return ["id": "msg_fault", "type": "message", "role": "assistant", "model": request.model, "content": .array(content),
                "stop_reason": .string(stop), "stop_sequence": .null,
                "usage": ["input_tokens": .int(request.promptTokens), "output_tokens": .int(request.completionTokens),
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0]]
    }

    /// A `GenerateContentResponse` with one candidate.
    static func geminiResponse(_ request: ChatRequest, _ reply: Reply) -> JSONValue {
        var candidate: JSONObject = ["index": 0]
        if let text = reply.content { candidate["content"] = ["role": "model", "parts": [["text": .string(text)]]] }
        candidate["finishReason"] = .string(reply.refusal != nil ? "SAFETY" : reply.finish == "length" ? "MAX_TOKENS" : "STOP")
        return ["candidates": [.object(candidate)],
                "usageMetadata": ["promptTokenCount": .int(request.promptTokens), "candidatesTokenCount": .int(request.completionTokens),
                                  "totalTokenCount": .int(request.promptTokens + request.completionTokens)],
                "modelVersion": request.model, "responseId": "fault-response"]
    }
}

extension FaultServer.ChatRequest {
    /// A Messages API body (`MessageCreateParams`): schema from `output_config.format` or the forced tool.
    init?(anthropic body: JSONValue) {
        var schema: JSONValue?
        var tool: String?
        if body["output_config"]?["format"]?["type"]?.stringValue == "json_schema" {
            schema = body["output_config"]?["format"]?["schema"]
        } else if body["tool_choice"]?["type"]?.stringValue == "tool", let name = body["tool_choice"]?["name"]?.stringValue {
            schema = body["tools"]?.arrayValue?.first { $0["name"]?.stringValue == name }?["input_schema"]
            tool = name
        }
        var messages = body["messages"]?.arrayValue ?? []
        if let system = body["system"]?.stringValue { messages.insert(["role": "system", "content": .string(system)], at: 0) }
        guard body["max_tokens"]?.intValue != nil else { return nil }
        self.init(body: body, schema: schema, model: body["model"] ?? "fault", messages: messages)
        dialect = .anthropic
        toolName = tool
    }

    /// A generateContent body; the model comes from the route `/v1beta/models/{model}:generateContent`.
    init?(gemini body: JSONValue, route: String) {
        let config = body["generationConfig"]
        guard config?["responseMimeType"]?.stringValue == "application/json" else { return nil }
        let schema = config?["responseJsonSchema"] ?? config?["responseSchema"]
        var messages: [JSONValue] = (body["contents"]?.arrayValue ?? []).map { content in
            let text = (content["parts"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            return ["role": content["role"] ?? "user", "content": .string(text)]
        }
        if let system = body["systemInstruction"]?["parts"]?.arrayValue?.compactMap({ $0["text"]?.stringValue }).joined() {
            messages.insert(["role": "system", "content": .string(system)], at: 0)
        }
        let name = route.dropFirst("/v1beta/models/".count).dropLast(":generateContent".count)
        self.init(body: body, schema: schema, model: .string(String(name).removingPercentEncoding ?? String(name)), messages: messages)
        dialect = .gemini
    }
}
