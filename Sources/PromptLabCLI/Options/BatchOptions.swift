import ArgumentParser
import Foundation
import LLMKit
import Providers

/// `relabel --batch-api` and its settings.
struct BatchOptions: ParsableArguments {
    @Flag(help: "Send the corpus through OpenAI's Batch API (half the price, its own limits, results within 24 h) instead of one call per batch; with --provider openai.")
    var batchAPI = false

    @Flag(help: "With --batch-api: ask re-asks and split batches synchronously instead of in a follow-up batch.")
    var reaskSync = false

    @Option(parsing: .unconditional, help: "With --batch-api: requests per input file at most (the API allows 50000).")
    var batchMaxRequests: Int = BatchSettings.documentedMaximumRequests

    @Option(parsing: .unconditional, help: "With --batch-api: bytes per input file at most (default 104857600, 100 MiB: the OpenAPI description's limit, stricter than the guide's 200 MB).")
    var batchMaxBytes: Int = BatchSettings.defaultMaximumBytes

    @Option(parsing: .unconditional, help: "With --batch-api: MiB of one downloaded result file at most (default 4096); it is streamed to <out>.batches/, never held in memory, and a larger one stops the run.")
    var maxDownloadMib: Double = Double(BatchSettings.defaultMaximumDownloadBytes >> 20)

    @Option(parsing: .unconditional, help: "With --batch-api: seconds before the first poll of a batch; each wait is 1.5 times the last, up to --poll-max.")
    var pollInterval: Double = 5

    @Option(parsing: .unconditional, help: "With --batch-api: the longest wait between two polls, in seconds.")
    var pollMax: Double = 60

    func validate() throws {
        try Check.range(batchMaxRequests, "--batch-max-requests", 1...BatchSettings.documentedMaximumRequests)
        try Check.range(batchMaxBytes, "--batch-max-bytes", 1024...(200 * 1024 * 1024))
        try Check.range(pollInterval, "--poll-interval", 0.001...3600)
        try Check.range(pollMax, "--poll-max", 0.001...86_400)
        try Check.range(maxDownloadMib, "--max-download-mib", 0.001...1_048_576)
        if reaskSync && !batchAPI { throw ValidationError("--reask-sync goes with --batch-api") }
    }

    /// The providers with a batch API behind `--batch-api`.
    static let batchProviders: [ProviderID] = BatchServices.providers

    /// The batch service of `provider` at `baseURL`, keyed from the process environment (see ``BatchServices``).
    static func service(provider: ProviderID, baseURL: String?, output: String) throws -> any BatchService {
        try BatchServices.service(provider: provider, baseURL: baseURL, output: output, environment: ProcessInfo.processInfo.environment)
    }

    /// The run's executor: synchronous, or the batch API of the provider's server (the
    /// command's `validate()` has made sure the provider has one). `maximumLineBytes` is
    /// `--max-response-mib`: one result line is one answer.
    func executor(provider: ProviderID = .openAI, baseURL: String?, output: String, maximumLineBytes: Int = 32 << 20) throws -> RelabelExecutor {
        guard batchAPI else { return .synchronous }
        let service = try Self.service(provider: provider, baseURL: baseURL, output: output)
        return .batchAPI(BatchSettings(service: service, maximumRequestsPerFile: batchMaxRequests, maximumBytesPerFile: batchMaxBytes,
                                       pollInterval: .milliseconds(Int64(pollInterval * 1000)), maximumPollInterval: .milliseconds(Int64(pollMax * 1000)),
                                       reaskSynchronously: reaskSync, maximumDownloadBytes: Int(maxDownloadMib * 1_048_576),
                                       maximumLineBytes: maximumLineBytes))
    }
}
