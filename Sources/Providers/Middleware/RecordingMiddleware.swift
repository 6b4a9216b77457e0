public import Foundation
public import LLMKit

/// Records (and, depending on the mode, replays) the answers of whatever provider it wraps.
/// Errors with an HTTP answer (429, 5xx) are recorded too, so retries replay offline.
public struct RecordingMiddleware: ProviderMiddleware {
    public let store: FixtureStore
    public let mode: RecordMode
    /// The wrapped provider's name, written into each interaction.
    public let providerName: String
    private let folderWasEmpty: Bool

    /// `identity`: the wrapped provider's ``LLMProvider/identity``; recordings of different
    /// identities are kept apart (see ``FixtureStore/identity``).
    public init(directory: URL, mode: RecordMode, providerName: String, identity: String? = nil) {
        store = FixtureStore(directory: directory, identity: identity)
        self.mode = mode
        self.providerName = providerName
        folderWasEmpty = store.isEmpty
    }

    public func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        let replays = mode == .none || mode == .newEpisodes || (mode == .once && !folderWasEmpty)
        let records = mode == .all || mode == .newEpisodes || (mode == .once && folderWasEmpty)
        if replays, let response = try await store.replayOffPool(request) { return response }
        guard records else { throw store.missError(for: request) }
        do {
            let response = try await next(request)
            try await store.recordOffPool(request, raw: response.raw ?? Self.synthesizedRaw(for: response, request: request), provider: providerName)
            return response
        } catch let error as LLMError {
            if let raw = error.raw { try await store.recordOffPool(request, raw: raw, provider: providerName) }
            throw error
        }
    }

    /// A body for an answer that came from no HTTP server, in the shape its replay decodes.
    static func synthesizedRaw(for response: CompletionResponse, request: CompletionRequest) -> RawResponse {
        request.topTokens != nil ? NextTokenWire.synthesizedRaw(for: response) : ChatCompletionsWire.synthesizedRaw(for: response)
    }
}
