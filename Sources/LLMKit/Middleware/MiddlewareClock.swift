public import Foundation

/// The time source of the retry and rate-limit middlewares, injected so tests advance time
/// by hand instead of sleeping.
public protocol MiddlewareClock: Sendable {
    /// Monotonic time since an arbitrary origin.
    func now() -> Duration
    /// Suspends for `duration` (throws `CancellationError` when the task is cancelled).
    func sleep(for duration: Duration) async throws
    /// Wall-clock time, for HTTP dates in `retry-after`.
    func wallTime() -> Date
}

/// Real time: `ContinuousClock` and the system's wall clock.
public struct SystemMiddlewareClock: MiddlewareClock {
    private let origin = ContinuousClock.now
    /// A clock whose origin is now.
    public init() {}
    /// Time since this clock was made.
    public func now() -> Duration { ContinuousClock.now - origin }
    /// `Task.sleep(for:)`.
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
    /// `Date()`.
    public func wallTime() -> Date { Date() }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    package var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// A duration from seconds given as a `Double`.
    package static func seconds(double value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
