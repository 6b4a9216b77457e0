import Foundation
public import LLMKit

/// Google's Gemini API wire format (`generateContent`), as the official SDK defines it (PyPI
/// `google-genai` 3.6.1: `models.py` `_GenerateContentParameters_to_mldev` and
/// `_GenerateContentConfig_to_mldev`, `types.py` `GenerateContentResponse`, `FinishReason`,
/// `BlockedReason`): request bodies, answers and the error envelope.
///
/// A body: `contents` (role `user` or `model`, one text part each), `systemInstruction`, and
/// `generationConfig` with `responseMimeType: application/json`, the answer schema as
/// `responseJsonSchema` (or as the OpenAPI-subset `responseSchema`, ``SchemaMode/responseSchema``),
/// `maxOutputTokens` from the token budget, `temperature` and `seed` when given.
public enum GeminiWire {
    /// How the answer schema is sent.
    public enum SchemaMode: String, Sendable {
        /// `generationConfig.responseJsonSchema`: the JSON Schema as it is.
        case responseJsonSchema
        /// `generationConfig.responseSchema`: Gemini's `Schema` (upper-case type names; keywords it lacks removed).
        case responseSchema
    }

    /// The body of `POST /v1beta/models/{model}:generateContent` (also a batch request's `request`).
    public static func body(for request: CompletionRequest, mode: SchemaMode) -> JSONValue {
        var object = JSONObject()
        object["contents"] = .array(request.messages.filter { $0.role != .system }.map { m in
            ["role": .string(m.role == .assistant ? "model" : "user"), "parts": [["text": .string(m.content)]]]
        })
        let system = request.messages.filter { $0.role == .system }.map(\.content)
        if !system.isEmpty { object["systemInstruction"] = ["parts": [["text": .string(system.joined(separator: "\n\n"))]]] }
        var config = JSONObject()
        if let t = request.temperature { config["temperature"] = .double(t) }
        if let seed = request.seed { config["seed"] = .int(seed) }
        if let maxTokens = request.maxTokens { config["maxOutputTokens"] = .int(maxTokens) }
        if let schema = request.responseSchema {
            config["responseMimeType"] = "application/json"
            switch mode {
            case .responseJsonSchema: config["responseJsonSchema"] = schema.schema
            case .responseSchema: config["responseSchema"] = openAPISchema(schema.schema)
            }
        }
        if !config.isEmpty { object["generationConfig"] = .object(config) }
        return .object(object)
    }

    /// Keywords Gemini's `Schema` type has no field for (`types.py` `class Schema`).
    static let unsupportedSchemaKeywords: Set<String> = ["additionalProperties", "$schema", "$defs", "$ref", "const", "exclusiveMinimum",
                                                         "exclusiveMaximum", "multipleOf"]

    /// A JSON Schema as Gemini's `Schema`: type names upper-case, unsupported keywords removed.
    static func openAPISchema(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let o):
            return .object(JSONObject(o.compactMap { key, value -> (String, JSONValue)? in
                if unsupportedSchemaKeywords.contains(key) { return nil }
                if key == "type", let name = value.stringValue { return (key, .string(name.uppercased())) }
                if key == "properties", let props = value.objectValue {
                    return (key, .object(JSONObject(props.map { ($0.key, openAPISchema($0.value)) })))
                }
                return (key, openAPISchema(value))
            }))
        case .array(let a): return .array(a.map(openAPISchema))
        default: return schema
        }
    }

    /// Decodes an HTTP answer: a 2xx `GenerateContentResponse` becomes a ``CompletionResponse``;
    /// anything else throws ``LLMError``. `MAX_TOKENS` is ``FinishReason/length``; `SAFETY`,
    /// `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`, `RECITATION` and a prompt blocked by
    /// `promptFeedback.blockReason` are ``FinishReason/contentFilter`` (the items fail as
    /// refused, with the reason), other reasons are kept as they are.
    public static func decode(_ response: HTTPResponse, provider: String = "gemini", model: String) throws(LLMError) -> CompletionResponse {
        let text = String(decoding: response.body, as: UTF8.self)
        let raw = RawResponse(status: response.status, headers: response.headers, body: text)
        let context = LLMError.Context(provider: provider, model: model, httpStatus: response.status, requestID: response.header("x-request-id"))
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context, raw: raw)
        }
        guard let body = try? StrictJSON.parse(bytes: response.body), body.objectValue != nil else {
            throw LLMError(.invalidOutput, "\(provider) answered HTTP \(response.status) with something that is not a GenerateContentResponse.", context: context, raw: raw)
        }
        return generated(body, headers: response.headers, raw: raw, invalidUTF8: !UTF8Check.isValid(response.body))
    }

    /// Finish reasons that mean a filter stopped the answer.
    static let filterReasons: Set<String> = ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"]

    /// A decoded `GenerateContentResponse` object.
    static func generated(_ body: JSONValue, headers: [String: String], raw: RawResponse?, invalidUTF8: Bool) -> CompletionResponse {
        let candidate = body["candidates"]?.arrayValue?.first
        let parts = candidate?["content"]?["parts"]?.arrayValue ?? []
        let pieces = parts.filter { $0["thought"]?.boolValue != true }.compactMap { $0["text"]?.stringValue }
        let reason = candidate?["finishReason"]?.stringValue
        let blocked = body["promptFeedback"]?["blockReason"]?.stringValue
        let finish: FinishReason
        var refusal: String?
        if let blocked {
            finish = .contentFilter
            refusal = "Gemini blocked the prompt (\(blocked))."
        } else {
            switch reason {
            case nil, "STOP": finish = .stop
            case "MAX_TOKENS": finish = .length
            case let r? where filterReasons.contains(r):
                finish = .contentFilter
                refusal = "Gemini stopped the answer (finishReason \(r))."
            case let r?: finish = .other(r)
            }
        }
        let u = body["usageMetadata"]
        let usage = u.map { u in
            TokenUsage(promptTokens: u["promptTokenCount"]?.intValue ?? 0,
                       completionTokens: (u["candidatesTokenCount"]?.intValue ?? 0) + (u["thoughtsTokenCount"]?.intValue ?? 0),
                       cachedTokens: u["cachedContentTokenCount"]?.intValue ?? 0)
        }
        var decoded = CompletionResponse(text: pieces.isEmpty ? nil : pieces.joined(), finishReason: finish, refusal: refusal, usage: usage,
                                         model: body["modelVersion"]?.stringValue, headers: headers, raw: raw)
        decoded.bodyWasInvalidUTF8 = invalidUTF8
        return decoded
    }

    /// An error status and the `{"error": {"code", "message", "status", "details"}}` envelope as
    /// an ``LLMError``: `RESOURCE_EXHAUSTED` (429) is rate limited, with the delay of its
    /// `google.rpc.RetryInfo` detail (`retryDelay`, e.g. `"30s"`) when no header gives one;
    /// `UNAVAILABLE` (503) and other 5xx are transient; 401/403 fatal.
    static func error(status: Int, body: JSONValue?, headers: [String: String], context: LLMError.Context, raw: RawResponse) -> LLMError {
        var error = ChatCompletionsWire.error(status: status, body: body, headers: headers, context: context, raw: raw)
        if error.retryAfter == nil {
            let details = body?["error"]?["details"]?.arrayValue ?? []
            let delay = details.first { $0["@type"]?.stringValue?.hasSuffix("google.rpc.RetryInfo") == true }?["retryDelay"]?.stringValue
            error.retryAfter = delay.flatMap(RateLimitHeaders.goDuration)
        }
        return error
    }
}
