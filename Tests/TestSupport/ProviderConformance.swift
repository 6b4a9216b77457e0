import Foundation
public import LLMKit

/// Checks that a provider keeps the ``LLMProvider`` contract, for a third party's provider as
/// much as for the built-in ones:
///
///     let problems = await ProviderConformance.check(MyProvider())
///     #expect(problems.isEmpty, "\(problems)")
///
/// It renders real batches with a built-in prompt version, asks the provider (one at a time,
/// then eight at once), and checks that every answer goes through the output contract
/// (strict JSON, the schema, one valid entry per item), that the finish reason and usage make
/// sense, and that `prepare()` answers.
public enum ProviderConformance {
    /// The items the check sends: references with ties, a one-hot, uneven shares.
    public static let items: [DatasetItem] = [
        DatasetItem(id: "c1", descriptions: ["Slightly Angry, calm"], reference: try! EmotionDistribution(votes: [.emotion(.angry), .emotion(.angry), .emotion(.neutral)])),
        DatasetItem(id: "c2", descriptions: ["happy", "excited"], reference: EmotionDistribution(oneHot: .happy)),
        DatasetItem(id: "c3", descriptions: [], reference: try! EmotionDistribution(votes: [.emotion(.sad), .emotion(.fear), .emotion(.neutral), .emotion(.neutral)])),
    ]

    /// Runs the checks and returns one line per problem (empty when the provider conforms).
    /// `model` is sent as the model name; `expectAllRelabeled` demands that every item comes
    /// back valid (turn it off for a provider that is allowed to fail items).
    /// `requireIdentity`: a provider whose answers depend on where it sends requests must say
    /// who it is (``LLMProvider/identity``), or it gets no response cache.
    public static func check(_ provider: any LLMProvider, model: String = "conformance", expectAllRelabeled: Bool = true,
                             requireIdentity: Bool = false) async -> [String] {
        var problems: [String] = []
        if provider.id.name.isEmpty || provider.id.name.contains(where: \.isWhitespace) {
            problems.append("id '\(provider.id.name)' must be a non-empty name without spaces")
        }
        problems += identityProblems(provider, required: requireIdentity)
        do { _ = try await provider.prepare() } catch { problems.append("prepare() threw \(error)") }
        let prompt = try! PromptLibrary(directories: []).resolve("paper-reason")
        for count in [1, items.count] {
            problems += await checkOne(provider, prompt: prompt, items: Array(items.prefix(count)), model: model, expectAllRelabeled: expectAllRelabeled)
        }
        let concurrent = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { await checkOne(provider, prompt: prompt, items: items, model: model, expectAllRelabeled: expectAllRelabeled) } }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        if !concurrent.isEmpty { problems.append("under 8 concurrent calls: " + Array(Set(concurrent)).sorted().joined(separator: "; ")) }
        return problems
    }

    /// An identity, when given, is a non-empty value that does not change between calls (the
    /// cache, the recordings and a run's fingerprint key on it).
    public static func identityProblems(_ provider: any LLMProvider, required: Bool) -> [String] {
        guard let identity = provider.identity else {
            return required ? ["identity is nil: say who answers (the endpoint), or the response cache is off for this provider"] : []
        }
        var problems: [String] = []
        if identity.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("identity is empty; return nil when nothing but the request decides the answer") }
        if provider.identity != identity { problems.append("identity changes between calls ('\(identity)', then '\(provider.identity ?? "nil")')") }
        return problems
    }

    private static func checkOne(_ provider: any LLMProvider, prompt: PromptVersion, items: [DatasetItem], model: String, expectAllRelabeled: Bool) async -> [String] {
        var request = prompt.render(items).request(model: model, temperature: 0, seed: 1, maxTokens: TokenBudget.tokens(count: items.count, prompt: prompt))
        request.items = items
        let response: CompletionResponse
        do { response = try await provider.complete(request) } catch {
            return ["complete(_:) threw \(error) for a batch of \(items.count)"]
        }
        var problems: [String] = []
        if response.finishReason != .stop { problems.append("finish reason \(response.finishReason) for a batch of \(items.count) (expected stop)") }
        if let usage = response.usage, usage.promptTokens < 0 || usage.completionTokens < 0 { problems.append("negative token counts") }
        let parsed = ChunkAnswerParser(count: items.count, prompt: prompt).parse(response.text ?? "")
        if parsed.outcomes.count != items.count { problems.append("\(parsed.outcomes.count) outcomes for \(items.count) items") }
        if expectAllRelabeled {
            for (i, outcome) in parsed.outcomes.enumerated() {
                if let failure = outcome.failure { problems.append("item \(i + 1) of \(items.count): \(failure)") }
            }
        }
        return problems
    }
}
