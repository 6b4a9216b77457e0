import Foundation

/// Runs heavy or blocking test work (scoring a corpus, waiting for a Python process) on one
/// serial dispatch queue and awaits the result: it never holds one of the few cooperative
/// threads, and at most one such job uses a core at a time, so timing-sensitive tests of other
/// suites keep making progress on a small machine. Expectations stay in the test body, on the
/// test's task.
enum OffPool {
    private static let queue = DispatchQueue(label: "llmkit-tests.heavy")

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
