import Foundation
import Testing
@testable import LLMKit

/// Prices, the token estimate and the dry run.
@Suite struct CostTests {
    @Test func pricesAreFoundByNameOrDatedNameAndCountCachedTokensAndTheBatchDiscount() throws {
        let table = PriceTable.builtin
        #expect(table.price(for: "gpt-4o-mini")?.name == "gpt-4o-mini")
        #expect(table.price(for: "gpt-4o-mini-2024-07-18")?.name == "gpt-4o-mini", "a dated snapshot takes its family's price")
        #expect(table.price(for: "gpt-4o-2024-08-06")?.name == "gpt-4o", "the longest listed prefix wins, not gpt-4o-mini")
        #expect(table.price(for: "gemma3-270m") == nil && table.price(for: "gpt-4oz") == nil)
        let price = try #require(table.price(for: "gpt-4o-mini")?.price)
        let usage = TokenUsage(promptTokens: 2_000_000, completionTokens: 1_000_000, cachedTokens: 1_000_000)
        // 1M fresh at 0.15, 1M cached at 0.075, 1M out at 0.60.
        #expect(abs(price.dollars(usage, batch: false) - 0.825) < 1e-12)
        #expect(abs(price.dollars(usage, batch: true) - 0.4125) < 1e-12)
    }

    @Test func aPricesFileOverridesAndExtendsTheTableAndABadFieldIsNamed() throws {
        let good = TestPaths.write(#"{"source": "our contract", "date": "2026-11", "models": {"gemma3": {"input": 0, "output": 0.1}, "gpt-4o-mini": {"input": 1, "output": 2, "batch_discount": 0.25}}}"#, name: "prices.json")
        let table = try PriceTable.load(good)
        #expect(table.source == "our contract" && table.date == "2026-11")
        #expect(table.price(for: "gemma3")?.price == ModelPrice(input: 0, output: 0.1))
        #expect(table.price(for: "gpt-4o-mini")?.price.dollars(TokenUsage(promptTokens: 1_000_000), batch: true) == 0.75)
        #expect(table.price(for: "gpt-4o") != nil, "the built-in entries stay")
        let bad = TestPaths.write(#"{"models": {"m": {"input": "cheap", "output": 1}}}"#, name: "bad.json")
        #expect { try PriceTable.load(bad) } throws: { ($0 as? DatasetError)?.description.contains("field 'models.m.input': must be a number >= 0") == true }
    }

    static func sample() throws -> [DatasetItem] {
        let reader = try DatasetReader(path: TestPaths.fixture("sample/sample.jsonl"), format: nil, policy: .default)
        var items: [DatasetItem] = []
        while let item = try reader.next() { items.append(item) }
        return items
    }

    /// Prompt tokens llama.cpp's Gemma 3 tokenizer gave the first batch of the bundled sample
    /// (`/apply-template` then `/tokenize`), by prompt version and batch size.
    static let measured: [(String, Int, Int)] = [
        ("paper-reason", 10, 969), ("paper-reason", 20, 1406), ("paper-reason", 30, 1886),
        ("paper-no-reason", 10, 920), ("paper-no-reason", 30, 1837), ("small-model", 10, 682), ("small-model", 30, 1541),
    ]

    @Test func thePromptEstimateIsWithinFivePercentOfGemmasTokenizer() throws {
        let items = try Self.sample()
        for (name, size, tokens) in Self.measured {
            let prompt = try PromptLibrary(directories: []).resolve(name)
            let request = RelabelConfiguration(prompt: prompt, model: "m", chunkSize: size).request(for: Array(items.prefix(size)))
            let estimate = TokenEstimate.promptTokens(request)
            #expect(abs(Double(estimate - tokens)) / Double(tokens) <= 0.05, "\(name) × \(size): estimated \(estimate), measured \(tokens)")
            let flat = request.messages.reduce(0) { $0 + $1.content.count } / 4
            #expect(Double(flat) < 0.75 * Double(tokens), "a flat chars/4 is far off (\(flat)): the estimate has to count digits")
        }
    }

    @Test func theDryRunCountsEveryRequestAndItsBudgetWithoutSending() throws {
        let prompt = try PromptLibrary(directories: []).resolve("paper-reason")
        let configuration = RelabelConfiguration(prompt: prompt, model: "gpt-4o-mini")
        let e = try DryRunEstimate.estimate(dataset: TestPaths.fixture("sample/sample.jsonl"), format: nil, limit: nil, configuration: configuration)
        #expect(e.items == 72 && e.requests == 3)
        #expect(e.completionBudget == 2 * TokenBudget.tokens(count: 30, prompt: prompt) + TokenBudget.tokens(count: 12, prompt: prompt))
        #expect(e.expectedCompletion == 72 * 110)
        // prompt_tokens ≈ 488 + 47 n, measured on llama.cpp for 10 to 30 items.
        let formula = 2 * (488 + 47 * 30) + (488 + 47 * 12)
        #expect(abs(Double(e.promptTokens - formula)) / Double(formula) <= 0.05, "\(e.promptTokens) vs \(formula)")
        let limited = try DryRunEstimate.estimate(dataset: TestPaths.fixture("sample/sample.jsonl"), format: nil, limit: 40,
                                                   skip: ["s001"], configuration: configuration)
        #expect(limited.items == 39 && limited.requests == 2)
    }

    /// Retries are attempts beyond the first of the requests sent: answers from the cache
    /// (attempts 0) made `score` print `cost: retries -2`.
    @Test func retriesCountOnlyTheRequestsSentToAServer() {
        let all = CostInput(requests: 2, attempts: 0, cacheHits: 2, usage: TokenUsage(), latencies: [0, 0])
        #expect(all.retries == 0 && Scorecard.cost(all, items: 40).retries == 0)
        let mixed = CostInput(requests: 4, attempts: 5, cacheHits: 1, usage: TokenUsage(), latencies: [])
        #expect(mixed.retries == 2, "3 requests sent in 5 attempts")
        #expect(CostInput(requests: 3, attempts: 4, usage: TokenUsage(), latencies: []).retries == 1)
    }

    /// `--max-tokens 100` caps every answer at 100 tokens: the expected completion is at most
    /// that too (it printed "$0.0750 expected, $0.0111 at most", the expectation ignoring the limit).
    @Test func theExpectedCompletionStaysWithinAFixedTokenLimit() throws {
        let prompt = try PromptLibrary(directories: []).resolve("paper-reason")
        let configuration = RelabelConfiguration(prompt: prompt, model: "gpt-4o-mini", maxTokens: 100)
        let e = try DryRunEstimate.estimate(dataset: TestPaths.fixture("sample/sample.jsonl"), format: nil, limit: nil, configuration: configuration)
        #expect(e.requests == 3 && e.completionBudget == 3 * 100)
        #expect(e.expectedCompletion <= e.completionBudget, "expected \(e.expectedCompletion), at most \(e.completionBudget)")
        #expect(e.expectedCompletion == 3 * 100, "110 per item for 30 items is more than 100: each request is expected to use its limit")
        let price = try #require(PriceTable.builtin.price(for: "gpt-4o-mini")).1
        #expect(price.dollars(e.usage(upperBound: false), batch: false) <= price.dollars(e.usage(upperBound: true), batch: false))
        // A limit above the expectation leaves the expectation alone.
        let loose = try DryRunEstimate.estimate(dataset: TestPaths.fixture("sample/sample.jsonl"), format: nil, limit: nil,
                                                configuration: RelabelConfiguration(prompt: prompt, model: "m", maxTokens: 10_000))
        #expect(loose.expectedCompletion == 72 * 110)
    }
}
