/// What happens during a relabel run, as a stream any interface can render (a progress line,
/// a log, a test): to a handler called as things happen
/// (``RelabelRunner/run(_:onEvent:)``, nothing is buffered), or through an `AsyncStream`
/// continuation (``RelabelRunner/run(_:events:)``, finished when the run ends).
public enum RelabelEvent: Sendable {
    /// The run starts: the work in front of it.
    case started(RelabelStart)
    /// A request left for the provider.
    case requestSent(RequestInfo)
    /// A streaming answer has produced `tokens` tokens so far (sent about every tenth of a second).
    case tokensReceived(request: Int, tokens: Int)
    /// A request waits before it is sent: for the rate limiter, or before a retry.
    case waiting(request: Int, reason: WaitReason, duration: Duration)
    /// A request got its answer or its final error.
    case requestFinished(RequestOutcome)
    /// A chunk's lines are on disk.
    case chunkDurable(ChunkDone)
    /// The items whose requests failed with errors that may pass (rate limits, 5xx, timeouts)
    /// are asked once more before the run ends.
    case finalPass(items: Int)
    /// A Batch API run polled one of its batches.
    case batchPolled(BatchProgress)
    /// The run ended; the totals of this run.
    case finished(RelabelSummary)
}

/// A chunk whose lines are on disk: its item counts.
public struct ChunkDone: Sendable, Equatable {
    public var items: Int
    public var relabeled: Int
    public var failed: Int
    public init(items: Int, relabeled: Int, failed: Int) {
        self.items = items
        self.relabeled = relabeled
        self.failed = failed
    }
}

/// The work a run found in front of it.
public struct RelabelStart: Sendable, Equatable {
    /// Items this run will ask for (after the limit, without those already done).
    public var items: Int
    /// Items of the dataset (within the limit).
    public var datasetItems: Int
    /// What the output held when resumed.
    public var resumed: RelabelJournal.Resumed
    /// The token budget of a full chunk's request.
    public var tokenBudget: Int
    /// How a vote table read through a column mapping was read (counts or proportions, row
    /// by row); `nil` for the project's own formats.
    public var votes: ColumnMapping.VoteTally? = nil
}

/// One request as it leaves.
public struct RequestInfo: Sendable, Equatable {
    /// A number unique within the run.
    public var request: Int
    public var items: Int
    /// 0 for a first ask, 1... for re-asks of missing or invalid items.
    public var round: Int
    /// The `max_tokens` sent.
    public var tokenBudget: Int
}

/// How a request ended.
public struct RequestOutcome: Sendable, Equatable {
    public var request: Int
    public var items: Int
    public var attempts: Int
    public var usage: TokenUsage?
    /// Why generation stopped, when an answer came.
    public var finishReason: FinishReason?
    /// The error kind, when no answer came.
    public var error: LLMError.Kind?
    /// Whether the answer used the whole token budget (cut off, or stopped by runaway detection).
    public var hitBudget: Bool
    public var seconds: Double
}

/// Why a request waits before it is sent.
public enum WaitReason: Sendable, Equatable, CustomStringConvertible {
    /// The client-side rate limiter (requests or tokens per minute).
    case rateLimit
    /// A retry after an error of `kind` (attempt `attempt` failed).
    case retry(after: LLMError.Kind, attempt: Int)
    /// Every endpoint of a pool is out: the wait for the earliest one's cool-down to end.
    case poolCoolDown

    public var description: String {
        switch self {
        case .rateLimit: "the rate limit"
        case .retry(let kind, let attempt): "a retry after \(kind) (attempt \(attempt))"
        case .poolCoolDown: "a pool endpoint to come back (every endpoint is out)"
        }
    }
}

/// Lets code deep in a request (middlewares, a streaming provider) report to the run that sent
/// it, without a parameter on every call: the runner binds one per request as a task-local.
public struct RequestObserver: Sendable {
    /// The observer of the request the current task works for, if a run bound one.
    @TaskLocal public static var current: RequestObserver?

    /// The request's number within its run.
    public let request: Int
    private let emit: @Sendable (RelabelEvent) -> Void

    public init(request: Int, emit: @escaping @Sendable (RelabelEvent) -> Void) {
        self.request = request
        self.emit = emit
    }

    /// Reports a wait before (re)sending.
    public func waiting(_ reason: WaitReason, for duration: Duration) {
        emit(.waiting(request: request, reason: reason, duration: duration))
    }

    /// Reports how many tokens a streaming answer has produced so far.
    public func receivedTokens(_ tokens: Int) {
        emit(.tokensReceived(request: request, tokens: tokens))
    }
}
