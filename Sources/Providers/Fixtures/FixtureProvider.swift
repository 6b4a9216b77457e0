public import Foundation
public import LLMKit

/// Replays recorded answers (mode `none`): no server, no network. A request with no recording
/// fails with an error naming its key and the closest recorded request.
public struct FixtureProvider: LLMProvider {
    public let id: ProviderID = .fixture
    /// Next-token answers replay too (whatever was recorded answers; a request with no
    /// recording fails with the miss error).
    public let capabilities = ProviderCapabilities(constrainsOutput: true, nextTokenProbabilities: true)
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
