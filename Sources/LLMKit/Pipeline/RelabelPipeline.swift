/// Settings of a relabel run.
public struct RelabelConfiguration: Sendable {
    public var prompt: PromptVersion
    public var model: String
    /// Items per request (default: the prompt version's).
    public var batchSize: Int
    /// Requests in flight at once.
    public var concurrency: Int
    public var temperature: Double?
    public var seed: Int?
    public var maxTokens: Int?
    public var policy: RenormalizationPolicy
    /// How many times items whose answer was missing or invalid are asked again, each time in
    /// batches half the size of the last (down to one item).
    public var reaskRounds: Int

    public init(prompt: PromptVersion, model: String, batchSize: Int? = nil, concurrency: Int = 1, temperature: Double? = 0, seed: Int? = 42,
                maxTokens: Int? = nil, policy: RenormalizationPolicy = .default, reaskRounds: Int = 2) {
        self.prompt = prompt
        self.model = model
        self.batchSize = max(1, batchSize ?? prompt.batchSize)
        self.concurrency = max(1, concurrency)
        self.temperature = temperature
        self.seed = seed
        self.maxTokens = maxTokens
        self.policy = policy
        self.reaskRounds = max(0, reaskRounds)
    }
}

/// What a run did.
public struct RelabelSummary: Sendable, Equatable {
    public var items = 0
    public var relabeled = 0
    /// Failed items by ``ItemFailure/Kind`` raw value.
    public var failedByKind: [String: Int] = [:]
    /// Items that failed with `provider_error`, by the provider error's kind (``LLMError/kindName``).
    public var providerErrors: [String: Int] = [:]
    /// Relabeled items whose adjusted distribution equals the reference (max |p - r| <= 1e-6).
    public var unchangedExact = 0
    /// Relabeled items within 0.01 of the reference.
    public var unchangedWithin001 = 0
    /// Relabeled items whose raw sum was off by more than the tolerance.
    public var sumOff = 0
    /// Logical requests (batches and re-asks).
    public var requests = 0
    /// HTTP attempts, retries included (answers from the cache are not attempts).
    public var attempts = 0
    /// Requests answered from the response cache.
    public var cacheHits = 0
    /// Seconds each request took (retries included), in completion order.
    public var latencies: [Double] = []
    /// Items asked again after a missing or invalid answer.
    public var reasked = 0
    /// Answers whose JSON had prose or a code fence around it.
    public var answersWithStrippedText = 0
    /// Entries that named no batch item.
    public var strayEntries = 0
    public var usage = TokenUsage()
    public var failed: Int { failedByKind.values.reduce(0, +) }

    public init() {}

    /// Adds another summary's counts.
    public mutating func add(_ other: RelabelSummary) {
        items += other.items
        relabeled += other.relabeled
        for (k, v) in other.failedByKind { failedByKind[k, default: 0] += v }
        for (k, v) in other.providerErrors { providerErrors[k, default: 0] += v }
        unchangedExact += other.unchangedExact
        unchangedWithin001 += other.unchangedWithin001
        sumOff += other.sumOff
        requests += other.requests
        attempts += other.attempts
        cacheHits += other.cacheHits
        latencies += other.latencies
        reasked += other.reasked
        answersWithStrippedText += other.answersWithStrippedText
        strayEntries += other.strayEntries
        usage = usage + other.usage
    }
}

/// Relabels a stream of items: batches them, renders each batch with the prompt version, sends
/// it through an ``LLMClient`` with bounded concurrency, parses each answer with the output
/// contract and writes one ``RelabeledRecord`` per item, in input order.
///
/// Per batch: a provider error (after the client's middlewares, e.g. retries) fails every item
/// of the batch with kind `provider_error`; a truncated answer (`finish_reason: length`) splits
/// the batch in two instead of asking the same size again (`truncated` when even one item is
/// cut off); a refusal or content filter fails the batch with `refused`; these are decided from
/// the finish reason and refusal before any parsing. Items
/// whose entry was missing or invalid are asked again in smaller batches
/// (``RelabelConfiguration/reaskRounds``). Every input item ends as exactly one record.
public struct RelabelPipeline: Sendable {
    public let client: LLMClient
    public let configuration: RelabelConfiguration

