#if LLMKIT_TEST_HOOKS
import Foundation
import Synchronization

/// Crash tests' hook: when the environment variable `LLMKIT_TEST_KILL_AT` names a point
/// (`after-upload`, `after-create`, `during-download`, `during-cancel-replaced`, and for experiments
/// `experiment-after-cell`), optionally with the occurrence to
/// stop at (`after-create:2`), the process sends itself SIGKILL there: no cleanup, no flush,
/// as a power cut or `kill -9` would. Compiled only with `LLMKIT_TEST_HOOKS` (Package.swift
/// defines it for debug builds, which the tests use): a release build has no such hook.
package enum KillPoint {
    static let variable = "LLMKIT_TEST_KILL_AT"

    private static let target: (name: String, occurrence: Int)? = {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count == 2 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let seen = Mutex<[String: Int]>([:])

    /// Kills the process when `name` is the configured point and this is its occurrence.
    package static func reach(_ name: String) {
        guard let target, target.name == name else { return }
        let count = seen.withLock { counts in
            counts[name, default: 0] += 1
            return counts[name]!
        }
        if count == target.occurrence { kill(getpid(), SIGKILL) }
    }
}
#endif
