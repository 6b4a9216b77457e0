#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// One pass over an existing journal before resuming it: the last fingerprint, the finished
/// ids, the failed lines to ask again, and a torn last line (cut off).
struct JournalScan {
    var fingerprint: RunFingerprint?
    var resumed = RelabelJournal.Resumed()
    /// Line numbers of failed lines that will be asked again.
    var superseded: Set<Int> = []
    /// Lines kept (headers and records), after a torn last line is cut.
    var totalLines = 0

    init(path: String, retryFailed: Bool) throws(RunError) {
        let reader: LineReader
        do { reader = try LineReader(path: path) } catch { throw RunError(.cannotWrite, file: path, error.reason) }
        var pending: (line: String, number: Int)?
        var unreadableTail = false
        do {
            while let line = try reader.nextLine() {
                if let (text, number) = pending {
                    try keep(text, number, path: path, retryFailed: retryFailed)
                    totalLines += 1
                }
                pending = (line, reader.lineNumber)
            }
        } catch let error as DatasetError {
            // A last line without its newline that is not even text (cut in the middle of a
            // character, or zeros left by a crash) is torn like any other unterminated line.
            guard reader.lastLineWasUnterminated else {
                throw RunError(.damagedOutput, file: path, "line \(error.line ?? reader.lineNumber): \(error.reason); the output is damaged, refusing to resume into it")
            }
            unreadableTail = true
        } catch let error as RunError {
            throw error
        } catch {
            throw RunError(.damagedOutput, file: path, "\(error)")
        }
        if let (text, number) = pending {
            if unreadableTail {
                try keep(text, number, path: path, retryFailed: retryFailed)
                totalLines += 1
            } else if !reader.lastLineWasUnterminated, (try? keep(text, number, path: path, retryFailed: retryFailed)) != nil {
                totalLines += 1
                return
            }
        } else if !unreadableTail {
            return
        }
        // The torn line is the last one the reader met (returned, or refused as not text).
        resumed.droppedTornLine = true
        guard truncate(path, off_t(reader.lastLineOffset)) == 0 else {
            throw RunError(.cannotWrite, file: path, "cannot cut off the torn last line (\(String(cString: strerror(errno))))")
        }
    }

    /// Takes in one complete line. Only the last line of a journal may be torn; any other bad
    /// line means the file is damaged (or not a journal) and is refused.
    private mutating func keep(_ text: String, _ number: Int, path: String, retryFailed: Bool) throws(RunError) {
        if JournalHeader.isHeader(text) {
            guard let header = JournalHeader(line: text) else {
                throw RunError(.damagedOutput, file: path, "line \(number) is not a readable journal header")
            }
            fingerprint = header.fingerprint
            return
        }
        let record: RelabeledRecord
        do { record = try RelabeledRecord.parse(line: text, file: path, line: number) } catch {
            throw RunError(.damagedOutput, file: path, "line \(number) is not a relabeled record (\(error.reason)); the output is damaged, refusing to resume into it")
        }
        resumed.lines += 1
        if let failure = record.outcome.failure, retryFailed || failure.isTransient {
            superseded.insert(number)
            resumed.retrying += 1
            resumed.done.remove(record.id)
        } else {
            if record.outcome.relabel != nil { resumed.relabeled += 1 }
            resumed.done.insert(record.id)
        }
    }
}

/// A journal's header line: `{"journal": "llmkit-relabel/1", "fingerprint": {...}}`.
public struct JournalHeader: Sendable, Equatable {
    /// What the run (or its part after a forced resume) was made on.
    public var fingerprint: RunFingerprint
    /// The differences accepted when a run was resumed with other settings.
    public var forcedDifferences: [String]

    /// Whether `line` is a header line (cheap: records start with `{"id"`).
    public static func isHeader(_ line: String) -> Bool { line.hasPrefix("{\"journal\"") }

    /// Parses a header line; `nil` when it is not one.
    public init?(line: String) {
        guard let value = try? StrictJSON.parse(line), value["journal"]?.stringValue == RelabelJournal.formatName,
              let fingerprint = value["fingerprint"].flatMap(RunFingerprint.init(json:)) else { return nil }
        self.fingerprint = fingerprint
        forcedDifferences = value["forced_differences"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}

extension ItemFailure {
    /// Whether another request may well succeed: a provider error of a retryable kind (rate
    /// limit, 5xx, timeout, transport) that outlasted the retry budget.
    package var isTransient: Bool { kind == .providerError && (providerError?.isRetryable ?? false) }
}

/// Puts a journal back in input order without the lines a run replaced.
enum JournalReorder {
    /// Rewrites `path`: header lines first, then records sorted by their id's position in
    /// `order` (ids not in it keep their place after the others), without `dropping`. Memory:
    /// one (position, offset, length) entry per line; the lines are copied with `pread`.
    static func rewrite(path: String, dropping: Set<Int>, order: [String: Int]) throws(DatasetError) {
        let reader = try LineReader(path: path)
        var entries: [(key: Int, offset: Int, length: Int)] = []
        var unknown = order.count
        while let line = try reader.nextLine() {
            if dropping.contains(reader.lineNumber) { continue }
            let key: Int
            if JournalHeader.isHeader(line) {
                key = -1
            } else if let id = RelabeledRecord.id(inLine: line), let position = order[id] {
                key = position
            } else {
                key = unknown
                unknown += 1
            }
            entries.append((key, reader.lastLineOffset, reader.lastLineByteCount))
        }
        // Stable: headers keep their order among themselves.
        let sorted = entries.enumerated().sorted { ($0.element.key, $0.offset) < ($1.element.key, $1.offset) }.map(\.element)
        let source = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw DatasetError(file: path, reason: "cannot reopen the output (\(String(cString: strerror(errno))))") }
        defer { Glibc.close(source) }
        let writer = try AtomicFileWriter(path: path)
        var buffer = [UInt8]()
        for entry in sorted {
            buffer = [UInt8](repeating: 0, count: entry.length)
            let n = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, entry.length, off_t(entry.offset)) }
            guard n == entry.length else { throw DatasetError(file: path, reason: "read error while reordering") }
            if buffer.last == 0x0A { buffer.removeLast() }
            try writer.writeLine(bytes: buffer)
        }
        try writer.commit()
    }
}
