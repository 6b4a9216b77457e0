import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C as structured cancellation: runs `body` in a task group beside a task that waits for
/// SIGINT; when the signal comes, `body` is cancelled (a relabel run then abandons the
/// requests in flight, keeps every line written and throws `RunError` `.interrupted`). No
/// unstructured task, no global handler left behind.
enum Interrupt {
    static func cancelling<T: Sendable>(on signalNumber: Int32 = SIGINT, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await waitForSignal(signalNumber)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
                // The signal came first: cancel the body and wait for it to end.
                group.cancelAll()
            }
            throw CancellationError()
        }
    }

    /// Returns when `signalNumber` arrives, or when the task is cancelled.
    static func waitForSignal(_ signalNumber: Int32) async {
        let source = SignalSource(DispatchSource.makeSignalSource(signal: signalNumber, queue: .global()))
        signal(signalNumber, SIG_IGN)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumed = ResumeOnce(continuation)
                source.source.setEventHandler { resumed.resume() }
                source.source.setCancelHandler { resumed.resume() }
                source.source.resume()
            }
        } onCancel: {
            source.source.cancel()
        }
        signal(signalNumber, SIG_DFL)
    }
}

/// A dispatch signal source shared with a cancellation handler; dispatch sources are
/// thread-safe, the type just does not say so.
private final class SignalSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(_ source: any DispatchSourceSignal) { self.source = source }
}

/// Resumes a continuation at most once, from whichever handler comes first.
private final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>
    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Mutex(continuation) }
    func resume() {
        continuation.withLock { pending in
            pending?.resume()
            pending = nil
        }
    }
}
