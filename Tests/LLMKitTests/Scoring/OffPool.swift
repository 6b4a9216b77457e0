import Foundation

/// Runs heavy or blocking test work (scoring a corpus, waiting for a Python process) on a
/// thread of its own and awaits the result, so it never holds one of the few cooperative
/// threads that timing-sensitive tests of other suites need to make progress. Expectations stay
/// in the test body, on the test's task.
enum OffPool {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
