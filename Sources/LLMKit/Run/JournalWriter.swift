import Foundation
import Synchronization

/// Appends lines to a file descriptor and makes them durable in groups (group commit) on a
/// thread of its own, so neither `write` nor `fsync` runs on a cooperative thread or holds up
/// the loop that hands out chunks.
///
/// Each ``enqueue(_:onDurable:)`` is one chunk's lines: the writer thread takes everything
/// queued, writes it with one `write` per chunk in order, syncs once (`fdatasync`), then calls
/// each chunk's `onDurable`. A chunk therefore counts as done only once it is on disk, and a
/// kill at any moment leaves whole lines (the last may be torn; resume cuts it). Syncs are at
/// least ``minimumSyncInterval`` apart, so a fast run syncs a few hundred times a second at
/// most, each time for everything that arrived meanwhile. The queue is bounded:
/// ``enqueue(_:onDurable:)`` suspends while more than ``maximumPendingBytes`` wait.
final class JournalWriter: Sendable {
    /// Time and volume spent, for benchmarks and summaries.
    struct Statistics: Sendable, Equatable {
        var batches = 0
        var bytes = 0
        var syncs = 0
        /// Seconds the writer thread spent in `fdatasync`.
        var syncSeconds = 0.0
        /// Seconds callers spent suspended in ``enqueue`` waiting for room, or in ``drain()``.
        var waitSeconds = 0.0
    }

    private struct Pending {
        var bytes: [UInt8]
        var onDurable: @Sendable () -> Void
    }

    private struct State {
        var queue: [Pending] = []
        var queuedBytes = 0
        var enqueued = 0
        var durable = 0
        var failure: DatasetError?
        var closing = false
        var stopped = false
        /// Callers waiting for room or for a count of durable chunks.
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var drainWaiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var statistics = Statistics()
    }

    let path: String
    private let fd: Int32
    private let state = Mutex(State())
    private let wakeup = NSCondition()
    /// Beyond this many queued bytes, ``enqueue`` waits.
    let maximumPendingBytes: Int
    /// The shortest time between two syncs.
    let minimumSyncInterval: Duration = .milliseconds(5)

    /// Starts the writer thread for `fd` (opened for append), reporting errors against `path`.
    init(fd: Int32, path: String, maximumPendingBytes: Int = 8 << 20) {
        self.fd = fd
        self.path = path
        self.maximumPendingBytes = maximumPendingBytes
        let thread = Thread { [self] in loop() }
        thread.name = "llmkit.journal"
        thread.start()
    }

    /// Queues one chunk's bytes; `onDurable` is called on the writer thread once they are
    /// synced. Suspends while the queue is full. Throws the first write error.
    func enqueue(_ bytes: [UInt8], onDurable: @escaping @Sendable () -> Void) async throws(DatasetError) {
        let started = ContinuousClock.now
        var waited = false
        while true {
            let outcome: Result<Bool, DatasetError> = state.withLock { s in
                if let failure = s.failure { return .failure(failure) }
                guard s.queuedBytes < maximumPendingBytes || s.queue.isEmpty else { return .success(false) }
                s.queue.append(Pending(bytes: bytes, onDurable: onDurable))
                s.queuedBytes += bytes.count
                s.enqueued += 1
                return .success(true)
            }
            switch outcome {
            case .failure(let error): throw error
            case .success(true):
                if waited { record(wait: started) }
                signal()
                return
            case .success(false):
                waited = true
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { s -> Bool in
                        if s.queuedBytes < maximumPendingBytes || s.failure != nil { return true }
                        s.roomWaiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Waits until every chunk queued so far is durable, then throws the first write error, if any.
    func drain() async throws(DatasetError) {
        let started = ContinuousClock.now
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> Bool in
                if s.durable >= s.enqueued || s.failure != nil || s.stopped { return true }
                s.drainWaiters.append((s.enqueued, continuation))
                return false
            }
            if done { continuation.resume() }
        }
        record(wait: started)
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Stops the thread after what is queued is written (call after ``drain()``).
    func stop() {
        state.withLock { $0.closing = true }
        signal()
    }

    var statistics: Statistics { state.withLock { $0.statistics } }

    private func record(wait started: ContinuousClock.Instant) {
        let seconds = (ContinuousClock.now - started).seconds
        state.withLock { $0.statistics.waitSeconds += seconds }
    }

    private func signal() {
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
    }

    private func loop() {
        var lastSync = ContinuousClock.now - .seconds(1)
        while true {
            // Let a few milliseconds of chunks gather before the next sync.
            let next = lastSync + minimumSyncInterval
            if ContinuousClock.now < next, !state.withLock({ $0.closing }) {
                Thread.sleep(forTimeInterval: (next - ContinuousClock.now).seconds)
            }
            wakeup.lock()
            var batch: [Pending] = []
            var closing = false
            while true {
                (batch, closing) = state.withLock { s in
                    let taken = s.queue
                    s.queue.removeAll(keepingCapacity: true)
                    return (taken, s.closing)
                }
                if !batch.isEmpty || closing { break }
                wakeup.wait()
            }
            wakeup.unlock()
            if batch.isEmpty && closing {
                let waiters = state.withLock { s in
                    s.stopped = true
                    defer { s.drainWaiters = []; s.roomWaiters = [] }
                    return s.drainWaiters.map(\.continuation) + s.roomWaiters
                }
                waiters.forEach { $0.resume() }
                return
            }
            lastSync = ContinuousClock.now
            commit(batch)
        }
    }

    /// Writes and syncs one group, then reports it.
    private func commit(_ batch: [Pending]) {
        var failure: DatasetError?
        var written = 0
        for pending in batch where failure == nil {
            failure = writeAll(pending.bytes)
            written += pending.bytes.count
        }
        var syncSeconds = 0.0
        if failure == nil {
            let started = ContinuousClock.now
            if fdatasync(fd) != 0 {
                failure = DatasetError(file: path, reason: "sync failed (\(String(cString: strerror(errno))))")
            }
            syncSeconds = (ContinuousClock.now - started).seconds
        }
        if failure == nil { batch.forEach { $0.onDurable() } }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.queuedBytes -= batch.reduce(0) { $0 + $1.bytes.count }
            if let failure, s.failure == nil { s.failure = failure }
            if failure == nil {
                s.durable += batch.count
                s.statistics.batches += batch.count
                s.statistics.bytes += written
                s.statistics.syncs += 1
                s.statistics.syncSeconds += syncSeconds
            }
            var ready = s.roomWaiters
            s.roomWaiters = []
            let drained = s.drainWaiters.filter { $0.target <= s.durable || s.failure != nil }
            s.drainWaiters.removeAll { $0.target <= s.durable || s.failure != nil }
            ready += drained.map(\.continuation)
            return ready
        }
        waiters.forEach { $0.resume() }
    }

    private func writeAll(_ bytes: [UInt8]) -> DatasetError? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return DatasetError(file: path, reason: "write failed (\(String(cString: strerror(errno)))); the lines before it are intact")
            }
            offset += n
        }
        return nil
    }
}
