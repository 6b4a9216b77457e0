import Foundation
public import LLMKit

/// A running llama.cpp `llama-server`, through its OpenAI-compatible `/v1/chat/completions`.
///
/// Sends the response schema in the nested `response_format.json_schema` shape (the flat shape
/// is silently ignored by the server), `cache_prompt: true` so the shared system prompt is
/// served from the KV cache, and the seed and temperature. Captures usage and the server's
/// `timings`. llama.cpp's grammar does not enforce number ranges: the output contract's parser
/// checks them after generation.
public struct LlamaCppProvider: LLMProvider {
    /// `http://127.0.0.1:8080`, llama-server's default.
    public static let defaultBaseURL = "http://127.0.0.1:8080"
    /// The model name sent when none is given (llama-server serves whatever it loaded).
    public static let defaultModel = "gemma3-270m-q4_k_m"

    public let id: ProviderID = "llamacpp"
    public var capabilities: ProviderCapabilities
    public let baseURL: String
    let transport: any HTTPTransport
    /// Seconds allowed for one completion.
    public var requestTimeout: Double

    public init(baseURL: String = defaultBaseURL, transport: any HTTPTransport = CurlTransport(), requestTimeout: Double = 600, slots: Int? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.transport = transport
        self.requestTimeout = requestTimeout
        self.capabilities = ProviderCapabilities(constrainsOutput: true, parallelSlots: slots)
    }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        let body = ChatCompletionsWire.body(for: request, extra: [("cache_prompt", true)])
        let http = HTTPRequest(method: "POST", url: "\(baseURL)/v1/chat/completions",
                               headers: [("Content-Type", "application/json")], body: Array(body.description.utf8), timeout: requestTimeout)
        let response: HTTPResponse
        do { response = try await transport.send(http) } catch var error as LLMError {
            error.context.provider = id.name
            error.context.model = request.model
            throw error
        }
        return try ChatCompletionsWire.decode(response, provider: id.name, model: request.model)
    }

    /// Waits on `/health` (up to 120 s while the model loads) and reads the slot count from `/props`.
    public func prepare() async throws -> ProviderCapabilities {
        try await waitUntilReady()
        var capabilities = self.capabilities
        capabilities.parallelSlots = try await properties().totalSlots
        return capabilities
    }

    /// What `/props` says about the server.
    public struct ServerProperties: Sendable, Equatable {
        /// Parallel slots (`-np`).
        public var totalSlots: Int
        public var modelPath: String?
    }

    /// Reads `/props`.
    public func properties() async throws -> ServerProperties {
        let response = try await transport.send(HTTPRequest(method: "GET", url: "\(baseURL)/props", timeout: 10))
        guard response.status == 200, let body = try? StrictJSON.parse(String(decoding: response.body, as: UTF8.self)),
              let slots = body["total_slots"]?.intValue
        else {
            throw LLMError(.badRequest, "\(baseURL)/props did not describe a llama.cpp server (HTTP \(response.status)).", context: .init(provider: id.name, httpStatus: response.status))
        }
        return ServerProperties(totalSlots: slots, modelPath: body["model_path"]?.stringValue)
    }

    /// Polls `/health` until the server answers 200, for at most `timeout`: 503 "Loading model"
    /// and refused connections mean "not yet". Throws `.unavailable` naming the last answer.
    public func waitUntilReady(timeout: Duration = .seconds(120), interval: Duration = .milliseconds(250)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while true {
            do {
                let response = try await transport.send(HTTPRequest(method: "GET", url: "\(baseURL)/health", timeout: 5))
                if response.status == 200 { return }
                let text = String(decoding: response.body, as: UTF8.self)
                last = "HTTP \(response.status) \(text.prefix(120))"
            } catch let error as LLMError where error.kind == .transport || error.kind == .timeout {
                last = error.message
            }
            if ContinuousClock.now >= deadline {
                throw LLMError(.unavailable, "llama-server at \(baseURL) was not ready within \(timeout) (last: \(last)); start it with scripts/llama-server start, or pass --base-url.", context: .init(provider: id.name))
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Waits for the server and returns a provider that knows its slot count.
    public static func connect(baseURL: String = defaultBaseURL, transport: any HTTPTransport = CurlTransport(), readyTimeout: Duration = .seconds(120)) async throws -> LlamaCppProvider {
        var provider = LlamaCppProvider(baseURL: baseURL, transport: transport)
        try await provider.waitUntilReady(timeout: readyTimeout)
        provider.capabilities.parallelSlots = try await provider.properties().totalSlots
        return provider
    }
}
