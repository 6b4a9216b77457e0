import Foundation
public import LLMKit

/// The providers with a batch API and how to reach it: OpenAI's Batch API (any server with
/// `/v1/files` and `/v1/batches`), Anthropic's Message Batches and Gemini's batch mode.
/// `relabel --batch-api`, `promptlab batches` and experiment cells with `batch_api: true` build
/// their ``BatchService`` here.
public enum BatchServices {
    /// The providers with a batch API.
    public static let providers: [ProviderID] = [.openAI, .anthropic, .gemini]

    /// The batch service of `provider` at `baseURL` (`nil`: the provider's default or its
    /// `<PROVIDER>_BASE_URL`), with the key `environment` holds for it (`OPENAI_API_KEY`,
    /// `ANTHROPIC_API_KEY`, `GOOGLE_API_KEY`/`GEMINI_API_KEY`). Batch inputs that go inline
    /// (Anthropic, Gemini) wait beside the output, in `<output>.batch-inputs/` (the user's own
    /// folder: not a shared temporary one that may be cleared before a resume needs them).
    /// A provider without a batch API is refused (no other provider's key goes anywhere).
    public static func service(provider: ProviderID, baseURL: String?, output: String, environment: [String: String]) throws -> any BatchService {
        let spool = URL(fileURLWithPath: output + ".batch-inputs")
        if provider == .anthropic { return try AnthropicBatchService.fromEnvironment(environment, baseURL: baseURL, spool: spool) }
        if provider == .gemini { return try GeminiBatchService.fromEnvironment(environment, baseURL: baseURL, spool: spool) }
        guard provider == .openAI else {
            throw LLMError(.configuration, "The \(provider.name) provider has no batch API (\(providers.map(\.name).joined(separator: ", ")) have one).",
                           context: .init(provider: provider.name))
        }
        return try OpenAIBatchService.fromEnvironment(environment, baseURL: baseURL)
    }
}
