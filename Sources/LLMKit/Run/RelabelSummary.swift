/// What a run (or one chunk of it) did: items and their outcomes, requests, attempts, tokens.
public struct RelabelSummary: Sendable, Equatable {
    public var items = 0
    public var relabeled = 0
    /// Failed items by kind.
    public var failedByKind: [ItemFailure.Kind: Int] = [:]
    /// Items that failed with `provider_error`, by the provider error's kind.
    public var providerErrors: [LLMError.Kind: Int] = [:]
    /// Relabeled items whose adjusted distribution equals the reference (max |p - r| <= 1e-6).
    public var unchangedExact = 0
    /// Relabeled items within 0.01 of the reference.
    public var unchangedWithin001 = 0
    /// Relabeled items whose raw sum was off by more than the tolerance.
    public var sumOff = 0
    /// Relabeled items whose reason was cut at the prompt version's limit.
    public var reasonsCut = 0
    /// Logical requests (chunks, splits and re-asks).
    public var requests = 0
    /// HTTP attempts, retries included (answers from the cache are not attempts).
    public var attempts = 0
    /// Requests answered from the response cache.
    public var cacheHits = 0
    /// Requests whose answer used the whole token budget (cut off, or stopped while streaming).
    public var requestsAtBudget = 0
    /// Requests whose reported completion tokens exceeded the budget sent (a server that
    /// ignores `max_tokens`); streaming stops such answers at the budget.
    public var requestsOverBudget = 0
    /// The most completion tokens one request generated.
    public var largestCompletion = 0
    /// Seconds each request took (retries included), in completion order.
    public var latencies: [Double] = []
    /// Items asked again after a missing or invalid answer.
    public var reasked = 0
    /// Answers whose JSON had prose or a code fence around it.
    public var answersWithStrippedText = 0
    /// Entries that named no chunk item.
    public var strayEntries = 0
    public var usage = TokenUsage()
    /// Seconds the server said it spent reading prompts and generating (llama.cpp's
    /// `timings`), summed over the answers that carried them: with ``latencies``, where a
    /// run's time goes (the rest is queueing, transport and the client).
    public var serverPromptSeconds = 0.0
    public var serverGenerationSeconds = 0.0
    /// Prompt tokens the server evaluated and took from its KV cache (llama.cpp's `timings`:
    /// `prompt_n`, `cache_n`), over the answers the server gave in this run (not those served
    /// from the response cache or the answer log, whose usage ``usage`` also counts).
    public var serverEvaluatedTokens = 0
    public var serverCachedTokens = 0
    public var failed: Int { failedByKind.values.reduce(0, +) }

    public init() {}

    /// Counts one item's outcome.
    public mutating func count(_ outcome: ItemOutcome, reference: EmotionDistribution) {
        switch outcome {
        case .relabeled(let r):
            relabeled += 1
            if r.adjusted.isWithin(1e-6, of: reference) { unchangedExact += 1 }
            if r.adjusted.isWithin(0.01, of: reference) { unchangedWithin001 += 1 }
            if r.sumWasOff { sumOff += 1 }
            if r.reasonWasCut { reasonsCut += 1 }
        case .failed(let f):
            failedByKind[f.kind, default: 0] += 1
            if f.kind == .providerError, let kind = f.providerError { providerErrors[kind, default: 0] += 1 }
        }
    }

    /// Counts one answer against its token budget: its usage, the largest completion, an answer
    /// over the budget, and an answer cut at it (returned), the same for every executor.
    mutating func countAnswer(_ response: CompletionResponse, budget: Int) -> Bool {
        if let usage = response.usage {
            self.usage = self.usage + usage
            largestCompletion = max(largestCompletion, usage.completionTokens)
            if usage.completionTokens > budget { requestsOverBudget += 1 }
        }
        if let timings = response.timings, !response.servedFromCache {
            serverPromptSeconds += timings.promptMilliseconds / 1000
            serverGenerationSeconds += timings.predictedMilliseconds / 1000
            serverEvaluatedTokens += timings.promptTokens
            serverCachedTokens += timings.cachedTokens
        }
        let hitBudget = response.finishReason == .length
        if hitBudget { requestsAtBudget += 1 }
        return hitBudget
    }

