public import LLMKit

/// The provider of a run whose method asks no model (`lexicon`): recorded as `none`, never called.
public struct NoModelProvider: LLMProvider {
    public let id = ProviderID("none")
    public let capabilities = ProviderCapabilities()

    public init() {}

    /// Throws: this method sends no request.
    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        throw LLMError(.configuration, "This method sends no request; the 'none' provider answers nothing.")
    }

    /// A prepared client around this provider, with `model` (the method's file) as the model.
    public static func prepared(model: String) -> ClientStack.Prepared {
        ClientStack.Prepared(client: LLMClient(provider: NoModelProvider()), capabilities: ProviderCapabilities(), model: model, baseURL: nil)
    }
}
