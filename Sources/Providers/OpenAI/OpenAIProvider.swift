public import LLMKit

/// OpenAI's Chat Completions API, or any server that speaks it (vLLM, llama.cpp, proxies).
///
/// `POST {base}/chat/completions` with `Authorization: Bearer <key>` and the optional
/// `OpenAI-Organization` / `OpenAI-Project` headers; the batch schema goes as
/// `response_format: {"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`,
/// the token limit as `max_completion_tokens`. Errors are decoded from the envelope first and
/// mapped to ``LLMError`` kinds (429 `insufficient_quota` is quota, not a rate limit). The
/// response keeps usage (cached tokens included), `x-request-id`, `system_fingerprint` and the
/// rate-limit headers. Retries and client-side rate limiting are middlewares, not in here.
public struct OpenAIProvider: LLMProvider {
    /// `https://api.openai.com/v1`
    public static let defaultBaseURL = "https://api.openai.com/v1"

    public let id: ProviderID = "openai"
    public let capabilities = ProviderCapabilities(constrainsOutput: true)
    public let baseURL: String
    let apiKey: String?
    let organization: String?
    let project: String?
    let transport: any HTTPTransport
    /// Seconds allowed for one completion.
    public var requestTimeout: Double

    public init(baseURL: String = defaultBaseURL, apiKey: String?, organization: String? = nil, project: String? = nil,
                transport: any HTTPTransport = CurlTransport(), requestTimeout: Double = 600) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.organization = organization
        self.project = project
        self.transport = transport
        self.requestTimeout = requestTimeout
    }

    /// Builds the provider from `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID` (a given base URL wins). A key is required for api.openai.com only.
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, transport: any HTTPTransport = CurlTransport()) throws(LLMError) -> OpenAIProvider {
        let base = baseURL ?? environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
        let key = environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil && base.contains("api.openai.com") {
            throw LLMError(.configuration, "Set OPENAI_API_KEY to use OpenAI, or pass --base-url for another OpenAI-compatible server.", context: .init(provider: "openai"))
        }
        return OpenAIProvider(baseURL: base, apiKey: key, organization: environment["OPENAI_ORG_ID"], project: environment["OPENAI_PROJECT_ID"], transport: transport)
    }

    /// The HTTP request for a completion (public so tests and tools can inspect the body).
    public func httpRequest(for request: CompletionRequest) -> HTTPRequest {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        if let organization { headers.append(("OpenAI-Organization", organization)) }
        if let project { headers.append(("OpenAI-Project", project)) }
        let body = ChatCompletionsWire.body(for: request, maxTokensKey: "max_completion_tokens")
        return HTTPRequest(method: "POST", url: "\(baseURL)/chat/completions", headers: headers, body: Array(body.description.utf8), timeout: requestTimeout)
    }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        let response: HTTPResponse
        do { response = try await transport.send(httpRequest(for: request)) } catch var error as LLMError {
            error.context.provider = id.name
            error.context.model = request.model
            throw error
        }
        return try ChatCompletionsWire.decode(response, provider: id.name, model: request.model)
    }
}
