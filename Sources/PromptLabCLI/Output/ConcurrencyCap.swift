import LLMKit

/// How many requests a run keeps in flight and what decided it: `--concurrency`, the server's
/// slots, a pool's capacity (its servers' slots summed), or the default.
struct ConcurrencyCap {
    /// Requests in flight at most.
    var used: Int
    /// The backend's capacity (a llama.cpp server's slots, a pool's sum), when known.
    var capacity: Int?
    /// `true` for a pool of servers.
    var pool: Bool
    /// `true` when `--concurrency` was given.
    var given: Bool

    /// `--concurrency` below the capacity: the run uses less than the servers offer.
    var isCapped: Bool { given && capacity.map { used < $0 } ?? false }

    private var what: String {
        guard let capacity else { return "" }
        return pool ? "the pool's capacity of \(capacity) (its servers' slots summed)" : "the server's \(capacity) slots"
    }

    /// The line printed at the start of a capped run, `nil` otherwise.
    var startLine: String? {
        isCapped ? "promptlab: --concurrency \(used) is below \(what): at most \(used) requests in flight" : nil
    }

    /// The summary's `concurrency` row.
    var summary: String {
        if isCapped { return "\(used) requests in flight at most, capped by --concurrency (\(what))" }
        if given { return "\(used) (--concurrency)" }
        if capacity != nil { return "\(used) (\(what))" }
        return "\(used) (the default)"
    }

    /// `--summary-json`'s `concurrency`: `{"used", "capacity", "capped_by"}` (`capped_by`: `--concurrency` or null).
    var json: JSONValue {
        ["used": .int(used), "capacity": capacity.map(JSONValue.int) ?? .null, "capped_by": isCapped ? "--concurrency" : .null]
    }
}
