import ArgumentParser
import Foundation
import LLMKit
import Providers

/// A pool of servers of the same model: repeated `--base-url`, or `--endpoints FILE`.
struct PoolOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A pool's endpoints, one per line: URL [WEIGHT [MAX_CONCURRENCY]] (llama.cpp endpoints take their slot count from /props).", valueName: "file"))
    var endpoints: String?

    @Flag(help: "Accept a pool whose endpoints report different models (or none) and answers from any model; each answer keeps its own model.")
    var allowMixedModels = false

    @Option(parsing: .unconditional, help: "Consecutive connection failures, timeouts, 5xx or broken answers (too large, endless, not a chat completion) that take a pool endpoint out.")
    var poolFailures: Int = 3

    @Option(parsing: .unconditional, help: "Seconds a pool endpoint stays out before one request probes it; with every endpoint out, a request waits twice this at most, then fails as unavailable (retried within --retry-for).")
    var poolCooldown: Double = 5

    func validate() throws {
        try Check.range(poolFailures, "--pool-failures", 1...1000)
        try Check.range(poolCooldown, "--pool-cooldown", 0.01...3600)
    }

    /// The pool's endpoints: the file's, else one per `--base-url` (fewer than two: no pool).
    func list(baseURLs: [String]) throws -> [PoolEndpoint] {
        if let endpoints {
            guard baseURLs.isEmpty else { throw ValidationError("--endpoints and --base-url contradict each other: list every endpoint in the file") }
            return try PoolEndpoint.parseFile(endpoints)
        }
        return baseURLs.map { PoolEndpoint(baseURL: $0) }
    }

    var settings: PoolSettings {
        PoolSettings(failuresToTakeOut: poolFailures, coolDown: .milliseconds(Int64(poolCooldown * 1000)), allowMixedModels: allowMixedModels)
    }
}
