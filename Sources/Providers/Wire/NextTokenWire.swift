import Foundation
public import LLMKit

/// Next-token requests (``CompletionRequest/prompt`` with ``CompletionRequest/topTokens``) on
/// the wire, for the `logprob` method (REFERENCE.md section 5a):
///
/// - llama.cpp's native `POST /completion` with
///   `{"prompt", "n_predict": 1, "n_probs": K, "temperature": 0, "cache_prompt": true}`, whose
///   answer lists the candidates in `completion_probabilities[0].top_logprobs`
///   (`{id, token, bytes, logprob}`; with `post_sampling_probs` the list is `top_probs` with
///   `prob` instead: both are read). Usage comes from `timings` (`prompt_n` evaluated,
///   `cache_n` served from the KV cache) and `tokens_predicted`.
/// - an OpenAI-compatible chat completion with the prompt as one user message, a one-token
///   answer, `logprobs: true` and `top_logprobs: min(K, 20)` (OpenAI's limit), whose answer
///   lists them in `choices[0].logprobs.content[0].top_logprobs`.
///
/// ``decode(_:provider:model:)`` reads either answer, so a recording or a cached answer is
/// replayed whatever server made it.
public enum NextTokenWire {
    /// OpenAI's largest `top_logprobs`.
    public static let chatTopLogprobsLimit = 20

    /// The body of llama.cpp's `POST /completion` for a next-token request.
    public static func completionBody(for request: CompletionRequest) -> JSONValue {
        var object = JSONObject()
        object["prompt"] = .string(request.prompt ?? "")
        object["n_predict"] = 1
        object["n_probs"] = .int(max(1, request.topTokens ?? 1))
        object["temperature"] = .double(request.temperature ?? 0)
        object["cache_prompt"] = true
        return .object(object)
    }

    /// The body of an OpenAI-compatible chat completion for a next-token request: the prompt as
    /// one user message (after any ``CompletionRequest/messages``), one token, its top
    /// `min(K, 20)` alternatives.
    public static func chatBody(for request: CompletionRequest, maxTokensKey: String = "max_tokens") -> JSONValue {
        var object = JSONObject()
        object["model"] = .string(request.model)
        object["messages"] = .array((request.messages + [.user(request.prompt ?? "")]).map(\.json))
        object[maxTokensKey] = 1
        object["logprobs"] = true
        object["top_logprobs"] = .int(min(max(1, request.topTokens ?? 1), chatTopLogprobsLimit))
        object["temperature"] = .double(request.temperature ?? 0)
        if let seed = request.seed { object["seed"] = .int(seed) }
        return .object(object)
    }

    /// Decodes the answer to a next-token request: llama.cpp's `/completion` body or a chat
    /// completion with `logprobs`. A non-2xx status throws the error its envelope says
    /// (as ``ChatCompletionsWire/decode(_:provider:model:)`` does); an answer without
    /// candidate tokens throws `.invalidOutput` saying so.
    public static func decode(_ response: HTTPResponse, provider: String, model: String) throws(LLMError) -> CompletionResponse {
        let text = String(decoding: response.body, as: UTF8.self)
        let raw = RawResponse(status: response.status, headers: response.headers, body: text)
        let context = LLMError.Context(provider: provider, model: model, httpStatus: response.status, requestID: response.header("x-request-id"))
        guard (200..<300).contains(response.status) else {
            throw ChatCompletionsWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context, raw: raw)
        }
        func invalid(_ why: String) -> LLMError {
            LLMError(.invalidOutput, "\(provider) answered a next-token request with \(why).", context: context, raw: raw)
        }
        guard let body = try? StrictJSON.parse(bytes: response.body) else { throw invalid("a body that is not JSON") }
        if let probabilities = body["completion_probabilities"] {
            guard let first = probabilities.arrayValue?.first else { throw invalid("an empty completion_probabilities list") }
            let tokens = try candidates(first["top_logprobs"] ?? first["top_probs"], invalid: invalid)
            let timings = body["timings"].map(ChatCompletionsWire.timings)
            let predicted = body["tokens_predicted"]?.intValue ?? timings?.predictedTokens ?? 1
            let usage = timings.map { TokenUsage(promptTokens: $0.promptTokens + $0.cachedTokens, completionTokens: predicted, cachedTokens: $0.cachedTokens) }
            var decoded = CompletionResponse(text: body["content"]?.stringValue, finishReason: .stop, refusal: nil, usage: usage, timings: timings,
                                             model: body["model"]?.stringValue, headers: raw.headers, raw: raw)
            decoded.nextTokens = tokens
            return decoded
        }
        guard let choice = body["choices"]?.arrayValue?.first else { throw invalid("neither completion_probabilities nor choices") }
        guard let first = choice["logprobs"]?["content"]?.arrayValue?.first else {
            throw invalid("no log-probabilities (choices[0].logprobs.content is missing: the server does not support logprobs)")
        }
        var decoded = CompletionResponse(
            text: choice["message"]?["content"]?.stringValue, finishReason: .stop, refusal: choice["message"]?["refusal"]?.stringValue,
            usage: body["usage"].map(ChatCompletionsWire.usage), timings: body["timings"].map(ChatCompletionsWire.timings),
            model: body["model"]?.stringValue, headers: raw.headers, raw: raw)
        decoded.systemFingerprint = body["system_fingerprint"]?.stringValue
        decoded.nextTokens = try candidates(first["top_logprobs"], invalid: invalid)
        return decoded
    }

    /// A list of `{token, logprob}` (or `{token, prob}`), most likely first.
    private static func candidates(_ list: JSONValue?, invalid: (String) -> LLMError) throws(LLMError) -> [TokenProbability] {
        guard let entries = list?.arrayValue, !entries.isEmpty else { throw invalid("no candidate tokens (top_logprobs is missing or empty)") }
        var tokens: [TokenProbability] = []
        for entry in entries {
            guard let token = entry["token"]?.stringValue else { throw invalid("a candidate without its token") }
            if let logprob = entry["logprob"]?.doubleValue {
                tokens.append(TokenProbability(token: token, logprob: logprob))
            } else if let probability = entry["prob"]?.doubleValue, probability >= 0 {
                tokens.append(TokenProbability(token: token, logprob: log(probability)))
            } else {
                throw invalid("a candidate without logprob or prob")
            }
        }
        return tokens.sorted { $0.logprob > $1.logprob }
    }

    /// A llama.cpp `/completion` body for a next-token answer that came from no HTTP server (a
    /// provider written in Swift), so it can be recorded and replayed like any other.
    public static func synthesizedRaw(for response: CompletionResponse) -> RawResponse {
        let candidates: [JSONValue] = (response.nextTokens ?? []).map { ["token": .string($0.token), "logprob": .double($0.logprob)] }
        var first = JSONObject()
        first["token"] = .string(response.nextTokens?.first?.token ?? response.text ?? "")
        first["logprob"] = .double(response.nextTokens?.first?.logprob ?? 0)
        first["top_logprobs"] = .array(candidates)
        var body = JSONObject()
        body["content"] = .string(response.text ?? "")
        if let model = response.model { body["model"] = .string(model) }
        body["completion_probabilities"] = [.object(first)]
        if let t = response.timings {
            body["timings"] = ["prompt_n": .int(t.promptTokens), "cache_n": .int(t.cachedTokens), "prompt_ms": .double(t.promptMilliseconds),
                               "predicted_n": .int(t.predictedTokens), "predicted_ms": .double(t.predictedMilliseconds)]
        }
        return RawResponse(status: 200, headers: response.headers, body: JSONValue.object(body).description)
    }
}
