public import LLMKit

/// OpenAI's Chat Completions API, or any server that speaks it (vLLM, llama.cpp, proxies).
///
/// `POST {base}/chat/completions` with `Authorization: Bearer <key>` and the optional
/// `OpenAI-Organization` / `OpenAI-Project` headers; the chunk schema goes as
/// `response_format: {"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`
/// (without `maxLength`, which strict mode refuses: the reason's limit is checked locally),
/// the token limit as `max_completion_tokens`. Errors are decoded from the envelope first and
/// mapped to ``LLMError`` kinds (429 `insufficient_quota` is quota, not a rate limit). The
/// response keeps usage (cached tokens included), `x-request-id`, `system_fingerprint` and the
/// rate-limit headers. The key, organisation and project ids are registered with
/// ``SecretRedactor`` so no stored or printed text can hold them. Retries and client-side rate
/// limiting are middlewares, not in here.
///
/// A next-token request (``CompletionRequest/topTokens``, the `logprob` method's) is a chat
/// completion with the prompt as one user message, a one-token answer, `logprobs: true` and
/// `top_logprobs: min(K, 20)`; a server that sends no log-probabilities fails with
/// `.invalidOutput` saying so (``NextTokenWire``).
public struct OpenAIProvider: ModelListing {
    /// `https://api.openai.com/v1`
    public static let defaultBaseURL = "https://api.openai.com/v1"
    /// Schema keywords OpenAI's strict mode refuses (REFERENCE.md section 4 lists what it takes).
    public static let refusedKeywords: Set<String> = ["maxLength", "minLength"]

    public let id: ProviderID = .openAI
    public let capabilities = ProviderCapabilities(constrainsOutput: true, nextTokenProbabilities: true)
    let endpoint: ChatCompletionsEndpoint
    /// The base URL, without a trailing slash.
    public var baseURL: String { endpoint.baseURL }
    /// The base URL: another server may answer the same request differently.
    public var identity: String? { baseURL }

    public init(baseURL: String = defaultBaseURL, apiKey: String?, organization: String? = nil, project: String? = nil,
                transport: any HTTPTransport = CurlTransport.shared, timeout: ProviderConfiguration.Timeout = .default,
                maximumResponseBytes: Int = 32 << 20, stream: Bool = false) {
        var headers: [(name: String, value: String)] = []
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        if let organization { headers.append(("OpenAI-Organization", organization)) }
        if let project { headers.append(("OpenAI-Project", project)) }
        for secret in [apiKey, organization, project].compactMap({ $0 }) { SecretRedactor.shared.register(secret) }
        endpoint = ChatCompletionsEndpoint(provider: "openai", baseURL: baseURL, path: "/chat/completions", transport: transport, headers: headers,
                                           maxTokensKey: "max_completion_tokens", timeout: timeout, maximumResponseBytes: maximumResponseBytes,
                                           stream: stream, refusedKeywords: Self.refusedKeywords)
    }

    /// Builds the provider from `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID` (a given base URL wins). A key is required for api.openai.com only.
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, transport: any HTTPTransport = CurlTransport.shared,
                                       timeout: ProviderConfiguration.Timeout = .default, maximumResponseBytes: Int = 32 << 20,
                                       stream: Bool = false) throws(LLMError) -> OpenAIProvider {
        let base = baseURL ?? environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
        let key = environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil && base.contains("api.openai.com") {
            throw LLMError(.configuration, "Set OPENAI_API_KEY to use OpenAI, or give the base URL of another OpenAI-compatible server.", context: .init(provider: "openai"))
        }
        return OpenAIProvider(baseURL: base, apiKey: key, organization: environment["OPENAI_ORG_ID"], project: environment["OPENAI_PROJECT_ID"],
                              transport: transport, timeout: timeout, maximumResponseBytes: maximumResponseBytes, stream: stream)
    }

    /// The HTTP request for a completion (public so tests and tools can inspect the body).
    public func httpRequest(for request: CompletionRequest) -> HTTPRequest { endpoint.httpRequest(for: request) }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        try await endpoint.complete(request)
    }

    /// The model ids `GET {base}/models` lists (`data[].id`, as the official SDKs read it);
    /// throws ``LLMError`` when the server does not answer with a model list (many
    /// OpenAI-compatible servers have none: a 404).
    public func listModels() async throws -> [String] {
        try await ModelList.fetch(provider: id.name, url: baseURL + "/models", headers: endpoint.authHeaders, transport: endpoint.transport) { page in
            page["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        }
    }

    /// The model ids the server lists: ``listModels()``, its earlier name.
    @available(*, deprecated, renamed: "listModels()")
    public func models() async throws -> [String] { try await listModels() }
}
