#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Synchronization

/// One pass over a dataset before a run sends anything: every item is read and checked (a
/// bad line 100,000 fails the run at once, not hours into it), ids are checked to be unique
/// (a repeat names both lines), items are counted (within a limit) and the file's bytes are
/// hashed for the run's fingerprint.
///
/// Memory stays flat whatever the corpus size: ids go into a fixed 2 MiB Bloom filter; the
/// few ids it flags as possibly seen are checked exactly in a second pass over the file.
package struct DatasetScan: Sendable {
    /// Items in the dataset (all of them).
    var items: Int
    /// Items within the limit.
    var itemsWithinLimit: Int
    /// Hex SHA-256 of the file's bytes.
    var sha256: String
    /// The first `chunk` items (for sizing the largest request before the run).
    var firstItems: [DatasetItem]
    /// How a mapped table's rows were read (counts or proportions); `nil` without a mapping.
    var votes: ColumnMapping.VoteTally?

    init(path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy, limit: Int?, keepFirst: Int) throws(DatasetError) {
        let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
        var filter = BloomFilter()
        var suspects: Set<String> = []
        var count = 0
        var first: [DatasetItem] = []
        var votes: ColumnMapping.VoteTally?
        while let item = try reader.next() {
            if filter.insert(item.id) { suspects.insert(item.id) }
            if first.count < keepFirst { first.append(item) }
            count += 1
            // How the rows the run will ask for were read (the whole file is still checked).
            if count == limit { votes = reader.votes }
        }
        if !suspects.isEmpty { try Self.findRepeat(among: suspects, path: path, format: format, mapping: mapping, policy: policy) }
        items = count
        itemsWithinLimit = min(count, limit ?? .max)
        firstItems = first
        self.votes = votes ?? reader.votes
        sha256 = try Self.hash(path)
    }

    /// Reads the file again and throws for the first id of `suspects` that appears twice.
    private static func findRepeat(among suspects: Set<String>, path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy) throws(DatasetError) {
        let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
        var seen: [String: Int] = [:]
        while let item = try reader.next() {
            guard suspects.contains(item.id) else { continue }
            if let earlier = seen[item.id] {
                throw DatasetError(file: path, line: reader.lastLine, field: "id",
                                   reason: "id '\(item.id)' appears twice, on lines \(earlier) and \(reader.lastLine); every item needs its own id")
            }
            seen[item.id] = reader.lastLine
        }
    }

    /// Hex SHA-256 of a file, streamed.
    package static func hash(_ path: String) throws(DatasetError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DatasetError(file: path, reason: "cannot open the file (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var hasher = SHA256Hex()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError(file: path, reason: "read error (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
        return hasher.finalize()
    }

    /// Each id's position in the dataset (for putting an output back in input order).
    static func positions(path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy) throws(DatasetError) -> [String: Int] {
        let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
        var positions: [String: Int] = [:]
        while let item = try reader.next() { positions[item.id] = positions.count }
        return positions
    }
}

/// Reads a dataset chunk by chunk for a run, on the I/O pool: up to `limit` items from the
/// start, without the ids in `skip`, or only the ids in `only`.
final class DatasetCursor: Sendable {
    private struct State {
        var reader: DatasetReader
        var read = 0
    }
    private let state: Mutex<State>
    private let limit: Int?
    private let skip: Set<String>
    private let only: Set<String>?

    init(path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy, limit: Int?, skip: Set<String> = [], only: Set<String>? = nil) throws(DatasetError) {
        state = Mutex(State(reader: try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)))
        self.limit = limit
        self.skip = skip
        self.only = only
    }

    /// Up to `size` items; empty at the end.
    func next(_ size: Int) throws(DatasetError) -> [DatasetItem] {
        try state.withLock { (s: inout State) throws(DatasetError) -> [DatasetItem] in
            var items: [DatasetItem] = []
            while items.count < size {
                if let limit, s.read >= limit { break }
                guard let item = try s.reader.next() else { break }
                s.read += 1
                if skip.contains(item.id) { continue }
                if let only, !only.contains(item.id) { continue }
                items.append(item)
            }
            return items
        }
    }
}

/// A fixed-size Bloom filter of strings: 2^24 bits (2 MiB), 4 probes from two 64-bit hashes.
/// At 150,000 ids about 2 in a million look seen when they are not.
struct BloomFilter {
    private var bits = [UInt64](repeating: 0, count: 1 << 18)

    /// Adds `key`; returns whether it may have been added before.
    mutating func insert(_ key: String) -> Bool {
        var a = Hasher(), b = Hasher()
        a.combine(key)
        b.combine(0x9E37_79B9 as UInt32)
        b.combine(key)
        let h1 = UInt64(bitPattern: Int64(a.finalize())), h2 = UInt64(bitPattern: Int64(b.finalize())) | 1
        var present = true
        for k in 0..<4 as Range<UInt64> {
            let bit = (h1 &+ k &* h2) & ((1 << 24) - 1)
            let word = Int(bit >> 6), mask = UInt64(1) << (bit & 63)
            if bits[word] & mask == 0 { present = false; bits[word] |= mask }
        }
        return present
    }
}
