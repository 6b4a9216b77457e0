/// Where a relabel run's requests go. Plan (``RelabelConfiguration/request(for:)``) and handle
/// (``RelabelPipeline/verdict(on:count:summary:)``, re-asks, the journal) are the same for
/// every executor.
public enum RelabelExecutor: Sendable {
    /// One call per batch through the run's ``LLMClient``, with bounded concurrency.
    case synchronous
    /// A provider's batch service (OpenAI's Batch API): every batch becomes one line of an
    /// input file; answers come back within the completion window.
    case batchAPI(BatchSettings)

    /// The fingerprint's `executor` value.
    var fingerprintName: String {
        switch self {
        case .synchronous: RunFingerprint.synchronousExecutor
        case .batchAPI: RunFingerprint.batchAPIExecutor
        }
    }
}

/// How a Batch API run splits, submits and polls.
public struct BatchSettings: Sendable {
    /// The Batch API's documented limit of requests per input file.
    public static let documentedMaximumRequests = 50_000
    /// 100 MiB: the stricter of the two documented byte limits (the Batch API guide says
    /// 200 MB per file; OpenAI's OpenAPI description says 100 MB).
    public static let defaultMaximumBytes = 100 * 1024 * 1024

    public var service: any BatchService
    /// Requests per input file at most.
    public var maximumRequestsPerFile: Int
    /// Bytes per input file at most.
    public var maximumBytesPerFile: Int
    /// The first wait between two polls; it grows by half each time, up to ``maximumPollInterval``.
    public var pollInterval: Duration
    public var maximumPollInterval: Duration
    /// Ask re-asks and splits synchronously through the run's client instead of in a
    /// follow-up batch (an expired batch's remainder is still submitted as a batch).
    public var reaskSynchronously: Bool
    /// Times a request whose line was an error that may pass (a 500, a line error) is
    /// submitted again in a follow-up batch before it is written as failed.
    public var lineRetries: Int
    /// Times an expired batch's remainder is submitted again before its items fail.
    public var expiryResubmissions: Int
    /// Attempts of one service call (upload, create, poll, download) on errors that may pass.
    public var callAttempts: Int
    /// The wait between those attempts when the server names none: the library's backoff
    /// with jitter (`RetryPolicy.backoff(retry:random:)`; its `maxAttempts` is not used).
    public var retryPolicy: RetryPolicy
    /// 4 GiB: the largest result file downloaded by default.
    public static let defaultMaximumDownloadBytes = 4 << 30
    /// Bytes of one downloaded result file at most: it is streamed to disk (`<out>.batches/`)
    /// and a larger one fails the download while it arrives (`response_too_large`).
    public var maximumDownloadBytes: Int
    /// Bytes of one line of a result file at most (one answer); a longer line is skipped
    /// unread, as if the request had no result.
    public var maximumLineBytes: Int

    public init(service: any BatchService, maximumRequestsPerFile: Int = documentedMaximumRequests, maximumBytesPerFile: Int = defaultMaximumBytes,
                pollInterval: Duration = .seconds(5), maximumPollInterval: Duration = .seconds(60), reaskSynchronously: Bool = false,
                lineRetries: Int = 1, expiryResubmissions: Int = 3, callAttempts: Int = 6,
                retryPolicy: RetryPolicy = .exponential(maxAttempts: 6, base: .milliseconds(500), cap: .seconds(30)),
                maximumDownloadBytes: Int = defaultMaximumDownloadBytes, maximumLineBytes: Int = 32 << 20) {
        self.service = service
        self.maximumRequestsPerFile = max(1, maximumRequestsPerFile)
        self.maximumBytesPerFile = max(1, maximumBytesPerFile)
        self.pollInterval = pollInterval
        self.maximumPollInterval = max(pollInterval, maximumPollInterval)
        self.reaskSynchronously = reaskSynchronously
        self.lineRetries = max(0, lineRetries)
        self.expiryResubmissions = max(0, expiryResubmissions)
        self.callAttempts = max(1, callAttempts)
        self.retryPolicy = retryPolicy
        self.maximumDownloadBytes = max(1, maximumDownloadBytes)
        self.maximumLineBytes = max(1, maximumLineBytes)
    }
}

/// What a Batch API run did with the service.
public struct BatchRunSummary: Sendable, Equatable {
    /// Input files uploaded and their bytes.
    public var filesUploaded = 0
    public var bytesUploaded = 0
    /// Batches created by this run.
    public var batchesCreated = 0
    /// Batches of earlier runs this run reattached to (after a kill or Ctrl-C).
    public var batchesReattached = 0
    /// Collected batches by their final status.
    public var statuses: [String: Int] = [:]
    /// Requests submitted again because their batch expired before running them.
    public var expiredResubmitted = 0
    /// Requests asked again after an error line that may pass.
    public var lineRetries = 0
    /// Error-file lines (errors and non-200 answers).
    public var errorLines = 0
    /// Follow-up waves (re-asks, splits, retries, expired remainders).
    public var followUpWaves = 0
    /// Validation errors of failed batches, as the server gave them (at most 20 kept).
    public var validationErrors: [String] = []
    /// The state file.
    public var stateFile = ""
    /// Full passes over the dataset (1: items are read again by offset, never by a pass).
    public var datasetPasses = 0
    /// Bytes of result files downloaded (streamed to disk).
    public var bytesDownloaded = 0
    /// Batches of a replaced run cancelled by `--overwrite` before this run submitted anything.
    public var batchesCancelled = 0

    public init() {}
}

/// One batch's status, as a poll saw it (``RelabelEvent/batchPolled(_:)``).
public struct BatchProgress: Sendable, Equatable {
    public var batchID: String
    /// The input file's name in the state file (`w0-f1`).
    public var file: String
    public var status: BatchStatus
    public var total: Int
    public var completed: Int
    public var failed: Int
    /// Seconds until the next poll.
    public var nextPoll: Double
}
