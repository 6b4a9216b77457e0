import Foundation
import LLMKit
import Synchronization

/// What the native-API providers (Anthropic, Gemini) share: a base URL trimmed once, the shared
/// transport, the credential headers every call carries, a timeout, a response size limit,
/// and transport errors tagged with the provider and model. The wire format (body, decoding)
/// stays in each provider.
struct JSONEndpoint: Sendable {
    let provider: String
    /// The API root (`https://api.anthropic.com`), without a trailing slash.
    let baseURL: String
    let transport: any HTTPTransport
    /// Credentials and version headers (no content type).
    let authHeaders: [(name: String, value: String)]
    let timeout: ProviderConfiguration.Timeout
    let maximumResponseBytes: Int

    init(provider: String, baseURL: String, transport: any HTTPTransport, headers: [(name: String, value: String)],
         timeout: ProviderConfiguration.Timeout, maximumResponseBytes: Int) {
        self.provider = provider
        self.baseURL = ChatCompletionsEndpoint.trimmed(baseURL)
        self.transport = transport
        authHeaders = headers
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// A `POST` of `body` as JSON to `path` under the base URL.
    func post(_ path: String, body: JSONValue) -> HTTPRequest {
        HTTPRequest(method: "POST", url: baseURL + path, headers: [("Content-Type", "application/json")] + authHeaders,
                    body: Array(body.description.utf8), timeout: timeout.request, connectTimeout: timeout.connect,
                    maximumResponseBytes: maximumResponseBytes)
    }

    /// Sends `request`; a transport failure becomes an ``LLMError`` naming the provider and model.
    func send(_ request: HTTPRequest, model: String) async throws(LLMError) -> HTTPResponse {
        do {
            return try await LLMError.wrapping(provider: provider, model: model) { try await transport.send(request) }
        } catch {
            var error = error
            error.context.provider = provider
            error.context.model = model
            throw error
        }
    }

    /// Sends a completion built by `build`; when the first schema form is refused for the model
    /// (HTTP 400 whose body names `refusedForm`), remembers the model in `fallbacks` (so `build`
    /// uses the other form for it from now on) and sends once more.
    func send(_ request: CompletionRequest, usesFirstForm: Bool, refusedForm: String, fallbacks: ModelSet,
              build: (CompletionRequest) -> HTTPRequest) async throws(LLMError) -> HTTPResponse {
        let first = try await send(build(request), model: request.model)
        guard usesFirstForm, request.responseSchema != nil, first.status == 400,
              String(decoding: first.body, as: UTF8.self).contains(refusedForm) else { return first }
        fallbacks.insert(request.model)
        return try await send(build(request), model: request.model)
    }
}

/// Models that refused a provider's first schema form.
final class ModelSet: Sendable {
    private let models = Mutex<Set<String>>([])
    func contains(_ model: String) -> Bool { models.withLock { $0.contains(model) } }
    func insert(_ model: String) { _ = models.withLock { $0.insert(model) } }
}
