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
    /// The wall time at virtual time zero; `nil`: the real wall clock (plus virtual time).
    public let wallOrigin: Date?

    /// A clock whose wall time starts at `wallOrigin` (a fixed date by default).
    public init(wallOrigin: Date = Date(timeIntervalSince1970: 1_795_000_000)) { self.wallOrigin = wallOrigin }

    /// A clock whose wall time is the real one plus the virtual time slept, for servers that
    /// send HTTP dates from their own clock.
    public init(followingWallClock: Void) { self.wallOrigin = nil }

    public func now() -> Duration { state.withLock { $0.now } }
    public func wallTime() -> Date { (wallOrigin ?? Date()).addingTimeInterval(now().seconds) }

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
