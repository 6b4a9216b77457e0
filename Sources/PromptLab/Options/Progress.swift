import Foundation
import LLMKit
#if canImport(Glibc)
import Glibc
#endif

/// The progress display of `relabel`: one line updated in place on a terminal, a plain line
/// every 10 seconds otherwise, nothing with `--quiet`. Written to stderr.
final class ProgressDisplay {
    private let total: Int
    private let quiet: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private let started = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private(set) var totals = RelabelSummary()

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
    }

    func add(_ batch: RelabelSummary) {
        totals.add(batch)
        guard !quiet else { return }
        let now = ContinuousClock.now
        let interval: Duration = terminal ? .milliseconds(100) : .seconds(10)
        if let lastShown, now - lastShown < interval, totals.items < total { return }
        lastShown = now
        let line = render(elapsed: (now - started).seconds)
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// Ends the in-place line.
    func finish() {
        if terminal && !quiet && lastShown != nil { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func render(elapsed: Double) -> String {
        let s = totals
        let rate = elapsed > 0 ? Double(s.items) / elapsed : 0
        let remaining = max(0, total - s.items)
        let eta = rate > 0 ? Self.clock(Double(remaining) / rate) : "?"
        let percent = total > 0 ? String(format: "%.1f%%", 100 * Double(s.items) / Double(total)) : "?"
        return "\(s.items)/\(total) items (\(percent)), \(String(format: "%.1f", rate)) items/s, ETA \(eta), "
            + "\(s.usage.totalTokens) tokens, \(s.attempts - s.requests) retries, \(s.failed) failed"
    }

    static func clock(_ seconds: Double) -> String {
        let t = Int(seconds.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}

/// Holds values that one task uses, to pass them into a `Task` closure. Not shared: the
/// pipeline calls its `next` and `write` closures one at a time from its own task.
final class Confined<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
