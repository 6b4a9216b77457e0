import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Reads a downloaded result file line by line from disk in 1 MiB reads, never holding it
/// whole: a line longer than the limit cannot be a result and is skipped without being kept.
enum ResultFileReader {
    /// Calls `body` with every line of `path` (without its newline) of at most
    /// `maximumLineBytes` bytes; returns how many longer lines were skipped.
    @discardableResult
    static func forEachLine(path: String, maximumLineBytes: Int, _ body: (ArraySlice<UInt8>) -> Void) throws(RunError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RunError(.cannotWrite, file: path, "cannot read the downloaded file (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var carry: [UInt8] = []
        var skipping = false
        var skipped = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RunError(.cannotWrite, file: path, "cannot read the downloaded file (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }
            var start = 0
            while start < n {
                let newline = buffer.withUnsafeBytes { raw -> Int? in
                    guard let hit = memchr(raw.baseAddress! + start, 0x0A, n - start) else { return nil }
                    return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
                }
                guard let end = newline else {
                    if !skipping {
                        carry += buffer[start..<n]
                        if carry.count > maximumLineBytes { carry = []; skipping = true; skipped += 1 }
                    }
                    break
                }
                if !skipping {
                    if carry.isEmpty {
                        if end - start <= maximumLineBytes { body(buffer[start..<end]) } else { skipped += 1 }
                    } else {
                        carry += buffer[start..<end]
                        if carry.count <= maximumLineBytes { body(carry[...]) } else { skipped += 1 }
                        carry = []
                    }
                }
                skipping = false
                start = end + 1
            }
        }
        if !skipping && !carry.isEmpty { body(carry[...]) }
        return skipped
    }
}

/// Reads dataset items by the byte offsets a run's one pass over the dataset recorded
/// (``DatasetReader/lastOffset``): the items of a batch, a wave's follow-ups, without
/// reading the dataset again.
final class DatasetOffsetReader: Sendable {
    private let reader: Mutex<DatasetReader>
    private let path: String

    init(path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy) throws(DatasetError) {
        reader = Mutex(try DatasetReader(path: path, format: format, mapping: mapping, policy: policy))
        self.path = path
    }

    /// The items starting at `offsets`, in that order (ascending offsets read the file forwards).
    func items(at offsets: [Int]) throws(DatasetError) -> [DatasetItem] {
        try reader.withLock { (reader: inout DatasetReader) throws(DatasetError) -> [DatasetItem] in
            var items: [DatasetItem] = []
            items.reserveCapacity(offsets.count)
            for offset in offsets {
                try reader.seek(to: offset)
                guard let item = try reader.next() else {
                    throw DatasetError(file: path, reason: "no item at byte \(offset) any more: the dataset changed during the run")
                }
                items.append(item)
            }
            return items
        }
    }
}
