public import LLMKit

/// The provider of a run whose method asks no model (`lexicon`): recorded as `none`, never called.
public struct NoModelProvider: LLMProvider {
    /// `none`, as the run records it.
    public let id = ProviderID("none")
    /// Nothing.
    public let capabilities = ProviderCapabilities()
    /// The provider.
    public init() {}
    /// Throws: a method that asks no model sends no request.
    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        throw LLMError(.configuration, "This method sends no request; the 'none' provider answers nothing.")
    }

    /// A prepared stack around it, for a method that asks no model; `model` names what the
    /// method reads instead (a lexicon's file stem).
    public static func prepared(model: String) -> ClientStack.Prepared {
        ClientStack.Prepared(client: LLMClient(provider: NoModelProvider()), capabilities: ProviderCapabilities(), model: model, baseURL: nil)
    }
}
