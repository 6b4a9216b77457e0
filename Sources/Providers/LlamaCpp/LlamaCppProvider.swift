import Foundation
public import LLMKit

/// A running llama.cpp `llama-server`, through its OpenAI-compatible `/v1/chat/completions`.
///
/// Sends the response schema in the nested `response_format.json_schema` shape (the flat shape
/// is silently ignored by the server), `cache_prompt: true` so the shared system prompt is
/// served from the KV cache, the seed, temperature and token budget, and streams the answer
/// (`stream: true`) so progress shows tokens as they come and a runaway answer is cut off.
/// Captures usage and the server's `timings`, whose speed sets the request timeout.
/// llama.cpp's grammar does not enforce number ranges: the output contract's parser checks
/// them after generation.
public struct LlamaCppProvider: LLMProvider {
    /// `http://127.0.0.1:8080`, llama-server's default.
    public static let defaultBaseURL = "http://127.0.0.1:8080"

    public let id: ProviderID = .llamaCpp
    public var capabilities: ProviderCapabilities
    let endpoint: ChatCompletionsEndpoint
    let transport: any HTTPTransport
    /// The base URL, without a trailing slash.
    public var baseURL: String { endpoint.baseURL }
    /// The base URL: another server may answer the same request differently.
    public var identity: String? { baseURL }

    public init(baseURL: String = defaultBaseURL, transport: any HTTPTransport = CurlTransport.shared,
                timeout: ProviderConfiguration.Timeout = .default, maximumResponseBytes: Int = 32 << 20, stream: Bool = true, slots: Int? = nil) {
        self.transport = transport
        endpoint = ChatCompletionsEndpoint(provider: "llamacpp", baseURL: baseURL, path: "/v1/chat/completions", transport: transport,
                                           maxTokensKey: "max_tokens", extra: [("cache_prompt", true)], timeout: timeout,
                                           maximumResponseBytes: maximumResponseBytes, stream: stream, nextTokenPath: "/completion")
        capabilities = ProviderCapabilities(constrainsOutput: true, parallelSlots: slots, nextTokenProbabilities: true)
    }

    /// The HTTP request for a completion (public so tests and tools can inspect the body).
    public func httpRequest(for request: CompletionRequest) -> HTTPRequest { endpoint.httpRequest(for: request) }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        try await endpoint.complete(request)
    }

    /// Waits on `/health` (up to 120 s while the model loads), then reads the slot count and
    /// the served model from `/props`.
    public func prepare() async throws -> ProviderCapabilities {
        try await waitUntilReady()
        let properties = try await properties()
        var capabilities = self.capabilities
        capabilities.parallelSlots = properties.totalSlots
        capabilities.servedModel = properties.modelName
        return capabilities
    }

    /// What `/props` says about the server.
    public struct ServerProperties: Sendable, Equatable {
        /// Parallel slots (`-np`).
        public var totalSlots: Int
        public var modelPath: String?
        /// The model's name: the alias the server was given, else the model file's name
        /// without its folder and `.gguf`.
        public var modelName: String?
    }

    /// Reads `/props`.
    public func properties() async throws -> ServerProperties {
        let response = try await transport.send(HTTPRequest(method: "GET", url: "\(baseURL)/props", timeout: .seconds(10)))
        guard response.status == 200, let body = try? StrictJSON.parse(String(decoding: response.body, as: UTF8.self)),
              let slots = body["total_slots"]?.intValue
        else {
            throw LLMError(.badRequest, "\(baseURL)/props did not describe a llama.cpp server (HTTP \(response.status)).", context: .init(provider: id.name, httpStatus: response.status))
        }
        let path = body["model_path"]?.stringValue
        // llama-server's alias is the -m path itself unless --alias names the model.
        let alias = body["model_alias"]?.stringValue.flatMap { $0.isEmpty || $0 == path || $0.contains("/") || $0.hasSuffix(".gguf") ? nil : $0 }
        let name = alias ?? path.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        return ServerProperties(totalSlots: slots, modelPath: path, modelName: name)
    }

    /// Polls `/health` until the server answers 200, for at most `timeout` on `clock`:
    /// 503 "Loading model" and refused connections mean "not yet". Throws `.unavailable`
    /// naming the last answer.
    public func waitUntilReady(timeout: Duration = .seconds(120), interval: Duration = .milliseconds(250),
                               clock: any MiddlewareClock = SystemMiddlewareClock()) async throws {
        let deadline = clock.now() + timeout
        var last = "no answer"
        while true {
            do {
                let response = try await transport.send(HTTPRequest(method: "GET", url: "\(baseURL)/health", timeout: .seconds(5)))
                if response.status == 200 { return }
                last = "HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self).prefix(120))"
            } catch let error as LLMError where error.kind == .transport || error.kind == .timeout {
                last = error.message
            }
            if clock.now() >= deadline {
                throw LLMError(.unavailable, "llama-server at \(baseURL) was not ready within \(timeout) (last: \(last)); is it running?", context: .init(provider: id.name))
            }
            try await clock.sleep(for: interval)
        }
    }
}
