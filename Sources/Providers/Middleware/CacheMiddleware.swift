public import Foundation
public import LLMKit

/// A content-addressed on-disk cache of successful answers: re-running an experiment costs
/// nothing. The key is the canonical request hash (model, messages, schema, sampling settings);
/// answers are kept per provider and base URL, in the recordings file format, so a cache folder
/// can also be replayed with `--fixtures`. Errors, truncated answers and refusals are never cached.
public struct CacheMiddleware: ProviderMiddleware {
    public let store: FixtureStore
    let providerName: String

    /// The cache for `provider` at `baseURL` under `root`.
    public init(root: URL, provider: String, baseURL: String) {
        let namespace = "\(provider)-" + CompletionRequest.sha256Hex("\(provider) \(baseURL)").prefix(12)
        store = FixtureStore(directory: root.appendingPathComponent(namespace))
        providerName = provider
    }

    /// `$LLMKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/llmkit/responses`, else `~/.cache/llmkit/responses`.
    public static func defaultRoot(environment: [String: String]) -> URL {
        if let dir = environment["LLMKIT_CACHE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("llmkit/responses")
    }

    public func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        if let cached = await answer(for: request) { return cached }
        let response = try await next(request)
        await storeAnswer(response, for: request)
        return response
    }
}

extension CacheMiddleware: ResponseStore {
    /// The cached answer to `request` (what ``intercept(_:next:)`` would return without calling on).
    public func answer(for request: CompletionRequest) async -> CompletionResponse? {
        guard var cached = try? await store.replayOffPool(request) else { return nil }
        cached.attempts = 0
        cached.servedFromCache = true
        return cached
    }

    /// Caches `response` when it is a complete answer: not an error, a truncation or a
    /// refusal, which a later run may want to ask again.
    public func storeAnswer(_ response: CompletionResponse, for request: CompletionRequest) async {
        if let raw = response.raw, (200..<300).contains(raw.status), response.finishReason == .stop, response.refusal == nil {
            try? await store.putOffPool(request, raw: raw, provider: providerName)
        }
    }
}
