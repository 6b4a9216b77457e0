/// A provider's batch service: upload a file of requests, run it as one batch within a
/// completion window, download the answers (OpenAI's Batch API, or any server that implements
/// its `/v1/files` and `/v1/batches` endpoints). The executor of a `--batch-api` run
/// (``RelabelExecutor/batchAPI(_:)``) speaks only this protocol; the wire format lives in the
/// adapter (`OpenAIBatchService` in Providers).
///
/// Every call throws ``LLMError`` with the kind of its HTTP status (as a chat call would), so
/// the executor retries what may pass and stops on what cannot (wrong key, no access).
public protocol BatchService: Sendable {
    /// Where the service runs (recorded in the state file, named in messages).
    var baseURL: String { get }
    /// One line of an input file: `custom_id`, method, URL and exactly the body a synchronous
    /// call would send for `request` (without a trailing newline).
    func inputLine(for request: CompletionRequest, customID: String) -> [UInt8]
    /// Uploads an input file (purpose `batch`); returns its file id.
    func upload(_ file: [UInt8], filename: String) async throws(LLMError) -> String
    /// Creates a batch over an uploaded file.
    func create(inputFileID: String, metadata: [String: String]) async throws(LLMError) -> BatchInfo
    /// A batch as it is now.
    func batch(_ id: String) async throws(LLMError) -> BatchInfo
    /// One page of batches, newest first.
    func list(after: String?, limit: Int) async throws(LLMError) -> (batches: [BatchInfo], hasMore: Bool)
    /// Asks to cancel a batch.
    func cancel(_ id: String) async throws(LLMError) -> BatchInfo
    /// Streams a file (a batch's output or error file) to `path` (created or truncated), never
    /// holding it whole; returns its size. More than `maximumBytes` fails with
    /// `.responseTooLarge` while it arrives; on any error the partial file is removed.
    func download(file id: String, to path: String, maximumBytes: Int) async throws(LLMError) -> Int
    /// One line of an output or error file as an answer or an error; `nil` when the line is
    /// not a batch result at all.
    func decodeResult(_ line: ArraySlice<UInt8>, model: String) -> BatchResultLine?
}

/// What a batch service says about one batch.
public struct BatchInfo: Sendable, Equatable {
    public var id: String
    public var status: BatchStatus
    public var inputFileID: String?
    public var outputFileID: String?
    public var errorFileID: String?
    /// `request_counts`: total, completed (successfully), failed.
    public var total: Int
    public var completed: Int
    public var failed: Int
    /// `errors.data` of a batch that failed validation.
    public var errors: [BatchLineError]
    public var metadata: [String: String]
    /// Unix seconds.
    public var createdAt: Int?

    public init(id: String, status: BatchStatus, inputFileID: String? = nil, outputFileID: String? = nil, errorFileID: String? = nil,
                total: Int = 0, completed: Int = 0, failed: Int = 0, errors: [BatchLineError] = [], metadata: [String: String] = [:],
                createdAt: Int? = nil) {
        self.id = id
        self.status = status
        self.inputFileID = inputFileID
        self.outputFileID = outputFileID
        self.errorFileID = errorFileID
        self.total = total
        self.completed = completed
        self.failed = failed
        self.errors = errors
        self.metadata = metadata
        self.createdAt = createdAt
    }
}

/// A batch's status (`validating`, `in_progress`, `finalizing`, `completed`, `failed`,
/// `expired`, `cancelling`, `cancelled`, or whatever else a server says).
public struct BatchStatus: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    public static let validating = BatchStatus("validating")
    public static let inProgress = BatchStatus("in_progress")
    public static let finalizing = BatchStatus("finalizing")
    public static let completed = BatchStatus("completed")
    public static let failed = BatchStatus("failed")
    public static let expired = BatchStatus("expired")
    public static let cancelling = BatchStatus("cancelling")
    public static let cancelled = BatchStatus("cancelled")

    /// Whether the batch will not change any more (its result files can be downloaded).
    public var isTerminal: Bool { [Self.completed, .failed, .expired, .cancelled].contains(self) }
}

/// One entry of a failed batch's `errors.data`: a validation error, on a line of the input
/// file when `line` is set.
public struct BatchLineError: Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// 1-based line of the input file.
    public var line: Int?

    public init(code: String, message: String, line: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
    }

    public var description: String { (line.map { "line \($0): " } ?? "") + "\(code): \(message)" }
}

/// One line of a batch's output or error file.
public struct BatchResultLine: Sendable {
    public var customID: String
    /// The answer (status 200), or the error: an HTTP status other than 200 as the kind a
    /// synchronous call would get, a line error without a response as `.serverError`.
    public var result: Result<CompletionResponse, LLMError>
    /// The line says the request did not run before the completion window expired
    /// (`batch_expired`): it is submitted again, not failed.
    public var expired: Bool
    /// The line says the request did not run because its batch was cancelled
    /// (`batch_cancelled`): its items fail with ``LLMError/Kind/cancelled``, never asked again.
    public var cancelled: Bool

    public init(customID: String, result: Result<CompletionResponse, LLMError>, expired: Bool = false, cancelled: Bool = false) {
        self.customID = customID
        self.result = result
        self.expired = expired
        self.cancelled = cancelled
    }
}
