public import LLMKit

/// The provider of a run whose method asks no model (`lexicon`): recorded as `none`, never called.
public struct NoModelProvider: LLMProvider {
    public let id = ProviderID("none")
    public let capabilities = ProviderCapabilities()
    public init() {}
    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        throw LLMError(.configuration, "This method sends no request; the 'none' provider answers nothing.")
    }

    /// A prepared stack around it, for a method that asks no model; `model` names what the
    /// method reads instead (a lexicon's file stem).
    public static func prepared(model: String) -> ClientStack.Prepared {
        ClientStack.Prepared(client: LLMClient(provider: NoModelProvider()), capabilities: ProviderCapabilities(), model: model, baseURL: nil)
    }
}