    public init(client: LLMClient, configuration: RelabelConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    /// One finished batch, handed to the writer in input order.
    public struct BatchResult: Sendable {
        /// 0-based position of the batch in the input.
        public var index: Int
        public var records: [RelabeledRecord]
        public var summary: RelabelSummary
    }

    /// Runs over `next` (called until it returns `nil`), handing each batch's records to
    /// `write` in input order. Cancellation abandons the batches in flight (their requests are
    /// cancelled, nothing of them is written) and throws `CancellationError`.
    public func run(
        next: () throws -> DatasetItem?,
        write: (BatchResult) throws -> Void
    ) async throws -> RelabelSummary {
        var total = RelabelSummary()
        try await withThrowingTaskGroup(of: BatchResult.self) { group in
            var nextBatch = 0
            var nextToWrite = 0
            var finished: [Int: BatchResult] = [:]
            var inFlight = 0
            var exhausted = false

            func flush(_ result: BatchResult) throws {
                finished[result.index] = result
                while let ready = finished.removeValue(forKey: nextToWrite) {
                    try write(ready)
                    total.add(ready.summary)
                    nextToWrite += 1
                }
            }

            while true {
                while !exhausted && inFlight < configuration.concurrency {
                    var items: [DatasetItem] = []
                    while items.count < configuration.batchSize, let item = try next() { items.append(item) }
                    if items.count < configuration.batchSize { exhausted = true }
                    guard !items.isEmpty else { break }
                    let index = nextBatch
                    nextBatch += 1
                    inFlight += 1
                    group.addTask {
                        let (records, summary) = try await relabel(items, round: 0)
                        return BatchResult(index: index, records: records, summary: summary)
                    }
                }
                guard let result = try await group.next() else { break }
                inFlight -= 1
                // Once cancelled, nothing more is written: batches still in flight are abandoned
                // and the output ends at the last complete batch.
                try Task.checkCancellation()
                try flush(result)
            }
        }
        return total
    }

    /// Relabels one batch (and its re-asks), returning one record per item in order.
    func relabel(_ items: [DatasetItem], round: Int) async throws(CancellationError) -> ([RelabeledRecord], RelabelSummary) {
        var summary = RelabelSummary()
        summary.requests = 1
        let rendered = configuration.prompt.render(items)
        let request = rendered.request(model: configuration.model, temperature: configuration.temperature, seed: configuration.seed, maxTokens: configuration.maxTokens)

        var outcomes: [ItemOutcome]
        let sent = ContinuousClock.now
        do {
            let response = try await client.complete(request)
            summary.latencies.append((ContinuousClock.now - sent).seconds)
            summary.attempts += response.attempts
            if response.servedFromCache { summary.cacheHits += 1 }
            if let usage = response.usage { summary.usage = usage }
            switch response.finishReason {
            case .length where items.count > 1:
                let half = (items.count + 1) / 2
                let (first, a) = try await relabel(Array(items[..<half]), round: round)
                let (second, b) = try await relabel(Array(items[half...]), round: round)
                summary.add(a)
                summary.add(b)
                return (first + second, summary)
            case .length:
                outcomes = Array(repeating: .failed(ItemFailure(.truncated, "the answer was cut off (finish_reason: length) even for a single item; raise the token limit")), count: items.count)
            case .contentFilter:
                outcomes = Array(repeating: .failed(ItemFailure(.refused, "a content filter stopped the answer")), count: items.count)
            default:
                if let refusal = response.refusal, !refusal.isEmpty {
                    outcomes = Array(repeating: .failed(ItemFailure(.refused, "the model refused: \(refusal)")), count: items.count)
                } else {
                    let parsed = BatchResponseParser(count: items.count, expectsReason: configuration.prompt.asksForReason, policy: configuration.policy)
                        .parse(response.text ?? "")
                    outcomes = parsed.outcomes
                    if parsed.extraction?.strippedAnything == true { summary.answersWithStrippedText += 1 }
                    summary.strayEntries += parsed.strayEntries.count
                }
            }
        } catch let error as LLMError {
            if error.kind == .cancelled || Task.isCancelled { throw CancellationError() }
            summary.latencies.append((ContinuousClock.now - sent).seconds)
            summary.attempts += error.context.attempt ?? 1
            outcomes = Array(repeating: .failed(ItemFailure(.providerError, error.description, code: error.kindName)), count: items.count)
        } catch {
            // Only the split's recursive calls get here, and they throw only on cancellation.
            throw CancellationError()
        }

        // Ask again, in smaller batches, for items whose answer was missing or invalid.
        let retry = outcomes.indices.filter { i in
            guard let f = outcomes[i].failure else { return false }
            return ![.providerError, .truncated, .refused].contains(f.kind)
        }
        if !retry.isEmpty && round < configuration.reaskRounds {
            let size = max(1, (min(items.count, configuration.batchSize) + 1) / 2)
            let again = retry.map { items[$0] }
            summary.reasked += again.count
            var position = 0
            while position < again.count {
                let chunk = Array(again[position..<min(again.count, position + size)])
                let (records, sub) = try await relabel(chunk, round: round + 1)
                summary.add(sub.withoutItemCounts())
                // The latest answer decides: relabeled, or the reason of the last failure.
                for (offset, record) in records.enumerated() {
                    outcomes[retry[position + offset]] = record.outcome
                }
                position += size
            }
        }

        var records: [RelabeledRecord] = []
        records.reserveCapacity(items.count)
        summary.items = items.count
        for (item, outcome) in zip(items, outcomes) {
            records.append(RelabeledRecord(id: item.id, reference: item.reference, outcome: outcome,
                                           promptVersion: configuration.prompt.id, provider: client.provider.id.name, model: configuration.model))
            switch outcome {
            case .relabeled(let r):
                summary.relabeled += 1
                let diff = r.adjusted.maxAbsoluteDifference(to: item.reference)
                if diff <= 1e-6 { summary.unchangedExact += 1 }
                if diff <= 0.01 { summary.unchangedWithin001 += 1 }
                if r.sumWasOff { summary.sumOff += 1 }
            case .failed(let f):
                summary.failedByKind[f.kind.rawValue, default: 0] += 1
                if f.kind == .providerError { summary.providerErrors[f.code ?? "unknown", default: 0] += 1 }
            }
        }
        return (records, summary)
    }
}

extension RelabelSummary {
    /// The counters that describe requests, not items (for re-asks, whose items are counted once by their batch).
    func withoutItemCounts() -> RelabelSummary {
        var s = self
        s.items = 0
        s.relabeled = 0
        s.failedByKind = [:]
        s.providerErrors = [:]
        s.unchangedExact = 0
        s.unchangedWithin001 = 0
        s.sumOff = 0
        return s
    }
}

extension RelabelSummary {
    /// The summary as JSON (`promptlab relabel --summary-json`): stable keys, documented in the README.
    public func json(seconds: Double, output: String, prompt: String, provider: String, model: String) -> JSONValue {
        func counts(_ d: [String: Int]) -> JSONValue { .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })) }
        return [
            "prompt": .string(prompt), "provider": .string(provider), "model": .string(model),
            "items": .int(items), "relabeled": .int(relabeled), "failed": .int(failed),
            "failed_by_kind": counts(failedByKind), "provider_errors": counts(providerErrors),
            "unchanged_exact": .int(unchangedExact), "unchanged_within_0_01": .int(unchangedWithin001), "sum_off": .int(sumOff),
            "requests": .int(requests), "attempts": .int(attempts), "cache_hits": .int(cacheHits), "reasked": .int(reasked),
            "stray_entries": .int(strayEntries), "answers_with_stripped_text": .int(answersWithStrippedText),
            "prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens), "cached_tokens": .int(usage.cachedTokens),
            "wall_seconds": .double(seconds), "output": .string(output),
        ]
    }
}
