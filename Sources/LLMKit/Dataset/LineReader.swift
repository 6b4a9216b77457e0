#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Reads a text file line by line in constant memory (one line buffer), with line numbers.
///
/// Lines end at `\n`; a trailing `\r` is removed, and so is a UTF-8 byte-order mark at the
/// start of the file. Not thread-safe: one reader belongs to one task.
public final class LineReader {
    /// The path as given, for error messages.
    public let path: String
    /// The 1-based number of the line last returned (0 before the first).
    public private(set) var lineNumber = 0
    /// Whether the last line returned ended without a newline (a torn last line of a journal).
    public private(set) var lastLineWasUnterminated = false
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    /// Opens `path` for reading, or throws a ``DatasetError`` naming it.
    public init(path: String) throws(DatasetError) {
        self.path = path
        guard let handle = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw DatasetError(file: path, reason: "cannot open the file (\(reason))")
        }
        file = handle
    }

    deinit {
        if let file { fclose(file) }
        free(buffer)
    }

    /// The next line without its terminator, or `nil` at the end of the file.
    public func nextLine() throws(DatasetError) -> String? {
        guard let file else { return nil }
        let length = getline(&buffer, &capacity, file)
        if length < 0 {
            if ferror(file) != 0 { throw DatasetError(file: path, line: lineNumber + 1, reason: "read error (\(String(cString: strerror(errno))))") }
            fclose(file)
            self.file = nil
            return nil
        }
        lineNumber += 1
        var count = length
        let bytes = UnsafeMutableRawPointer(buffer!).assumingMemoryBound(to: UInt8.self)
        lastLineWasUnterminated = !(count > 0 && bytes[count - 1] == 0x0A)
        if count > 0 && bytes[count - 1] == 0x0A { count -= 1 }
        if count > 0 && bytes[count - 1] == 0x0D { count -= 1 }
        var start = 0
        if lineNumber == 1 && count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        return String(decoding: UnsafeBufferPointer(start: bytes + start, count: count - start), as: UTF8.self)
    }
}