    /// Takes back the count of a failure that a later request replaced.
    mutating func uncount(_ failure: ItemFailure) {
        items -= 1
        failedByKind[failure.kind, default: 0] -= 1
        if failedByKind[failure.kind] == 0 { failedByKind[failure.kind] = nil }
        if failure.kind == .providerError, let kind = failure.providerError {
            providerErrors[kind, default: 0] -= 1
            if providerErrors[kind] == 0 { providerErrors[kind] = nil }
        }
    }

    /// Adds another summary's counts.
    public mutating func add(_ other: RelabelSummary) {
        items += other.items
        relabeled += other.relabeled
        for (k, v) in other.failedByKind { failedByKind[k, default: 0] += v }
        for (k, v) in other.providerErrors { providerErrors[k, default: 0] += v }
        unchangedExact += other.unchangedExact
        unchangedWithin001 += other.unchangedWithin001
        sumOff += other.sumOff
        reasonsCut += other.reasonsCut
        requests += other.requests
        attempts += other.attempts
        cacheHits += other.cacheHits
        requestsAtBudget += other.requestsAtBudget
        requestsOverBudget += other.requestsOverBudget
        largestCompletion = max(largestCompletion, other.largestCompletion)
        latencies += other.latencies
        reasked += other.reasked
        answersWithStrippedText += other.answersWithStrippedText
        strayEntries += other.strayEntries
        usage = usage + other.usage
        serverPromptSeconds += other.serverPromptSeconds
        serverEvaluatedTokens += other.serverEvaluatedTokens
        serverCachedTokens += other.serverCachedTokens
        serverGenerationSeconds += other.serverGenerationSeconds
    }

    /// The counters that describe requests, not items (for re-asks, whose items are counted once by their chunk).
    func withoutItemCounts() -> RelabelSummary {
        var s = self
        s.items = 0
        s.relabeled = 0
        s.failedByKind = [:]
        s.providerErrors = [:]
        s.unchangedExact = 0
        s.unchangedWithin001 = 0
        s.sumOff = 0
        s.reasonsCut = 0
        return s
    }

    /// Completion tokens per item (0 without items).
    public var completionTokensPerItem: Double { items == 0 ? 0 : Double(usage.completionTokens) / Double(items) }

    /// The share of requests whose answer used the whole token budget.
    public var shareAtBudget: Double { requests == 0 ? 0 : Double(requestsAtBudget) / Double(requests) }
}

extension RelabelSummary {
    /// The summary as JSON (`promptlab relabel --summary-json`): stable keys, documented in <doc:LocalAndHostedServers>.
    public func json(seconds: Double, output: String, prompt: String, provider: String, model: String) -> JSONValue {
        func counts<K>(_ d: [K: Int], _ name: (K) -> String) -> JSONValue {
            .object(JSONObject(d.map { (name($0.key), $0.value) }.sorted { $0.0 < $1.0 }.map { ($0.0, JSONValue.int($0.1)) }))
        }
        return [
            "prompt": .string(prompt), "provider": .string(provider), "model": .string(model),
            "items": .int(items), "relabeled": .int(relabeled), "failed": .int(failed),
            "failed_by_kind": counts(failedByKind, \.name), "provider_errors": counts(providerErrors, \.name),
            "unchanged_exact": .int(unchangedExact), "unchanged_within_0_01": .int(unchangedWithin001), "sum_off": .int(sumOff),
            "reasons_cut": .int(reasonsCut),
            "requests": .int(requests), "attempts": .int(attempts), "cache_hits": .int(cacheHits), "reasked": .int(reasked),
            "requests_at_token_budget": .int(requestsAtBudget), "requests_over_token_budget": .int(requestsOverBudget),
            "largest_completion_tokens": .int(largestCompletion),
            "stray_entries": .int(strayEntries), "answers_with_stripped_text": .int(answersWithStrippedText),
            "prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens), "cached_tokens": .int(usage.cachedTokens),
            "completion_tokens_per_item": .double(completionTokensPerItem),
            "wall_seconds": .double(seconds), "output": .string(output),
            "request_seconds": .double(latencies.reduce(0, +)), "server_prompt_seconds": .double(serverPromptSeconds),
            "server_generation_seconds": .double(serverGenerationSeconds),
            "server_evaluated_tokens": .int(serverEvaluatedTokens), "server_cached_tokens": .int(serverCachedTokens),
        ]
    }
}
