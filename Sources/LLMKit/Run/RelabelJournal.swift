#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Synchronization

/// The output of a relabel run, written as a journal: a header line with the run's
/// ``RunFingerprint``, then one ``RelabeledRecord`` line per finished item, appended in input
/// order and made durable in groups (`JournalWriter`), so a crash loses at most the chunks
/// in flight and a resumed run continues exactly where the last one stopped.
///
/// The journal holds an exclusive lock (`OutputLock`) from ``open(path:mode:fingerprint:io:)``
/// to ``close(inputOrder:discardIfEmpty:replacedOnly:)``. Resuming reads the file once: a torn last line is cut off; a
/// file made on another dataset, prompt, provider, model or settings is refused with every
/// difference named, unless forced (a second header then records the new fingerprint and the
/// differences); the ids already finished are skipped. Failed lines whose error another
/// request may fix (rate limits, 5xx, timeouts) are asked again, and so is every failed line
/// with `retryFailed`; the lines they replace are removed, and the file is put back in input
/// order, when the run completes.
public final class RelabelJournal: Sendable {
    /// How to open the output.
    public enum Mode: Sendable, Equatable {
        /// A new output; an existing file is an error unless `overwrite`.
        case fresh(overwrite: Bool)
        /// Continue an existing output (a missing file starts a new one). `force` accepts a
        /// different fingerprint.
        case resume(retryFailed: Bool, force: Bool)
    }

    /// What a resumed file held.
    public struct Resumed: Sendable, Equatable {
        /// Ids with a final line (relabeled, or failed for good).
        public var done: Set<String> = []
        /// Record lines kept from the earlier run(s).
        public var lines = 0
        /// Failed ids that will be asked again.
        public var retrying = 0
        /// Whether a torn last line was cut off.
        public var droppedTornLine = false
        /// The fingerprint differences accepted with `force`.
        public var acceptedDifferences: [String] = []
        /// Relabeled lines kept.
        public var relabeled = 0
    }

    /// The header line's `journal` value.
    public static let formatName = "llmkit-relabel/1"

    public let path: String
    /// What the file held when it was opened (empty for a fresh run).
    public let resumed: Resumed
    private let lock: OutputLock
    private let writer: JournalWriter
    private let fd: Int32
    /// 1-based line numbers of lines replaced by this run (failed lines asked again).
    private let superseded: Mutex<Set<Int>>
    /// The lines of ``superseded`` whose replacement this run has already appended (a final
    /// pass's), as opposed to failed lines a `--retry-failed` resume will replace.
    private let replacedByThisRun = Mutex<Set<Int>>([])
    /// The number the next appended line will have.
    private let nextLine: Mutex<Int>
    /// Whether records were (or may have been) appended out of input order.
    private let outOfOrder = Atomic<Bool>(false)
    private let io: BlockingIOPool

    private init(path: String, resumed: Resumed, lock: OutputLock, fd: Int32, superseded: Set<Int>, lines: Int, io: BlockingIOPool) {
        self.path = path
        self.resumed = resumed
        self.lock = lock
        self.fd = fd
        self.superseded = Mutex(superseded)
        self.nextLine = Mutex(lines + 1)
        self.io = io
        writer = JournalWriter(fd: fd, path: path)
    }

    /// Locks and opens `path` for a run with `fingerprint` (blocking work runs on `io`).
    public static func open(path: String, mode: Mode, fingerprint: RunFingerprint,
                            io: BlockingIOPool = .shared) async throws(RunError) -> RelabelJournal {
        try await io.run({ () throws(RunError) -> RelabelJournal in
            try openBlocking(path: path, mode: mode, fingerprint: fingerprint, lock: OutputLock(output: path), io: io)
        })
    }

    /// Opens `path` with a lock already taken (released when opening fails).
    static func open(path: String, mode: Mode, fingerprint: RunFingerprint, lock: OutputLock,
                     io: BlockingIOPool) async throws(RunError) -> RelabelJournal {
        try await io.run({ () throws(RunError) -> RelabelJournal in
            try openBlocking(path: path, mode: mode, fingerprint: fingerprint, lock: lock, io: io)
        })
    }

    private static func openBlocking(path: String, mode: Mode, fingerprint: RunFingerprint, lock: OutputLock, io: BlockingIOPool) throws(RunError) -> RelabelJournal {
        do throws(RunError) {
            var info = stat()
            let exists = lstat(path, &info) == 0
            var resumed = Resumed()
            var superseded: Set<Int> = []
            var lines = 0
            var header: JSONValue? = headerLine(fingerprint, differences: [])
            var flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC
            switch mode {
            case .fresh(let overwrite):
                if exists && !overwrite { throw RunError(.outputExists, file: path, "the output exists") }
                flags |= O_TRUNC
            case .resume(let retryFailed, let force) where exists:
                let scan = try JournalScan(path: path, retryFailed: retryFailed)
                resumed = scan.resumed
                superseded = scan.superseded
                lines = scan.totalLines
                if let recorded = scan.fingerprint {
                    let differences = fingerprint.differences(from: recorded)
                    if !differences.isEmpty && !force {
                        throw RunError(.differentRun, file: path, "the output was made with other inputs or settings: " + differences.joined(separator: "; "),
                                       differences: differences)
                    }
                    resumed.acceptedDifferences = differences
                    header = differences.isEmpty ? Optional<JSONValue>.none : headerLine(fingerprint, differences: differences)
                } else if !force && (scan.resumed.lines > 0 || scan.resumed.droppedTornLine) {
                    throw RunError(.unknownRun, file: path, "the output has no run fingerprint (written by an older version or by hand), so it cannot be matched to this run")
                }
            case .resume:
                break
            }
            let fd = Glibc.open(path, flags, 0o644)
            guard fd >= 0 else { throw RunError(.cannotWrite, file: path, "cannot open the output for writing (\(String(cString: strerror(errno))))") }
            let journal = RelabelJournal(path: path, resumed: resumed, lock: lock, fd: fd, superseded: superseded,
                                         lines: lines + (header == nil ? 0 : 1), io: io)
            if let header {
                var bytes = Array(header.description.utf8)
                bytes.append(0x0A)
                guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fdatasync(fd) == 0 else {
                    throw RunError(.cannotWrite, file: path, "cannot write the output (\(String(cString: strerror(errno))))")
                }
            }
            return journal
        } catch {
            lock.release()
            throw error
        }
    }

