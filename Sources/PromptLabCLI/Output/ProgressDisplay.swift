import Foundation
import LLMKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Renders a run's ``RelabelEvent``s as one progress line on stderr: in place on a terminal,
/// refreshed every second (so the elapsed time, waits and ETA move even while a slow local
/// model thinks), a plain line every 10 seconds otherwise, nothing when quiet. Shows items
/// done, requests in flight, tokens so far (streamed tokens included), retries, waits and the
/// ETA, and for a Batch API run the batches by status.
final class ProgressDisplay: Sendable {
    private struct State {
        var total = 0
        var done = 0
        var failed = 0
        var inFlight: [Int: Int] = [:]          // request -> items
        var streamed: [Int: Int] = [:]          // request -> tokens so far
        var tokens = 0
        var retries = 0
        var waiting: [Int: (reason: WaitReason, until: ContinuousClock.Instant)] = [:]
        var waitedSeconds = 0.0
        var finalPass = false
        var batches: [String: BatchProgress] = [:]   // batch id -> last poll
    }
    private let state = Mutex(State())
    private let quiet: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private let started = ContinuousClock.now

    init(quiet: Bool) { self.quiet = quiet }

    /// Runs `body` (which feeds ``take(_:)``) while redrawing the line every second (every 10
    /// seconds off a terminal); ends the line when `body` ends.
    func showing<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        defer { if terminal && !quiet { FileHandle.standardError.write(Data("\n".utf8)) } }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { [self] in
                let interval: Duration = terminal ? .seconds(1) : .seconds(10)
                while true {
                    do { try await Task.sleep(for: interval) } catch { return nil }
                    draw()
                }
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    /// Takes in one event (thread-safe; called as the run goes).
    func take(_ event: RelabelEvent) {
        var redraw = false
        state.withLock { s in
            switch event {
            case .started(let start): s.total = start.items; redraw = true
            case .requestSent(let info): s.inFlight[info.request] = info.items
            case .tokensReceived(let request, let tokens): s.streamed[request] = tokens
            case .waiting(let request, let reason, let duration):
                s.waiting[request] = (reason, ContinuousClock.now + duration)
                s.waitedSeconds += duration.seconds
                if case .retry = reason { s.retries += 1 }
                redraw = duration >= .seconds(3)
            case .requestFinished(let outcome):
                s.inFlight[outcome.request] = nil
                s.streamed[outcome.request] = nil
                s.waiting[outcome.request] = nil
                s.tokens += outcome.usage?.totalTokens ?? 0
            case .chunkDurable(let done):
                s.done += done.items
                s.failed += done.failed
            case .finalPass(let items):
                s.finalPass = true
                s.total += items
            case .batchPolled(let progress):
                redraw = s.batches[progress.batchID]?.status != progress.status
                s.batches[progress.batchID] = progress
            case .finished: break
            }
        }
        if redraw { draw() }
    }

    /// Writes a line of information on stderr above the progress line (also when quiet: it
    /// is not progress, like the concurrency cap's start line).
    func note(_ line: String) {
        FileHandle.standardError.write(Data(((terminal && !quiet ? "\r\u{1B}[K" : "") + line + "\n").utf8))
    }

    private func draw() {
        guard !quiet else { return }
        let line = render()
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// The progress line.
    func render() -> String {
        let s = state.withLock { $0 }
        let elapsed = (ContinuousClock.now - started).components.seconds
        let rate = elapsed > 0 ? Double(s.done) / Double(elapsed) : 0
        let remaining = max(0, s.total - s.done)
        let eta = rate > 0 ? Self.clock(Double(remaining) / rate) : "?"
        let percent = s.total > 0 ? String(format: "%.1f%%", 100 * Double(s.done) / Double(s.total)) : "-"
        let streaming = s.streamed.values.reduce(0, +)
        var parts = ["\(s.done)/\(s.total) items (\(percent))", Self.count(s.inFlight.count, "request", "requests") + " in flight",
                     "\(s.tokens + streaming) tokens", Self.count(s.retries, "retry", "retries"), "\(s.failed) failed",
                     "\(Self.clock(Double(elapsed))) elapsed", "ETA \(eta)"]
        let now = ContinuousClock.now
        if let longest = s.waiting.values.filter({ $0.until > now }).max(by: { $0.until < $1.until }) {
            parts.append("waiting \((longest.until - now).components.seconds + 1) s for \(longest.reason)")
        }
        if s.waitedSeconds >= 1 { parts.append(String(format: "%.0f s waited", s.waitedSeconds)) }
        if s.finalPass { parts.append("final pass") }
        if !s.batches.isEmpty { parts.append(Self.batches(s.batches.values)) }
        return parts.joined(separator: ", ")
    }

    /// "1 request", "2 requests".
    static func count(_ n: Int, _ one: String, _ many: String) -> String { n == 1 ? "1 \(one)" : "\(n) \(many)" }

    static func clock(_ seconds: Double) -> String {
        let t = Int(seconds.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
