import LLMKit

/// A laziness baseline: answers every batch with each item's reference distribution, unchanged.
/// It reads the batch's items from the request (no prompt parsing) and answers in the output
/// contract's shape, so every metric of `promptlab score` can be compared with "did nothing".
public struct ReferenceProvider: LLMProvider {
    public let id: ProviderID = "reference"
    public let capabilities = ProviderCapabilities(constrainsOutput: true, servedModel: "reference")

    public init() {}

    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        let reason = request.asksForReason ? "kept the reference unchanged" : nil
        let text = ChunkAnswerSchema.answer(request.items.map { ($0.reference.values, reason) })
        return CompletionResponse(text: text, usage: TokenUsage(promptTokens: 0, completionTokens: 0))
    }
}