    static func headerLine(_ fingerprint: RunFingerprint, differences: [String]) -> JSONValue {
        var object: JSONObject = ["journal": .string(formatName), "fingerprint": fingerprint.json]
        if !differences.isEmpty { object["forced_differences"] = .array(differences.map(JSONValue.string)) }
        return .object(object)
    }

    /// Queues a chunk's records (in input order); `onDurable` runs once they are on disk.
    /// Suspends only while the write queue is full; throws the first write error.
    public func append(_ records: [RelabeledRecord], onDurable: @escaping @Sendable () -> Void = {}) async throws(DatasetError) {
        guard !records.isEmpty else { return }
        let scrub = !SecretRedactor.shared.isEmpty
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 400)
        for record in records { record.appendJSONLine(to: &bytes) }
        if scrub { bytes = Array(SecretRedactor.shared.scrub(String(decoding: bytes, as: UTF8.self)).utf8) }
        try await writer.enqueue(bytes, onDurable: onDurable)
    }

    /// Reserves the numbers of the next `count` lines (call in the order of ``append``) and
    /// returns the first.
    func reserveLines(_ count: Int) -> Int {
        nextLine.withLock { next in
            defer { next += count }
            return next
        }
    }

    /// Records that the line at `number` (1-based) is replaced by a line appended in this run.
    func supersede(lines numbers: some Sequence<Int>) {
        let numbers = Set(numbers)
        superseded.withLock { $0.formUnion(numbers) }
        replacedByThisRun.withLock { $0.formUnion(numbers) }
    }

    /// Whether this run appended lines that replace earlier ones (see ``supersede(lines:)``).
    var hasReplacedLines: Bool { replacedCount > 0 }

    /// Lines this run replaced that are still in the file (an interrupted run drops them at
    /// ``close(inputOrder:discardIfEmpty:replacedOnly:)``).
    var replacedCount: Int { replacedByThisRun.withLock { $0.count } }

    /// Says that records are appended in another order than the input's (a batch service
    /// returns answers in any order): ``close(inputOrder:discardIfEmpty:replacedOnly:)`` then puts the file
    /// back in input order.
    public func appendsOutOfOrder() {
        outOfOrder.store(true, ordering: .relaxed)
    }

    /// Waits until everything appended is durable; throws the first write error.
    public func flush() async throws(DatasetError) { try await writer.drain() }

    /// Seconds spent syncing and waiting, and volumes written.
    var statistics: JournalWriter.Statistics { writer.statistics }

    /// Ends the run: waits for durability, then, when lines were replaced (failed items asked
    /// again) or appended out of order (``appendsOutOfOrder()``), rewrites the file without
    /// the replaced lines in input order (`inputOrder` maps an id to its
    /// position in the dataset; through a temporary file renamed over the output), and
    /// releases the lock. Call once, also after an error (then `inputOrder` is `nil` and the
    /// file is left as it is: a later resume completes it). `discardIfEmpty` removes an output
    /// that holds no record (a run stopped before its first chunk), so a plain rerun starts
    /// afresh instead of finding an output in its way.
    /// With `replacedOnly`, only the lines whose replacement this run appended go (an
    /// interrupted run: the failed lines a `--retry-failed` resume had yet to ask again stay).
    public func close(inputOrder: (@Sendable () throws -> [String: Int])?, discardIfEmpty: Bool = false,
                      replacedOnly: Bool = false) async throws(DatasetError) {
        defer { lock.release() }
        let flushed: DatasetError?
        do throws(DatasetError) { try await writer.drain(); flushed = nil } catch { flushed = error }
        writer.stop()
        let replaced = replacedOnly ? replacedByThisRun.withLock { $0 } : superseded.withLock { $0 }
        let reorder = !replaced.isEmpty || outOfOrder.load(ordering: .relaxed)
        let path = self.path, fd = self.fd
        try await io.run({ () throws(DatasetError) in
            Glibc.close(fd)
            if let flushed { throw flushed }
            if discardIfEmpty { unlink(path) }
            guard let inputOrder, reorder else { return }
            let order: [String: Int]
            do { order = try inputOrder() } catch let e as DatasetError { throw e } catch {
                throw DatasetError(file: path, reason: "cannot read the input order (\(error))")
            }
            try JournalReorder.rewrite(path: path, dropping: replaced, order: order)
        })
    }
}
