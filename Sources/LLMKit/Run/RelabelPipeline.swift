import Synchronization

/// Settings of a relabel run.
public struct RelabelConfiguration: Sendable {
    /// The prompt version; its id is computed once, here, not per item.
    public var prompt: PromptVersion {
        didSet { promptID = prompt.id }
    }
    /// `prompt.id`, computed when the prompt is set.
    public private(set) var promptID: String
    public var model: String
    /// Items per request (default: the prompt version's).
    public var chunkSize: Int
    /// Requests in flight at once.
    public var concurrency: Int
    public var temperature: Double?
    public var seed: Int?
    /// A fixed token limit per request; `nil` sends each chunk's ``TokenBudget``.
    public var maxTokens: Int?
    public var policy: RenormalizationPolicy
    /// How many times items whose answer was missing or invalid are asked again, each time in
    /// chunks half the size of the last (down to one item).
    public var reaskRounds: Int
    /// Record in each line the model the server said answered when it is not ``model``
    /// (`answered_by`): for a pool whose endpoints may serve different models.
    public var recordsAnsweringModel = false
    /// The relabeling method; `nil` is the prompted adjustment (``MethodID/adjust``), which
    /// this pipeline carries out itself with ``prompt``.
    public var method: (any RelabelMethod)?
    /// The method's name: ``MethodID/adjust`` unless another ``method`` is set.
    public var methodID: MethodID { method?.id ?? .adjust }

    public init(prompt: PromptVersion, model: String, chunkSize: Int? = nil, concurrency: Int = 1, temperature: Double? = 0, seed: Int? = 42,
                maxTokens: Int? = nil, policy: RenormalizationPolicy = .default, reaskRounds: Int = 2) {
        self.prompt = prompt
        self.promptID = prompt.id
        self.model = model
        self.chunkSize = max(1, chunkSize ?? prompt.chunkSize)
        self.concurrency = max(1, concurrency)
        self.temperature = temperature
        self.seed = seed
        self.maxTokens = maxTokens
        self.policy = policy
        self.reaskRounds = max(0, reaskRounds)
    }

    /// The `max_tokens` of a request for `count` items: ``maxTokens`` when set, else the
    /// ``TokenBudget`` of the chunk.
    public func tokenBudget(count: Int) -> Int {
        maxTokens ?? TokenBudget.tokens(count: count, prompt: prompt)
    }

    /// Items per request when re-asking the invalid items of a chunk of `count`: half the chunk
    /// (rounded up), so a re-ask is smaller than the request that failed.
    func reaskChunkSize(after count: Int) -> Int { max(1, (min(count, chunkSize) + 1) / 2) }

    /// The exact request for a chunk of `items` (see ``RelabelPipeline/request(for:)``).
    public func request(for items: [DatasetItem]) -> CompletionRequest {
        var request = prompt.render(items).request(model: model, temperature: temperature, seed: seed, maxTokens: tokenBudget(count: items.count))
        request.items = items
        return request
    }
}

/// Relabels chunks of items: renders each chunk with the prompt version, sends it through an
/// ``LLMClient`` with bounded concurrency, parses each answer with the output contract and
/// makes one ``RelabeledRecord`` per item, delivered in input order.
///
/// Per chunk: a provider error (after the client's middlewares, e.g. retries) fails every item
/// of the chunk with kind `provider_error`, except an error no other request can fix
/// (``LLMError/Kind/isFatal``: wrong key, no access, unknown model, no quota), which stops the
/// whole run (``PipelineStop``) without failing anything; a truncated answer
/// (`finish_reason: length`) splits the chunk in two instead of asking the same size again
/// (`truncated` when even one item is cut off); a refusal or content filter fails the chunk
/// with `refused`; these are decided from the finish reason and refusal before any parsing.
/// Items whose entry was missing or invalid are asked again in smaller chunks
/// (``RelabelConfiguration/reaskRounds``). Every item given ends as exactly one record.
public struct RelabelPipeline: Sendable {
    public let client: LLMClient
    public let configuration: RelabelConfiguration
    private let requests = RequestCounter()
    private let emit: @Sendable (RelabelEvent) -> Void

    /// `emit` receives the request events (``RelabelEvent/requestSent(_:)`` and
    /// ``RelabelEvent/requestFinished(_:)``, and what middlewares report through
    /// ``RequestObserver``).
    public init(client: LLMClient, configuration: RelabelConfiguration, emit: @escaping @Sendable (RelabelEvent) -> Void = { _ in }) {
        self.client = client
        self.configuration = configuration
        self.emit = emit
    }

