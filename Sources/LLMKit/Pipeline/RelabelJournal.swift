import Foundation

/// The output of a relabel run, written as a journal: each finished batch's lines are appended
/// and synced to disk before the next, so a crash loses at most the batches in flight, and a
/// resumed run continues where the last one stopped.
///
/// Resuming reads the file once: a torn last line (a crash in the middle of a write) is
/// detected and cut off; the ids already finished are skipped (failed ones are asked again
/// with `retryFailed`, and their old lines are removed when the run completes, so the file ends
/// with exactly one line per input id); a file made with another prompt version, provider or
/// model is refused unless `allowMismatch`.
public final class RelabelJournal {
    /// How to open the output.
    public enum Mode: Sendable, Equatable {
        /// A new output; an existing file is an error unless `overwrite`.
        case fresh(overwrite: Bool)
        /// Continue an existing output (a missing file starts a new one).
        case resume(retryFailed: Bool, allowMismatch: Bool)
    }

    /// What a resumed file held.
    public struct Resumed: Sendable, Equatable {
        /// Ids with a final line (relabeled, and failed unless they are retried).
        public var done: Set<String> = []
        /// Lines kept from the earlier run(s).
        public var lines = 0
        /// Failed ids that will be asked again.
        public var retrying = 0
        /// Whether a torn last line was cut off.
        public var droppedTornLine = false
    }

    public let path: String
    private let handle: FileHandle
    /// 1-based line numbers of failed lines that a retry replaces; removed by ``finish()``.
    private var supersededLines: Set<Int> = []

    /// Opens `path` for a run of `prompt` × `provider` × `model`.
    public init(path: String, mode: Mode, prompt: String, provider: String, model: String) throws(DatasetError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        var resumed = Resumed()
        switch mode {
        case .fresh(let overwrite):
            if exists && !overwrite {
                throw DatasetError(file: path, reason: "the output exists; pass --resume to continue it or --overwrite to replace it")
            }
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw DatasetError(file: path, reason: "cannot create the output file (is the folder there and writable?)")
            }
        case .resume(let retryFailed, let allowMismatch):
            if exists {
                resumed = try Self.scan(path: path, retryFailed: retryFailed, allowMismatch: allowMismatch,
                                        prompt: prompt, provider: provider, model: model, superseded: &supersededLines)
            } else if !FileManager.default.createFile(atPath: path, contents: nil) {
                throw DatasetError(file: path, reason: "cannot create the output file (is the folder there and writable?)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw DatasetError(file: path, reason: "cannot open the output for writing")
        }
        self.handle = handle
        do { try handle.seekToEnd() } catch { throw DatasetError(file: path, reason: "cannot append (\(error.localizedDescription))") }
        self.resumed = resumed
    }

    /// What the file held when it was opened (empty for a fresh run).
    public private(set) var resumed: Resumed

    deinit { try? handle.close() }

    /// Appends the records' lines and syncs them to disk.
    public func append(_ records: [RelabeledRecord]) throws(DatasetError) {
        guard !records.isEmpty else { return }
        var bytes: [UInt8] = []
        for record in records {
            bytes.append(contentsOf: record.jsonLine.utf8)
            bytes.append(0x0A)
        }
        do {
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
        } catch {
            throw DatasetError(file: path, reason: "write failed (\(error.localizedDescription)); the lines before it are intact, resume with --resume")
        }
    }

    /// Ends a completed run: removes the lines that retried failures replaced (through a
    /// temporary file renamed over the output), so each id has exactly one line.
    public func finish() throws(DatasetError) {
        try? handle.close()
        guard !supersededLines.isEmpty else { return }
        let reader = try LineReader(path: path)
        let writer = try AtomicFileWriter(path: path)
        while let line = try reader.nextLine() {
            if supersededLines.contains(reader.lineNumber) { continue }
            try writer.writeLine(line)
        }
        try writer.commit()
        supersededLines = []
    }

    private static func scan(path: String, retryFailed: Bool, allowMismatch: Bool, prompt: String, provider: String, model: String,
                             superseded: inout Set<Int>) throws(DatasetError) -> Resumed {
        var resumed = Resumed()
        let reader = try LineReader(path: path)
        var keptBytes: UInt64 = 0
        var pending: (line: String, number: Int)?
        // A line is kept once the next one is read: only the last line may be torn.
        func keep(_ text: String, _ number: Int, isLast: Bool, unterminated: Bool) throws(DatasetError) -> Bool {
            let record: RelabeledRecord
            do { record = try RelabeledRecord.parse(line: text, file: path, line: number) } catch {
                if isLast { return false }
                throw DatasetError(file: path, line: number, reason: "not a relabeled record (\(error.reason)); the output is damaged, refusing to resume into it")
            }
            if isLast && unterminated { return false }
            if !allowMismatch {
                for (field, found, expected) in [("prompt", record.promptVersion, prompt), ("provider", record.provider, provider), ("model", record.model, model)] where found != expected {
                    throw DatasetError(file: path, line: number, field: field,
                                       reason: "the output was made with \(field) '\(found)', this run uses '\(expected)'; pass --force-resume to mix them, or choose another --out")
                }
            }
            if record.outcome.failure != nil && retryFailed {
                superseded.insert(number)
                resumed.retrying += 1
            } else {
                resumed.done.insert(record.id)
            }
            return true
        }
        while let line = try reader.nextLine() {
            if let (text, number) = pending {
                _ = try keep(text, number, isLast: false, unterminated: false)
                keptBytes += UInt64(text.utf8.count + 1)
                resumed.lines += 1
            }
            pending = (line, reader.lineNumber)
        }
        if let (text, number) = pending {
            if try keep(text, number, isLast: true, unterminated: reader.lastLineWasUnterminated) {
                keptBytes += UInt64(text.utf8.count + 1)
                resumed.lines += 1
            } else {
                resumed.droppedTornLine = true
                superseded.remove(number)
                guard truncate(path, off_t(keptBytes)) == 0 else {
                    throw DatasetError(file: path, reason: "cannot cut off the torn last line (\(String(cString: strerror(errno))))")
                }
            }
        }
        return resumed
    }
}
