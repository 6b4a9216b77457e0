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
/// start of the file. Every line must be UTF-8 without NUL bytes: anything else is an error
/// naming the line and the byte offset in the file (a UTF-16 file is named as such), never a
/// silent U+FFFD. Only regular files are read (a FIFO would block, a directory is a mistake).
/// Not thread-safe: one reader belongs to one task at a time.
final class LineReader {
    /// The path as given, for error messages.
    let path: String
    /// The 1-based number of the line last returned (0 before the first).
    private(set) var lineNumber = 0
    /// Whether the last line returned ended without a newline (a torn last line of a journal).
    private(set) var lastLineWasUnterminated = false
    /// The bytes the last line took in the file, terminator included.
    private(set) var lastLineByteCount = 0
    /// The byte offset in the file where the last line returned starts.
    private(set) var lastLineOffset = 0
    private var offset = 0
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    /// Opens `path` for reading, or throws a ``DatasetError`` naming it.
    init(path: String) throws(DatasetError) {
        self.path = path
        try FileChecks.requireRegularFile(path, role: "file")
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

    /// Moves to byte `offset` (the start of a line, as ``lastLineOffset`` gave it): the next
    /// line read starts there. Line numbers after a seek are not meaningful.
    package func seek(to offset: Int) throws(DatasetError) {
        if file == nil {
            guard let handle = fopen(path, "rb") else {
                throw DatasetError(file: path, reason: "cannot open the file (\(String(cString: strerror(errno))))")
            }
            file = handle
        }
        guard fseeko(file, off_t(offset), SEEK_SET) == 0 else {
            throw DatasetError(file: path, reason: "cannot seek to byte \(offset) (\(String(cString: strerror(errno))))")
        }
        self.offset = offset
        // Line 1 strips a byte-order mark: only the file's first line is line 1.
        lineNumber = offset == 0 ? 0 : max(lineNumber, 1)
    }

    /// The next line without its terminator, or `nil` at the end of the file.
    func nextLine() throws(DatasetError) -> String? {
        guard let file else { return nil }
        let length = getline(&buffer, &capacity, file)
        if length < 0 {
            if ferror(file) != 0 { throw DatasetError(file: path, line: lineNumber + 1, reason: "read error (\(String(cString: strerror(errno))))") }
            fclose(file)
            self.file = nil
            return nil
        }
        lineNumber += 1
        lastLineOffset = offset
        lastLineByteCount = length
        offset += length
        var count = length
        let bytes = UnsafeMutableRawPointer(buffer!).assumingMemoryBound(to: UInt8.self)
        lastLineWasUnterminated = !(count > 0 && bytes[count - 1] == 0x0A)
        if count > 0 && bytes[count - 1] == 0x0A { count -= 1 }
        if count > 0 && bytes[count - 1] == 0x0D { count -= 1 }
        var start = 0
        if lineNumber == 1 {
            if count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
                throw DatasetError(file: path, line: 1, reason: "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8")
            }
            if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        }
        let line = UnsafeBufferPointer(start: bytes + start, count: count - start)
        if let bad = UTF8Check.firstProblem(in: line) {
            let at = lastLineOffset + start + bad.offset
            let reason = bad.isNUL
                ? "a NUL byte at byte offset \(at) of the file (column \(start + bad.offset + 1)); text files hold no NUL bytes (is it UTF-16 or binary?)"
                : "invalid UTF-8 at byte offset \(at) of the file (column \(start + bad.offset + 1)); save the file as UTF-8"
            throw DatasetError(file: path, line: lineNumber, reason: reason)
        }
        return String(decoding: line, as: UTF8.self)
    }
}

/// Finds the first byte that makes a buffer not valid UTF-8 text, or a NUL byte.
package enum UTF8Check {
    /// The offset of the first problem and whether it is a NUL byte; `nil` when the bytes are
    /// valid UTF-8 without NUL.
    package static func firstProblem(in bytes: UnsafeBufferPointer<UInt8>) -> (offset: Int, isNUL: Bool)? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0 { return (i, true) }
                i += 1
                continue
            }
            let need: Int
            var minimum: UInt32
            var scalar: UInt32
            switch b {
            case 0xC2...0xDF: need = 1; minimum = 0x80; scalar = UInt32(b & 0x1F)
            case 0xE0...0xEF: need = 2; minimum = 0x800; scalar = UInt32(b & 0x0F)
            case 0xF0...0xF4: need = 3; minimum = 0x10000; scalar = UInt32(b & 0x07)
            default: return (i, false)
            }
            guard i + need < n else { return (i, false) }
            for k in 1...need {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return (i, false) }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return (i, false) }
            i += need + 1
        }
        return nil
    }

    /// Whether `bytes` are valid UTF-8 (NUL allowed).
    package static func isValid(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }
}
