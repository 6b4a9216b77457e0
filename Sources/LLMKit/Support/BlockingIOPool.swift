import Foundation
import Synchronization

/// Runs blocking work (file reads and writes, `fsync`, hashing a file) on threads of its own,
/// so it never occupies one of Swift concurrency's few cooperative threads (after swift-nio's
/// `NIOThreadPool.runIfActive`). Work items run in the order they were submitted when the pool
/// has one thread; ``shared`` has two.
public final class BlockingIOPool: Sendable {
    /// The process-wide pool the library's file I/O uses.
    public static let shared = BlockingIOPool(threads: 2, name: "llmkit.io")

    private struct State {
        var queue: [@Sendable () -> Void] = []
        var head = 0
    }
    private let state = Mutex(State())
    private let wakeup = NSCondition()

    /// Starts `threads` threads that live as long as the process.
    public init(threads: Int, name: String) {
        for i in 0..<max(1, threads) {
            let thread = Thread { [self] in loop() }
            thread.name = "\(name).\(i)"
            thread.start()
        }
    }

    /// Runs `body` on one of the pool's threads and returns its result (or throws its error,
    /// typed as `body` throws it). The caller suspends (it does not block a thread) until the
    /// work is done; cancelling the caller does not interrupt work that has started.
    package func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit {
                do throws(E) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
            }
        }
        return try result.get()
    }

    /// Queues `work` without waiting for it.
    package func submit(_ work: @escaping @Sendable () -> Void) {
        wakeup.lock()
        state.withLock { $0.queue.append(work) }
        wakeup.signal()
        wakeup.unlock()
    }

    private func loop() {
        while true {
            wakeup.lock()
            var work = take()
            while work == nil {
                wakeup.wait()
                work = take()
            }
            wakeup.unlock()
            work?()
        }
    }

    /// What a taken slot holds until the queue is compacted.
    private static let done: @Sendable () -> Void = {}

    private func take() -> (@Sendable () -> Void)? {
        state.withLock { s in
            guard s.head < s.queue.count else { return nil }
            let work = s.queue[s.head]
            // The slot stays until the queue is compacted: drop what its closure captured (an
            // answer's bytes, a continuation) now, not up to a thousand items later.
            s.queue[s.head] = Self.done
            s.head += 1
            if s.head > 1024 && s.head * 2 > s.queue.count {
                s.queue.removeFirst(s.head)
                s.head = 0
            }
            return work
        }
    }
}
