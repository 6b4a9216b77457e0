public import LLMKit

/// Anthropic's Messages API (`POST {base}/v1/messages`), native: no OpenAI-compatibility layer.
///
/// Headers as the official SDK sends them (PyPI `anthropic` 2.17.0, `_client.py`): the key as
/// `Authorization: Bearer <key>` and `anthropic-version: 2026-10-21` (`_constants.py`). The
/// chunk's schema constrains the answer through structured outputs (`output_config.format`);
/// when the server refuses that for a model (HTTP 400 naming `output_config`), the provider
/// remembers it for the model and asks with a forced tool whose `input_schema` is the schema
/// instead (``AnthropicWire/SchemaMode``). Errors map onto ``LLMError`` kinds in
/// ``AnthropicWire``; the key is registered with ``SecretRedactor``. The base URL is the API
/// root, as in the SDK: `https://api.anthropic.com`.
public struct AnthropicProvider: ModelListing {
    /// `https://api.anthropic.com`
    public static let defaultBaseURL = "https://api.anthropic.com"
    /// The `anthropic-version` header the SDK pins (`ANTHROPIC_API_VERSION` in `_constants.py`).
    public static let apiVersion = "2026-10-21"
    /// The provider's name.
    public static let name = "anthropic"

    public let id = ProviderID(AnthropicProvider.name)
    public let capabilities = ProviderCapabilities(constrainsOutput: true)
    let endpoint: JSONEndpoint
    /// The first schema mode tried for every model.
    public let schemaMode: AnthropicWire.SchemaMode
    /// Models that refused structured outputs: asked with the forced tool from then on.
    private let toolModels = ModelSet()

    /// The API root, without a trailing slash.
    public var baseURL: String { endpoint.baseURL }
    /// The API root: another server may answer the same request differently.
    public var identity: String? { baseURL }

    public init(baseURL: String = defaultBaseURL, apiKey: String?, schemaMode: AnthropicWire.SchemaMode = .outputConfig,
                transport: any HTTPTransport = CurlTransport.shared, timeout: ProviderConfiguration.Timeout = .default,
                maximumResponseBytes: Int = 32 << 20) {
        var headers: [(name: String, value: String)] = [("anthropic-version", Self.apiVersion)]
        if let apiKey {
            headers.append(("Authorization", "Bearer \(apiKey)"))
            SecretRedactor.shared.register(apiKey)
        }
        endpoint = JSONEndpoint(provider: Self.name, baseURL: baseURL, transport: transport, headers: headers, timeout: timeout,
                                maximumResponseBytes: maximumResponseBytes)
        self.schemaMode = schemaMode
    }

    /// Builds the provider from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (a given base URL
    /// wins); `LLMKIT_ANTHROPIC_SCHEMA_MODE=tool` starts with the forced tool. A key is required
    /// for api.anthropic.com only.
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, transport: any HTTPTransport = CurlTransport.shared,
                                       timeout: ProviderConfiguration.Timeout = .default, maximumResponseBytes: Int = 32 << 20) throws(LLMError) -> AnthropicProvider {
        let base = baseURL ?? environment["ANTHROPIC_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
        let key = environment["ANTHROPIC_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil && base.contains("api.anthropic.com") {
            throw LLMError(.configuration, "Set ANTHROPIC_API_KEY to use Anthropic, or give the base URL of another server that speaks its Messages API.",
                           context: .init(provider: name))
        }
        let mode = environment["LLMKIT_ANTHROPIC_SCHEMA_MODE"].flatMap(AnthropicWire.SchemaMode.init(rawValue:)) ?? .outputConfig
        return AnthropicProvider(baseURL: base, apiKey: key, schemaMode: mode, transport: transport, timeout: timeout, maximumResponseBytes: maximumResponseBytes)
    }

    /// The schema mode used for `model` now.
    public func mode(for model: String) -> AnthropicWire.SchemaMode { toolModels.contains(model) ? .tool : schemaMode }

    /// The HTTP request for a completion (public so tests and tools can inspect the body).
    public func httpRequest(for request: CompletionRequest) -> HTTPRequest {
        endpoint.post("/v1/messages", body: AnthropicWire.body(for: request, mode: mode(for: request.model)))
    }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        if request.topTokens != nil {
            throw LLMError(.configuration, "The anthropic provider gives no next-token probabilities; the logprob method needs llamacpp or openai.",
                           context: .init(provider: id.name, model: request.model))
        }
        // A model that takes no structured outputs is asked with the forced tool, now and from now on.
        let response = try await endpoint.send(request, usesFirstForm: mode(for: request.model) == .outputConfig, refusedForm: "output_config",
                                               fallbacks: toolModels, build: httpRequest(for:))
        return try AnthropicWire.decode(response, provider: id.name, model: request.model)
    }

    /// The model ids the Models API lists (`GET {base}/v1/models?limit=1000`, `data[].id`,
    /// following `has_more` with `after_id=last_id`: `resources/models.py`, `pagination.py`
    /// `SyncPage`, `types/model_info.py` in the SDK). A pool checks the model asked for against
    /// it (a dated id, `claude-sonnet-4-5-20250929`, is the alias `claude-sonnet-4-5`).
    public func listModels() async throws -> [String] {
        let first = baseURL + "/v1/models?limit=1000"
        return try await ModelList.fetch(provider: id.name, url: first, headers: endpoint.authHeaders, transport: endpoint.transport) { page in
            page["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        } next: { page in
            guard page["has_more"]?.boolValue == true, let last = page["last_id"]?.stringValue else { return nil }
            return first + "&after_id=" + ModelList.query(last)
        }
    }
}
