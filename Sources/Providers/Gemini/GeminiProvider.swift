import Foundation
public import LLMKit

/// Google's Gemini API (`POST {base}/v1beta/models/{model}:generateContent`), native.
///
/// As the official SDK does (PyPI `google-genai` 3.6.1, `_api_client.py`): the key goes in the
/// `x-goog-api-key` header, never in the URL, so no log or error message can hold it; the base
/// URL is the API root, `https://generativelanguage.googleapis.com`, and the API version
/// `v1beta`. The answer is constrained with `responseMimeType: application/json` and
/// `responseJsonSchema`; when the server refuses that (HTTP 400 naming `responseJsonSchema`),
/// the provider asks with the OpenAPI-subset `responseSchema` for that model from then on.
public struct GeminiProvider: ModelListing {
    /// `https://generativelanguage.googleapis.com`
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com"
    /// The API version in every path.
    public static let apiVersion = "v1beta"
    /// The provider's name.
    public static let name = "gemini"

    public let id = ProviderID(GeminiProvider.name)
    public let capabilities = ProviderCapabilities(constrainsOutput: true)
    let endpoint: JSONEndpoint
    /// Models that refused `responseJsonSchema`.
    private let openAPIModels = ModelSet()

    /// The API root, without a trailing slash.
    public var baseURL: String { endpoint.baseURL }
    /// The API root: another server may answer the same request differently.
    public var identity: String? { baseURL }

    public init(baseURL: String = defaultBaseURL, apiKey: String?, transport: any HTTPTransport = CurlTransport.shared,
                timeout: ProviderConfiguration.Timeout = .default, maximumResponseBytes: Int = 32 << 20) {
        var headers: [(name: String, value: String)] = []
        if let apiKey {
            headers.append(("x-goog-api-key", apiKey))
            SecretRedactor.shared.register(apiKey)
        }
        endpoint = JSONEndpoint(provider: Self.name, baseURL: baseURL, transport: transport, headers: headers, timeout: timeout,
                                maximumResponseBytes: maximumResponseBytes)
    }

    /// Builds the provider from `GOOGLE_API_KEY`, else `GEMINI_API_KEY` (the SDK's order: it
    /// prefers `GOOGLE_API_KEY` when both are set), and `GOOGLE_GEMINI_BASE_URL` (a given base
    /// URL wins). A key is required for generativelanguage.googleapis.com only.
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, transport: any HTTPTransport = CurlTransport.shared,
                                       timeout: ProviderConfiguration.Timeout = .default, maximumResponseBytes: Int = 32 << 20) throws(LLMError) -> GeminiProvider {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let base = baseURL ?? value("GOOGLE_GEMINI_BASE_URL") ?? defaultBaseURL
        let key = value("GOOGLE_API_KEY") ?? value("GEMINI_API_KEY")
        if key == nil && base.contains("generativelanguage.googleapis.com") {
            throw LLMError(.configuration, "Set GEMINI_API_KEY (or GOOGLE_API_KEY) to use Gemini, or give the base URL of another server that speaks its API.",
                           context: .init(provider: name))
        }
        return GeminiProvider(baseURL: base, apiKey: key, transport: transport, timeout: timeout, maximumResponseBytes: maximumResponseBytes)
    }

    /// The schema mode used for `model` now.
    public func mode(for model: String) -> GeminiWire.SchemaMode { openAPIModels.contains(model) ? .responseSchema : .responseJsonSchema }

    /// The path of a model's method: `/v1beta/models/{model}:{method}` (a model named `models/...` keeps its prefix once).
    static func path(model: String, method: String) -> String {
        let name = model.hasPrefix("models/") ? model : "models/" + model
        let escaped = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["?", "#", ":"])) ?? name
        return "/\(apiVersion)/\(escaped):\(method)"
    }

    /// The HTTP request for a completion (public so tests and tools can inspect the body).
    public func httpRequest(for request: CompletionRequest) -> HTTPRequest {
        endpoint.post(Self.path(model: request.model, method: "generateContent"), body: GeminiWire.body(for: request, mode: mode(for: request.model)))
    }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        if request.topTokens != nil {
            throw LLMError(.configuration, "The gemini provider gives no next-token probabilities here; the logprob method needs llamacpp or openai.",
                           context: .init(provider: id.name, model: request.model))
        }
        // A model that takes no JSON-schema form is asked with the OpenAPI-subset responseSchema, now and from now on.
        let response = try await endpoint.send(request, usesFirstForm: mode(for: request.model) == .responseJsonSchema, refusedForm: "responseJsonSchema",
                                               fallbacks: openAPIModels, build: httpRequest(for:))
        return try GeminiWire.decode(response, provider: id.name, model: request.model)
    }

    /// The models the Models API lists (`GET {base}/v1beta/models?pageSize=1000`,
    /// `models[].name` as `models/NAME` (an empty list is `{}`), following `nextPageToken` with `pageToken`:
    /// `models.py` `_ListModelsConfig_to_mldev`, `_ListModelsResponse_from_mldev`,
    /// `_Model_from_mldev` in the SDK), as a request names them: without the `models/` prefix.
    public func listModels() async throws -> [String] {
        let first = baseURL + "/\(Self.apiVersion)/models?pageSize=1000"
        return try await ModelList.fetch(provider: id.name, url: first, headers: endpoint.authHeaders, transport: endpoint.transport) { page in
            // An empty list is `{}` (proto3 leaves out an empty repeated field).
            guard page.objectValue != nil else { return nil }
            return (page["models"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue.map { $0.hasPrefix("models/") ? String($0.dropFirst("models/".count)) : $0 } }
        } next: { page in
            page["nextPageToken"]?.stringValue.flatMap { $0.isEmpty ? nil : first + "&pageToken=" + ModelList.query($0) }
        }
    }
}
