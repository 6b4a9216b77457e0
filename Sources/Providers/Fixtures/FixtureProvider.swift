public import Foundation
public import LLMKit

/// Replays recorded answers (mode `none`): no server, no network. A request with no recording
/// fails with an error naming its key and the closest recorded request.
public struct FixtureProvider: LLMProvider {
    public let id: ProviderID = .fixture
    public let capabilities = ProviderCapabilities(constrainsOutput: true)
    public let store: FixtureStore

    public init(directory: URL) { store = FixtureStore(directory: directory) }

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        guard let response = try await store.replayOffPool(request) else { throw store.missError(for: request) }
        return response
    }

    /// Reports the model the recordings were made with (when they agree) as the served model.
    public func prepare() async throws -> ProviderCapabilities {
        var capabilities = self.capabilities
        let store = self.store
        capabilities.servedModel = await BlockingIOPool.shared.run { store.recordedModel() }
        return capabilities
    }
}

/// Records (and, depending on the mode, replays) the answers of whatever provider it wraps.
/// Errors with an HTTP answer (429, 5xx) are recorded too, so retries replay offline.
public struct RecordingMiddleware: ProviderMiddleware {
    public let store: FixtureStore
    public let mode: RecordMode
    /// The wrapped provider's name, written into each interaction.
    public let providerName: String
    private let folderWasEmpty: Bool

    public init(directory: URL, mode: RecordMode, providerName: String) {
        store = FixtureStore(directory: directory)
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
            try await store.recordOffPool(request, raw: response.raw ?? ChatCompletionsWire.synthesizedRaw(for: response), provider: providerName)
            return response
        } catch let error as LLMError {
            if let raw = error.raw { try await store.recordOffPool(request, raw: raw, provider: providerName) }
            throw error
        }
    }
}
