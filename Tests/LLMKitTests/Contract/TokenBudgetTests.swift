import Testing
@testable import LLMKit

/// The token budget formula (TokenBudget's doc comment and "Bounded generation" in the OutputContract article).
@Suite struct TokenBudgetTests {
    /// The formula written out independently: ceil(1.15 × (76 + 8(d+2) + (4 + ceil(L/4)))) per item, 80 + n × item.
    static func expected(count: Int, decimals: Int, reasonLimit: Int?) -> Int {
        var perItem = 76.0 + 8.0 * Double(decimals + 2)
        if let limit = reasonLimit { perItem += 4 + (Double(limit) / 4).rounded(.up) }
        return 80 + count * Int((perItem * 1.15).rounded(.up))
    }

    @Test(arguments: [1, 10, 30], [4, 9])
    func theBudgetFollowsTheFormula(count: Int, decimals: Int) {
        for limit in [nil, 80, 160] as [Int?] {
            #expect(TokenBudget.tokens(count: count, decimals: decimals, reasonLimit: limit) == Self.expected(count: count, decimals: decimals, reasonLimit: limit))
        }
    }

    @Test func knownValues() {
        // 4 decimals, reasons of at most 160 characters: 76 + 48 + 44 = 168 → 193.2 → 194 per item.
        #expect(TokenBudget.perItem(decimals: 4, reasonLimit: 160) == 194)
        #expect(TokenBudget.tokens(count: 1, decimals: 4, reasonLimit: 160) == 274)
        #expect(TokenBudget.tokens(count: 10, decimals: 4, reasonLimit: 160) == 2020)
        #expect(TokenBudget.tokens(count: 30, decimals: 4, reasonLimit: 160) == 5900)
        // Without reasons: 76 + 48 = 124 → 142.6 → 143.
        #expect(TokenBudget.tokens(count: 30, decimals: 4, reasonLimit: nil) == 80 + 30 * 143)
        // 9 decimals: 76 + 88 = 164 → 188.6 → 189; with reasons 208 → 239.2 → 240.
        #expect(TokenBudget.perItem(decimals: 9, reasonLimit: nil) == 189)
        #expect(TokenBudget.perItem(decimals: 9, reasonLimit: 160) == 240)
    }

    @Test func aPromptVersionsBudgetUsesItsDecimalsAndReasonLimit() throws {
        let library = PromptLibrary(directories: [])
        let reason = try library.resolve("paper-reason"), noReason = try library.resolve("paper-no-reason"), small = try library.resolve("small-model")
        #expect(TokenBudget.tokens(count: 30, prompt: reason) == TokenBudget.tokens(count: 30, decimals: 4, reasonLimit: 160))
        #expect(TokenBudget.tokens(count: 30, prompt: noReason) == TokenBudget.tokens(count: 30, decimals: 4, reasonLimit: nil))
        #expect(TokenBudget.tokens(count: 10, prompt: small) == TokenBudget.tokens(count: 10, decimals: 2, reasonLimit: 80))
        // The budget grows with the batch, so a split batch asks for less.
        let configuration = RelabelConfiguration(prompt: reason, model: "m")
        #expect(configuration.tokenBudget(count: 15) < configuration.tokenBudget(count: 30))
        var fixed = configuration
        fixed.maxTokens = 777
        #expect(fixed.tokenBudget(count: 30) == 777, "--max-tokens overrides the budget")
    }

    @Test func theReasonLimitIsInTheSchemaAndCheckedLocally() throws {
        let version = PromptVersion(name: "t", reasonLimit: 20, systemText: "s")
        let schema = version.render([DatasetItem(id: "a", descriptions: [], reference: EmotionDistribution(oneHot: .sad))]).responseSchema.schema
        #expect(schema["properties"]?["items"]?["items"]?["properties"]?["reason"]?["maxLength"] == 20)
        let long = String(repeating: "word ", count: 10)
        let answer = ChunkAnswerSchema.answer([([0, 1, 0, 0, 0, 0, 0, 0], long)])
        let cut = ChunkAnswerParser(count: 1, prompt: version).parse(answer)
        #expect(cut.outcomes[0].relabel?.reason == String(long.prefix(20)) && cut.outcomes[0].relabel?.reasonWasCut == true)
        var strict = version
        strict.reasonOverflow = .reject
        #expect(ChunkAnswerParser(count: 1, prompt: strict).parse(answer).outcomes[0].failure?.kind == .reasonTooLong)
    }
}