    /// One finished chunk, handed on in input order.
    public struct ChunkResult: Sendable {
        /// 0-based position of the chunk in the input.
        public var index: Int
        public var records: [RelabeledRecord]
        public var summary: RelabelSummary
    }

    /// Runs over the chunks `nextChunk` returns (until `nil`), handing each chunk's records to
    /// `deliver` in input order, with at most ``RelabelConfiguration/concurrency`` requests in
    /// flight. Cancellation abandons the chunks in flight (their requests are cancelled,
    /// nothing of them is delivered) and throws `CancellationError`; a fatal provider error
    /// throws ``PipelineStop`` after delivering the chunks before it.
    public func run(
        nextChunk: () async throws -> [DatasetItem]?,
        deliver: (ChunkResult) async throws -> Void
    ) async throws -> RelabelSummary {
        var total = RelabelSummary()
        var index = 0
        try await forEachInOrder(limit: configuration.concurrency, next: { () async throws -> (Int, [DatasetItem])? in
            guard let items = try await nextChunk(), !items.isEmpty else { return nil }
            defer { index += 1 }
            return (index, items)
        }, work: { [self] (unit: (Int, [DatasetItem])) in
            let (records, summary) = try await relabel(unit.1)
            return ChunkResult(index: unit.0, records: records, summary: summary)
        }, deliver: { ready in
            try await deliver(ready)
            total.add(ready.summary)
        })
        return total
    }

    /// Relabels one chunk (and its re-asks), returning one record per item in order.
    /// Throws `CancellationError` when cancelled and ``PipelineStop`` on a fatal provider error.
    public func relabel(_ items: [DatasetItem]) async throws -> ([RelabeledRecord], RelabelSummary) {
        guard let method = configuration.method else { return try await relabel(items, round: 0) }
        let context = MethodContext(pipeline: self)
        let outcomes = try await method.relabel(items, context: context)
        precondition(outcomes.count == items.count, "the method \(method.id) returned \(outcomes.count) outcomes for \(items.count) items")
        var summary = context.counts.withLock { $0 }
        return (records(items, outcomes, summary: &summary), summary)
    }

    /// Asks for `items` once, then sends the follow-ups ``RunPolicy`` decides (halves of a
    /// cut-off answer, re-asks of invalid entries) at once, one after the other; the latest
    /// answer decides each item.
    func relabel(_ items: [DatasetItem], round: Int) async throws -> ([RelabeledRecord], RelabelSummary) {
        var summary = RelabelSummary()
        summary.requests = 1
        let result = await ask(items, round: round, summary: &summary)
        if case .failure(let error) = result, error.kind == .cancelled || Task.isCancelled { throw CancellationError() }
        let decision = try policy.decide(result, count: items.count, round: round, retries: 0, summary: &summary) { response, summary in
            verdict(on: response, count: items.count, summary: &summary)
        }
        var outcomes = [ItemOutcome?](repeating: nil, count: items.count)
        var answeredBy = [String?](repeating: decision.answeredBy, count: items.count)
        for (position, outcome) in decision.finals { outcomes[position] = outcome }
        for up in decision.followUps {
            let (records, sub) = try await relabel(up.positions.map { items[$0] }, round: up.round)
            summary.add(sub.withoutItemCounts())
            for (position, record) in zip(up.positions, records) {
                outcomes[position] = record.outcome
                answeredBy[position] = record.answeredBy
            }
        }
        return (records(items, outcomes.map { $0! }, answeredBy: answeredBy, summary: &summary), summary)
    }

    /// The run's policy for this pipeline's settings (retries of errors are the client's).
    var policy: RunPolicy { RunPolicy(configuration: configuration, errorRetries: 0) }

    /// Sends one request for `items`, reporting it as events and counting its latency,
    /// attempts and usage into `summary`.
    private func ask(_ items: [DatasetItem], round: Int, summary: inout RelabelSummary) async -> Result<CompletionResponse, LLMError> {
        await send(request(for: items), items: items.count, round: round, summary: &summary)
    }

