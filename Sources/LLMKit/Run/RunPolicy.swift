/// The run's one policy for what an answer (or an error) means for the items it was asked
/// for: which items are final, which are asked again and how, and which errors stop the run.
/// Every executor asks it (the synchronous pipeline, the Batch API executor, the pool behind
/// the client), so a cut-off answer is split, an invalid entry re-asked and a provider error
/// turned into an item failure the same way whatever sent the request; only *when* the
/// follow-ups are sent differs (at once, or in the next wave of Batch API batches).
struct RunPolicy: Sendable {
    let configuration: RelabelConfiguration
    /// Times a request whose error may pass is asked again by the executor itself (the Batch
    /// API's error lines); the synchronous executor leaves retries to the client's
    /// ``RetryMiddleware`` and passes 0.
    let errorRetries: Int

    /// Why items are asked again.
    enum FollowUpKind: Sendable, Equatable {
        /// One half of a chunk whose answer was cut off at the token limit.
        case split(half: Int)
        /// Items whose entry was missing or invalid, in a smaller chunk of the next round.
        case reask(chunk: Int)
        /// The whole chunk again after an error that may pass.
        case retry
    }

    /// Items (by their position in the chunk) to ask again.
    struct FollowUp: Sendable, Equatable {
        var positions: [Int]
        var round: Int
        /// Retries of errors so far for these items (0 after a split or a re-ask).
        var retries: Int
        var kind: FollowUpKind
    }

    /// What one answer decided: final outcomes by position, and follow-ups for the rest.
    struct Decision: Sendable {
        var finals: [(position: Int, outcome: ItemOutcome)] = []
        var followUps: [FollowUp] = []
        /// The model that answered, when the run records it and it is not the one asked for.
        var answeredBy: String?
    }

    /// The failure of items whose request ended with `error` (after any retries); an error no
    /// request can fix (``LLMError/Kind/isFatal``) throws ``PipelineStop`` instead: the run stops.
    static func failure(for error: LLMError) throws(PipelineStop) -> ItemFailure {
        if error.kind.isFatal { throw PipelineStop(error: error) }
        return ItemFailure(.providerError, error.description, providerError: error.kind)
    }

    /// Decides what `result` means for a chunk of `count` items asked in re-ask `round`
    /// after `retries` error retries, counting the answer into `summary`.
    ///
    /// - An error no request can fix (``LLMError/Kind/isFatal``) throws ``PipelineStop``
    ///   (a cancelled *task* is the caller's to notice: an error of kind `cancelled` in a
    ///   batch's output is a request the service did not run, and fails its items).
    /// - Another error is asked again while ``errorRetries`` allows, else fails every item
    ///   with `provider_error` and the error's kind.
    /// - An answer cut off with several items is asked again in two halves (same round).
    /// - Items whose entry was missing or invalid are asked again in chunks of
    ///   ``RelabelConfiguration/reaskChunkSize(after:)`` in the next round, while
    ///   ``RelabelConfiguration/reaskRounds`` allows; the others are final.
    func decide(_ result: Result<CompletionResponse, LLMError>, count: Int, round: Int, retries: Int,
                summary: inout RelabelSummary, verdict: (CompletionResponse, inout RelabelSummary) -> AnswerVerdict) throws -> Decision {
        var decision = Decision()
        let all = Array(0..<count)
        switch result {
        case .failure(let error):
            if error.isRetryable && retries < errorRetries && !error.kind.isFatal {
                decision.followUps.append(FollowUp(positions: all, round: round, retries: retries + 1, kind: .retry))
            } else {
                let failure = try Self.failure(for: error)
                decision.finals = all.map { ($0, .failed(failure)) }
            }
        case .success(let response):
            if configuration.recordsAnsweringModel, let model = response.model, model != configuration.model { decision.answeredBy = model }
            switch verdict(response, &summary) {
            case .split:
                let half = (count + 1) / 2
                decision.followUps = [FollowUp(positions: Array(0..<half), round: round, retries: 0, kind: .split(half: 0)),
                                      FollowUp(positions: Array(half..<count), round: round, retries: 0, kind: .split(half: 1))]
            case .outcomes(let outcomes):
                let canReask = round < configuration.reaskRounds
                var again: [Int] = []
                for (position, outcome) in outcomes.enumerated() {
                    if canReask, outcome.failure?.kind.isReaskable ?? false { again.append(position) } else { decision.finals.append((position, outcome)) }
                }
                guard !again.isEmpty else { break }
                summary.reasked += again.count
                let size = configuration.reaskChunkSize(after: count)
                for (n, start) in stride(from: 0, to: again.count, by: size).enumerated() {
                    decision.followUps.append(FollowUp(positions: Array(again[start..<min(again.count, start + size)]), round: round + 1,
                                                       retries: 0, kind: .reask(chunk: n)))
                }
            }
        }
        return decision
    }
}

/// Runs `work` for each unit `next` hands out (until `nil`), at most `limit` at once, and hands
/// each result to `deliver` in the order the units were handed out. The run's one bounded,
/// structured concurrency: the synchronous pass and the synchronous re-asks of a Batch API run
/// both go through it. Cancellation abandons the units in flight (nothing of them is
/// delivered) and throws `CancellationError`; an error of `work` or `deliver` ends the group
/// after delivering the units before it.
func forEachInOrder<Unit: Sendable, Result: Sendable>(
    limit: Int,
    next: () async throws -> Unit?,
    work: @escaping @Sendable (Unit) async throws -> Result,
    deliver: (Result) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var nextIndex = 0
        var nextToDeliver = 0
        var finished: [Int: Result] = [:]
        var inFlight = 0
        var exhausted = false
        while true {
            while !exhausted && inFlight < max(1, limit) {
                guard let unit = try await next() else {
                    exhausted = true
                    break
                }
                let index = nextIndex
                nextIndex += 1
                inFlight += 1
                group.addTask { (index, try await work(unit)) }
            }
            guard let (index, result) = try await group.next() else { break }
            inFlight -= 1
            // Once cancelled, nothing more is delivered: units in flight are abandoned.
            try Task.checkCancellation()
            finished[index] = result
            while let ready = finished.removeValue(forKey: nextToDeliver) {
                try await deliver(ready)
                nextToDeliver += 1
            }
        }
    }
}
