/// Why a relabel run could not start, or stopped. Messages are one sentence naming the file
/// and the cause, without command-line flags: ``code`` lets a tool add its own hint.
public struct RunError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cause, for tools that add hints. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The output exists and the run was asked to start fresh without replacing it.
        public static let outputExists = Code("output_exists")
        /// Another process holds the output's lock.
        public static let outputLocked = Code("output_locked")
        /// The output was made with other settings, another dataset or another prompt.
        public static let differentRun = Code("different_run")
        /// The output has no fingerprint (made by an older version) or is not a journal.
        public static let unknownRun = Code("unknown_run")
        /// The output is damaged beyond its last line.
        public static let damagedOutput = Code("damaged_output")
        /// A file or folder cannot be written.
        public static let cannotWrite = Code("cannot_write")
        /// A rate limit is smaller than one request can ever cost.
        public static let limitTooSmall = Code("limit_too_small")
        /// The provider failed in a way no other request can fix (key, access, model, quota).
        public static let stopped = Code("stopped")
        /// The run was cancelled (Ctrl-C).
        public static let interrupted = Code("interrupted")
        /// The settings cannot work (no model, an option out of range).
        public static let configuration = Code("configuration")
        /// The output's batches were submitted to another batch service than this run's: they
        /// stay with it, whatever a forced resume accepts.
        public static let batchesElsewhere = Code("batches_elsewhere")
        /// A batch service call (upload, create, poll, download) failed beyond its retries.
        public static let batchService = Code("batch_service")
    }

    public var code: Code
    /// The output (or other file) concerned, when there is one.
    public var file: String?
    public var message: String
    /// The provider error that stopped the run (`.stopped`).
    public var providerError: LLMError?
    /// For `.differentRun`: one line per differing fingerprint field.
    public var differences: [String]

    public init(_ code: Code, file: String? = nil, _ message: String, providerError: LLMError? = nil, differences: [String] = []) {
        self.code = code
        self.file = file
        self.message = message
        self.providerError = providerError
        self.differences = differences
    }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
}
