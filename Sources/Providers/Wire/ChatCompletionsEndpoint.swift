import Foundation
import LLMKit
import Synchronization

/// What the OpenAI and llama.cpp adapters share: a base URL (trimmed once, here), the shared
/// transport, the chat-completions wire format, streaming with runaway detection, a timeout
/// that follows the work, and errors tagged with the provider and model.
struct ChatCompletionsEndpoint: Sendable {
    let provider: String
    let baseURL: String
    /// The path after the base URL (`/chat/completions`, `/v1/chat/completions`).
    let path: String
    let transport: any HTTPTransport
    /// Credentials and organisation headers: what every call to the server carries.
    let authHeaders: [(name: String, value: String)]
    /// ``authHeaders`` and the JSON content type: what a completion request carries.
    let headers: [(name: String, value: String)]
    let maxTokensKey: String
    let extra: [(String, JSONValue)]
    let timeout: ProviderConfiguration.Timeout
    let maximumResponseBytes: Int
    let stream: Bool
    /// Schema keywords the server refuses (removed from the schema sent).
    let refusedKeywords: Set<String>
    /// Where next-token requests go (``CompletionRequest/topTokens``): a native completion
    /// path such as llama.cpp's `/completion`, or `nil` to ask ``path`` for chat `logprobs`
    /// (see ``NextTokenWire``).
    let nextTokenPath: String?
    let speed = SpeedEstimate()

    init(provider: String, baseURL: String, path: String, transport: any HTTPTransport, headers: [(name: String, value: String)] = [],
         maxTokensKey: String, extra: [(String, JSONValue)] = [], timeout: ProviderConfiguration.Timeout, maximumResponseBytes: Int,
         stream: Bool, refusedKeywords: Set<String> = [], nextTokenPath: String? = nil) {
        self.nextTokenPath = nextTokenPath
        self.provider = provider
        self.baseURL = Self.trimmed(baseURL)
        self.path = path
        self.transport = transport
        authHeaders = headers
        self.headers = [("Content-Type", "application/json")] + headers
        self.maxTokensKey = maxTokensKey
        self.extra = extra
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.stream = stream
        self.refusedKeywords = refusedKeywords
    }

    /// `baseURL` without trailing slashes.
    static func trimmed(_ baseURL: String) -> String {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The HTTP request for a completion (the body receiver is added by ``complete(_:)``).
    func httpRequest(for request: CompletionRequest) -> HTTPRequest {
        if request.topTokens != nil { return nextTokenHTTPRequest(for: request) }
        let body = self.body(for: request)
        return HTTPRequest(method: "POST", url: baseURL + path, headers: headers, body: Array(body.description.utf8),
                           timeout: requestTimeout(budget: request.maxTokens), connectTimeout: timeout.connect, stallTimeout: stream ? timeout.stall : nil,
                           maximumResponseBytes: maximumResponseBytes)
    }

    /// The JSON body of a completion: what ``httpRequest(for:)`` sends, and what a Batch API
    /// input line carries.
    func body(for request: CompletionRequest) -> JSONValue {
        let keywords = refusedKeywords
        return ChatCompletionsWire.body(for: request, extra: extra, maxTokensKey: maxTokensKey, stream: stream,
                                        schema: { keywords.isEmpty ? $0 : ChatCompletionsWire.removing(keywords, from: $0) })
    }

    /// The time a request may take: with a known speed, twice what its token budget needs
    /// plus 30 s, never more than the configured cap; the cap until the speed is known.
    func requestTimeout(budget: Int?) -> Duration {
        guard let budget, let tokensPerSecond = speed.tokensPerSecond, tokensPerSecond > 0 else { return timeout.request }
        let seconds = 30 + 2 * Double(budget) / tokensPerSecond
        return min(timeout.request, .milliseconds(Int64(seconds * 1000)))
    }

    /// Sends one completion and decodes the answer; a streamed answer that runs away is cut
    /// off (over budget: `length`; text after the complete answer: kept up to there).
    func complete(_ request: CompletionRequest) async throws(LLMError) -> CompletionResponse {
        if request.topTokens != nil { return try await completeNextToken(request) }
        var http = httpRequest(for: request)
        let monitor = stream ? StreamMonitor(budget: request.maxTokens, observer: RequestObserver.current) : nil
        if let monitor { http.onBody = { monitor.receive($0) } }
        let started = ContinuousClock.now
        let response: HTTPResponse
        do {
            response = try await LLMError.wrapping(provider: provider, model: request.model) { try await transport.send(http) }
        } catch {
            var error = error
            error.context.provider = provider
            error.context.model = request.model
            throw error
        }
        // A streamed body was decoded as it arrived: not parsed again.
        var decoded = try ChatCompletionsWire.decode(response, provider: provider, model: request.model,
                                                     streamed: monitor?.decoded(bodyBytes: response.body.count))
        if response.stoppedByReceiver, let stop = monitor?.stop {
            decoded.finishReason = stop == .budget ? .length : .stop
        }
        if let completion = decoded.usage?.completionTokens ?? monitor?.tokens {
            speed.observe(tokens: completion, seconds: (ContinuousClock.now - started).seconds, timings: decoded.timings)
        }
        return decoded
    }
}

extension ChatCompletionsEndpoint {
    /// The HTTP request for a next-token request: `POST` to ``nextTokenPath`` with llama.cpp's
    /// `/completion` body, or to the chat path with `logprobs` (never streamed).
    func nextTokenHTTPRequest(for request: CompletionRequest) -> HTTPRequest {
        let body = nextTokenPath == nil ? NextTokenWire.chatBody(for: request, maxTokensKey: maxTokensKey) : NextTokenWire.completionBody(for: request)
        return HTTPRequest(method: "POST", url: baseURL + (nextTokenPath ?? path), headers: headers, body: Array(body.description.utf8),
                           timeout: requestTimeout(budget: 1), connectTimeout: timeout.connect, maximumResponseBytes: maximumResponseBytes)
    }

    /// Sends a next-token request and decodes its candidates (``NextTokenWire``).
    func completeNextToken(_ request: CompletionRequest) async throws(LLMError) -> CompletionResponse {
        let http = nextTokenHTTPRequest(for: request)
        do {
            let response = try await LLMError.wrapping(provider: provider, model: request.model) { try await transport.send(http) }
            return try NextTokenWire.decode(response, provider: provider, model: request.model)
        } catch {
            var error = error
            error.context.provider = provider
            error.context.model = request.model
            throw error
        }
    }
}

/// A running estimate of a server's generation speed (tokens per second), from llama.cpp's
/// `timings` when present, else from completion tokens over wall time; answers of fewer
/// than 32 tokens say too little and are ignored.
final class SpeedEstimate: Sendable {
    private let value = Mutex<Double?>(nil)

    var tokensPerSecond: Double? { value.withLock { $0 } }

    func observe(tokens: Int, seconds: Double, timings: ServerTimings?) {
        var sample: Double?
        if let t = timings, t.predictedTokens >= 32, t.predictedMilliseconds > 0 {
            sample = Double(t.predictedTokens) / (t.predictedMilliseconds / 1000)
        } else if tokens >= 32, seconds > 0 {
            sample = Double(tokens) / Double(seconds)
        }
        guard let sample, sample.isFinite, sample > 0 else { return }
        value.withLock { current in current = current.map { 0.7 * $0 + 0.3 * sample } ?? sample }
    }
}