    /// Sends `request` (for `items` items) through the client, reporting it as events and
    /// counting its latency, attempts and usage into `summary`: every request of a run, the
    /// adjustment's and a method's (``MethodContext/send(_:items:)``), goes through here.
    func send(_ request: CompletionRequest, items count: Int, round: Int, summary: inout RelabelSummary) async -> Result<CompletionResponse, LLMError> {
        let budget = request.maxTokens ?? 0
        let number = requests.next()
        emit(.requestSent(RequestInfo(request: number, items: count, round: round, tokenBudget: budget)))
        let observer = RequestObserver(request: number, emit: emit)
        let sent = ContinuousClock.now
        let result: Result<CompletionResponse, LLMError> = await RequestObserver.$current.withValue(observer) {
            do throws(LLMError) { return .success(try await client.complete(request)) } catch { return .failure(error) }
        }
        let seconds = (ContinuousClock.now - sent).seconds
        switch result {
        case .failure(let error):
            guard error.kind != .cancelled && !Task.isCancelled else { return result }
            summary.latencies.append(seconds)
            summary.attempts += error.context.attempt ?? 1
            emit(.requestFinished(RequestOutcome(request: number, items: count, attempts: error.context.attempt ?? 1, usage: nil,
                                                 finishReason: nil, error: error.kind, hitBudget: false, seconds: seconds)))
        case .success(let response):
            summary.latencies.append(seconds)
            summary.attempts += response.attempts
            if response.servedFromCache { summary.cacheHits += 1 }
            let hitBudget = summary.countAnswer(response, budget: budget)
            emit(.requestFinished(RequestOutcome(request: number, items: count, attempts: response.attempts, usage: response.usage,
                                                 finishReason: response.finishReason, error: nil, hitBudget: hitBudget, seconds: seconds)))
        }
        return result
    }

    /// The exact request for a chunk of `items`: rendered with the prompt version, with the
    /// chunk's token budget and the items in structured form. Every way of sending (a
    /// synchronous call, a line of a Batch API input file) sends this.
    public func request(for items: [DatasetItem]) -> CompletionRequest { configuration.request(for: items) }

    /// What an answer to a chunk of `count` items means, decided the same way whatever sent the
    /// request: the finish reason and refusal first (cut off with several items: ask again in
    /// two halves; cut off alone: `truncated`; a refusal or filter: `refused`), then the output
    /// contract. Counts stripped text and stray entries into `summary`.
    public func verdict(on response: CompletionResponse, count: Int, summary: inout RelabelSummary) -> AnswerVerdict {
        switch response.finishReason {
        case .length where count > 1:
            return .split
        case .length:
            let budget = configuration.tokenBudget(count: count)
            return .outcomes(Array(repeating: .failed(ItemFailure(.truncated, "the answer was cut off at the token limit (\(budget)) even for a single item")), count: count))
        case .contentFilter:
            return .outcomes(Array(repeating: .failed(ItemFailure(.refused, "a content filter stopped the answer")), count: count))
        default:
            if let refusal = response.refusal, !refusal.isEmpty {
                return .outcomes(Array(repeating: .failed(ItemFailure(.refused, "the model refused: \(refusal)")), count: count))
            }
            let parsed = ChunkAnswerParser(count: count, prompt: configuration.prompt, policy: configuration.policy)
                .parse(response.text ?? "", invalidUTF8: response.bodyWasInvalidUTF8)
            if parsed.extraction?.strippedAnything == true { summary.answersWithStrippedText += 1 }
            summary.strayEntries += parsed.strayEntries.count
            return .outcomes(parsed.outcomes)
        }
    }

    /// One record per item, counted into `summary`.
    public func records(_ items: [DatasetItem], _ outcomes: [ItemOutcome], answeredBy: [String?] = [], summary: inout RelabelSummary) -> [RelabeledRecord] {
        var records: [RelabeledRecord] = []
        records.reserveCapacity(items.count)
        summary.items = items.count
        for (item, outcome) in zip(items, outcomes) {
            let answered = records.count < answeredBy.count ? answeredBy[records.count] : nil
            records.append(RelabeledRecord(id: item.id, reference: item.reference, outcome: outcome,
                                           promptVersion: configuration.promptID, provider: client.provider.id.name, model: configuration.model,
                                           answeredBy: answered, method: configuration.method?.id.name, keep: item.keep.isEmpty ? nil : item.keep))
            summary.count(outcome, reference: item.reference)
        }
        return records
    }
}

/// What an answer means for its chunk (``RelabelPipeline/verdict(on:count:summary:)``).
public enum AnswerVerdict: Sendable, Equatable {
    /// One outcome per item; failures whose kind ``ItemFailure/Kind/isReaskable`` are worth
    /// asking again in smaller chunks.
    case outcomes([ItemOutcome])
    /// The answer was cut off with several items: ask again in two halves.
    case split
}

/// A provider error that no other request of the run can fix stopped the pipeline.
public struct PipelineStop: Error, Sendable {
    public var error: LLMError
}

/// Numbers requests within a pipeline.
private final class RequestCounter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
}
