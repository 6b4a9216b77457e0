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
/// hashed for the run's fingerprint. Memory: one 64-bit hash per id; the rare hash collision
/// is settled by reading the earlier line again.
struct DatasetScan: Sendable {
    /// Items in the dataset (all of them).
    var items: Int
    /// Items within the limit.
    var itemsWithinLimit: Int
    /// Hex SHA-256 of the file's bytes.
    var sha256: String
    /// The first `batch` items (for sizing the largest request before the run).
    var firstItems: [DatasetItem]

    init(path: String, format: DatasetFormat?, policy: RenormalizationPolicy, limit: Int?, keepFirst: Int) throws(DatasetError) {
        let reader = try DatasetReader(path: path, format: format, policy: policy)
        var seen: [Int: Int] = [:]           // id hash -> line
        var collisions: [String: Int] = [:]  // exact ids behind a colliding hash
        var count = 0
        var first: [DatasetItem] = []
        while let item = try reader.next() {
            let line = reader.lastLine
            var hasher = Hasher()
            hasher.combine(item.id)
            let key = hasher.finalize()
            if let earlier = collisions[item.id] ?? seen[key] {
                var repeated = collisions[item.id] != nil
                if !repeated { repeated = try Self.id(at: earlier, path: path, format: format, policy: policy) == item.id }
                if repeated {
                    throw DatasetError(file: path, line: line, field: "id", reason: "id '\(item.id)' appears twice, on lines \(earlier) and \(line); every item needs its own id")
                }
                collisions[item.id] = line
            } else {
                seen[key] = line
            }
            if first.count < keepFirst { first.append(item) }
            count += 1
        }
        items = count
        itemsWithinLimit = min(count, limit ?? .max)
        firstItems = first
        sha256 = try Self.hash(path)
    }

    /// The id of the item on `line` (reading the file again).
    private static func id(at line: Int, path: String, format: DatasetFormat?, policy: RenormalizationPolicy) throws(DatasetError) -> String? {
        let reader = try DatasetReader(path: path, format: format, policy: policy)
        while let item = try reader.next() {
            if reader.lastLine == line { return item.id }
            if reader.lastLine > line { break }
        }
        return nil
    }

    /// Hex SHA-256 of a file, streamed.
    static func hash(_ path: String) throws(DatasetError) -> String {
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
    static func positions(path: String, format: DatasetFormat?, policy: RenormalizationPolicy) throws(DatasetError) -> [String: Int] {
        let reader = try DatasetReader(path: path, format: format, policy: policy)
        var positions: [String: Int] = [:]
        while let item = try reader.next() { positions[item.id] = positions.count }
        return positions
    }
}

/// Reads a dataset batch by batch for a run, on the I/O pool: up to `limit` items from the
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

    init(path: String, format: DatasetFormat?, policy: RenormalizationPolicy, limit: Int?, skip: Set<String> = [], only: Set<String>? = nil) throws(DatasetError) {
        state = Mutex(State(reader: try DatasetReader(path: path, format: format, policy: policy)))
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
