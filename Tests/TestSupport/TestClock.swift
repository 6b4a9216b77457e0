public import Foundation
public import LLMKit
import Synchronization

/// A clock for middleware tests: `sleep` returns at once and moves virtual time forward by
/// the requested duration, recording it, so tests check delays without waiting for them.
public final class TestClock: MiddlewareClock {
    private struct State {
        var now: Duration = .zero
        var sleeps: [Duration] = []
    }
    private let state = Mutex(State())
    /// The wall time at virtual time zero.
    public let wallOrigin: Date

    public init(wallOrigin: Date = Date(timeIntervalSince1970: 1_795_000_000)) { self.wallOrigin = wallOrigin }

    public func now() -> Duration { state.withLock { $0.now } }
    public func wallTime() -> Date { wallOrigin.addingTimeInterval(now().seconds) }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        state.withLock { s in
            s.sleeps.append(duration)
            s.now += duration
        }
    }

    /// Moves time forward without anyone sleeping.
    public func advance(by duration: Duration) { state.withLock { $0.now += duration } }

    /// Every sleep so far, in order.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }
}
