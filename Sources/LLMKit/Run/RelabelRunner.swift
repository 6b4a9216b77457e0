import Foundation
import Synchronization

/// What to relabel, where to, and how.
public struct RelabelJob: Sendable {
    /// The dataset file (project JSONL or EMO-SUPERB CSV).
    public var dataset: String
    /// Its format (default: from the extension).
    public var format: DatasetFormat?
    /// The lab's column mapping the dataset is read by (`nil`: the project JSONL or
    /// EMO-SUPERB's CSV). Part of the run's fingerprint.
    public var mapping: ColumnMapping?
    /// The output journal.
    public var output: String
    public var mode: RelabelJournal.Mode
    /// Use only the first `limit` items of the dataset.
    public var limit: Int?
    public var configuration: RelabelConfiguration
    /// The provider's base URL, recorded in the fingerprint.
    public var baseURL: String?
    /// Other files the command reads: the output must not be one of them.
    public var otherInputs: [String]
    /// Ask the items that failed with errors that may pass (rate limits, 5xx, timeouts) once
    /// more at the end of the run.
    public var finalPass: Bool
    /// How the requests are sent: one call per chunk (default) or a provider's batch service.
    public var executor: RelabelExecutor

    public init(dataset: String, format: DatasetFormat? = nil, mapping: ColumnMapping? = nil, output: String, mode: RelabelJournal.Mode = .fresh(overwrite: false),
                limit: Int? = nil, configuration: RelabelConfiguration, baseURL: String? = nil, otherInputs: [String] = [], finalPass: Bool = true,
                executor: RelabelExecutor = .synchronous) {
        self.dataset = dataset
        self.format = format
        self.mapping = mapping
        self.output = output
        self.mode = mode
        self.limit = limit
        self.configuration = configuration
        self.baseURL = baseURL
        self.otherInputs = otherInputs
        self.finalPass = finalPass
        self.executor = executor
    }
}

/// What a run did.
public struct RelabelReport: Sendable {
    /// This run's totals (items asked in this run, with their final outcomes).
    public var summary: RelabelSummary
    public var output: String
    public var seconds: Double
    /// What the output held before this run.
    public var resumed: RelabelJournal.Resumed
    /// Items of the dataset within the limit.
    public var datasetItems: Int
    /// Items this run found to do.
    public var itemsToDo: Int
    /// Relabeled items in the whole output after the run.
    public var relabeledInOutput: Int { resumed.relabeled + summary.relabeled }
    /// Seconds the journal's thread spent in `fdatasync`, and seconds the run waited for it.
    public var syncSeconds: Double
    public var syncWaitSeconds: Double
    public var syncs: Int
    /// What a Batch API run did with the service (`nil` for a synchronous run).
    public var batch: BatchRunSummary?
    /// How a vote table read through a column mapping was read (counts or proportions);
    /// `nil` for the project's own formats.
    public var votes: ColumnMapping.VoteTally? = nil
}

/// Runs a relabel job end to end: checks the dataset and the output, locks and opens the
/// journal, sends every chunk through the pipeline with bounded concurrency, appends each
/// chunk's lines in input order as soon as it is durable-ready, asks items that failed
/// transiently once more, and reports progress as ``RelabelEvent``s. With
/// ``RelabelExecutor/batchAPI(_:)`` the chunks go through a ``BatchService`` instead (see
/// `BatchExecutor`): the same requests, verdicts, re-asks and journal, answers in any order.
///
/// Guarantees: every id of the dataset (within the limit) ends as exactly one line; a kill at
/// any moment leaves whole lines and a resumable file; cancelling the calling task (Ctrl-C)
/// abandons the chunks in flight, keeps every line written and throws ``RunError`` with
/// code `.interrupted`; a provider error no request can fix (wrong key, no access, unknown
/// model, no quota) stops the run at once, leaves the remaining items untouched and throws
/// ``RunError`` with code `.stopped`. File I/O runs on a ``BlockingIOPool``, never on a
/// cooperative thread.
public struct RelabelRunner: Sendable {
    public let client: LLMClient
    public let io: BlockingIOPool

    public init(client: LLMClient, io: BlockingIOPool = .shared) {
        self.client = client
        self.io = io
    }

    /// Runs `job`, sending events to `events` (finished when the run ends). Throws
    /// ``DatasetError`` for a bad dataset, ``RunError`` for everything about the output, a
    /// stop or an interruption.
    public func run(_ job: RelabelJob, events: AsyncStream<RelabelEvent>.Continuation? = nil) async throws -> RelabelReport {
        defer { events?.finish() }
        return try await run(job) { events?.yield($0) }
    }

    /// Runs `job`, calling `onEvent` as things happen (from any thread, possibly from several
    /// at once: it must be quick and thread-safe). Nothing is buffered, so memory stays flat
    /// however long the run. Errors as ``run(_:events:)``.
    public func run(_ job: RelabelJob, onEvent emit: @escaping @Sendable (RelabelEvent) -> Void) async throws -> RelabelReport {
        let started = ContinuousClock.now
        let configuration = job.configuration
        // The lock first, right here (a non-blocking flock, not queued behind other I/O): a
        // second run on the same output refuses before any other work.
        try FileChecks.prepareOutput(job.output)
        let lock = try OutputLock(output: job.output)
        let scan: DatasetScan
        do { scan = try await preflight(job) } catch {
            lock.release()
            throw error
        }
        let fingerprint = RunFingerprint(
            datasetSHA256: scan.sha256, prompt: configuration.promptID, provider: client.provider.id.name, model: configuration.model,
            baseURL: job.baseURL, chunkSize: configuration.chunkSize, seed: configuration.seed, temperature: configuration.temperature,
            maxTokens: configuration.maxTokens, policy: configuration.policy, executor: job.executor.fingerprintName,
            method: configuration.methodID.name, methodParameters: configuration.method?.parameters ?? .null, mapping: job.mapping?.json ?? .null)
        let journal = try await RelabelJournal.open(path: job.output, mode: job.mode, fingerprint: fingerprint, lock: lock, io: io)
        let resumed = journal.resumed
        let toDo = max(0, scan.itemsWithinLimit - resumed.done.count)
        emit(.started(RelabelStart(items: toDo, datasetItems: scan.itemsWithinLimit, resumed: resumed,
                                   tokenBudget: configuration.tokenBudget(count: configuration.chunkSize), votes: scan.votes)))
        // Every answer is written down before anything else happens to it (AnswerLog).
        let answers: AnswerLog
        do {
            answers = try await AnswerLog.open(output: job.output, fresh: !isResume(job) || !resumed.acceptedDifferences.isEmpty, io: io)
        } catch {
            try? await journal.close(inputOrder: nil, discardIfEmpty: resumed.lines == 0 && !isBatch(job))
            throw error
        }
        let logged = LLMClient(provider: client.provider, middlewares: [AnswerLogMiddleware(log: answers)] + client.middlewares)
        let pipeline = RelabelPipeline(client: logged, configuration: configuration, emit: emit)
        let ledger = Ledger()
        var summary: RelabelSummary
        var batchReport: BatchRunSummary?
        do {
            if case .batchAPI(let settings) = job.executor {
                var executor = try BatchExecutor(pipeline: pipeline, settings: settings, job: job, journal: journal, io: io,
                                                 run: String(CompletionRequest.sha256Hex(fingerprint.json.description).prefix(16)), emit: emit)
                (summary, batchReport) = try await executor.run()
            } else {
                summary = try await synchronous(pipeline, job: job, journal: journal, ledger: ledger, emit: emit)
            }
        } catch {
            // A Batch API run keeps even an empty output once it has a batch state (its batches
            // may be running, and a plain rerun must not submit them again); without one,
            // nothing was submitted and a refused start leaves nothing behind. Nor is an output
            // removed whose run was paid answers: its answer log stays with it for --resume.
            let empty = ledger.written == 0 && resumed.lines == 0 && answers.count == 0
                && (!isBatch(job) || !FileManager.default.fileExists(atPath: BatchState.path(forOutput: job.output)))
            // Lines a final pass replaced go now, not at the next resume: an interrupted run
            // leaves one line per id (the file keeps its order).
            try? await journal.close(inputOrder: journal.hasReplacedLines ? { @Sendable in [:] } : nil, discardIfEmpty: empty, replacedOnly: true)
            await answers.close(remove: empty)
            throw Self.runError(error, output: job.output, lines: resumed.lines + ledger.written - journal.replacedCount)
        }
        let order: @Sendable () throws -> [String: Int] = {
            try DatasetScan.positions(path: job.dataset, format: job.format, mapping: job.mapping, policy: configuration.policy)
        }
        do { try await journal.close(inputOrder: order) } catch {
            await answers.close(remove: false)
            throw RunError(.cannotWrite, file: job.output, error.reason)
        }
        // Complete: every id has its line, nothing will be asked again.
        await answers.close(remove: true)
        emit(.finished(summary))
        let statistics = journal.statistics
        return RelabelReport(summary: summary, output: job.output, seconds: (ContinuousClock.now - started).seconds, resumed: resumed,
                             datasetItems: scan.itemsWithinLimit, itemsToDo: toDo, syncSeconds: statistics.syncSeconds,
                             syncWaitSeconds: statistics.waitSeconds, syncs: statistics.syncs, batch: batchReport, votes: scan.votes)
    }

    private func isResume(_ job: RelabelJob) -> Bool {
        if case .resume = job.mode { return true }
        return false
    }

    private func isBatch(_ job: RelabelJob) -> Bool {
        if case .batchAPI = job.executor { return true }
        return false
    }

    /// The synchronous executor: one pass, then the final pass for transient failures.
    private func synchronous(_ pipeline: RelabelPipeline, job: RelabelJob, journal: RelabelJournal, ledger: Ledger,
                             emit: @escaping @Sendable (RelabelEvent) -> Void) async throws -> RelabelSummary {
        let configuration = pipeline.configuration
        let resumed = journal.resumed
        let cursor = try DatasetCursor(path: job.dataset, format: job.format, mapping: job.mapping, policy: configuration.policy, limit: job.limit, skip: resumed.done)
        var summary = try await pass(pipeline, cursor: cursor, journal: journal, ledger: ledger, emit: emit)
        if job.finalPass, !ledger.transient.isEmpty {
            summary = try await finalPass(pipeline, job: job, journal: journal, ledger: ledger, summary: summary, emit: emit)
        }
        return summary
    }

    /// Checks the files and the dataset, and that a full chunk fits the rate limits.
    private func preflight(_ job: RelabelJob) async throws -> DatasetScan {
        let configuration = job.configuration
        if isBatch(job), job.mode == .fresh(overwrite: false), FileManager.default.fileExists(atPath: BatchState.path(forOutput: job.output)) {
            throw RunError(.outputExists, file: BatchState.path(forOutput: job.output), "batches of an earlier run are recorded here and may still be running")
        }
        if case .batchAPI(let settings) = job.executor, case .resume = job.mode { try BatchExecutor.checkResume(settings, output: job.output) }
        if let method = configuration.method {
            if isBatch(job) { throw RunError(.configuration, "the Batch API runs the prompted adjustment only, not the \(method.id) method") }
            do throws(LLMError) { try method.check(provider: client.provider.capabilities) } catch {
                throw RunError(.configuration, "the \(method.id) method cannot run here: \(error.message)")
            }
        }
        let scan = try await io.run({ () throws(DatasetError) -> DatasetScan in
            try FileChecks.requireDistinct(output: job.output, from: [job.dataset] + job.otherInputs)
            let scan = try DatasetScan(path: job.dataset, format: job.format, mapping: job.mapping, policy: configuration.policy, limit: job.limit,
                                       keepFirst: configuration.chunkSize)
            guard scan.items > 0 else { throw DatasetError(file: job.dataset, reason: "the dataset holds no items") }
            if configuration.method == nil, let first = scan.firstItems.first,
               let missing = configuration.prompt.columns.first(where: { first.keep[$0] == nil }) {
                let carried = first.keep.keys
                throw DatasetError(file: job.dataset, reason: "the prompt \(configuration.prompt.name) writes {{\(missing)}}, but the items carry no '\(missing)' column"
                                   + (carried.isEmpty ? " (they carry none: name it among the mapping's carried columns)" : " (they carry \(carried.joined(separator: ", ")))"))
            }
            return scan
        })
        if !scan.firstItems.isEmpty {
            let largest = configuration.request(for: scan.firstItems)
            for case let limiter as RateLimitMiddleware in client.middlewares {
                if let refusal = limiter.refusal(for: largest) { throw RunError(.limitTooSmall, refusal) }
            }
            if case .batchAPI(let settings) = job.executor {
                try BatchExecutor.checkBeforeStart(settings, configuration: configuration, firstItems: scan.firstItems)
            }
        }
        return scan
    }

    /// One pass of the pipeline over `cursor`, appending each chunk in order.
    private func pass(_ pipeline: RelabelPipeline, cursor: DatasetCursor, journal: RelabelJournal, ledger: Ledger,
                      replacing: [String: (line: Int, failure: ItemFailure)] = [:], emit: @escaping @Sendable (RelabelEvent) -> Void) async throws -> RelabelSummary {
        let size = pipeline.configuration.chunkSize
        return try await pipeline.run(
            nextChunk: { try await io.run({ () throws(DatasetError) -> [DatasetItem] in try cursor.next(size) }) },
            deliver: { batch in
                let first = journal.reserveLines(batch.records.count)
                ledger.record(batch.records, firstLine: first)
                let done = ChunkDone(items: batch.summary.items, relabeled: batch.summary.relabeled, failed: batch.summary.failed)
                try await journal.append(batch.records) { emit(.chunkDurable(done)) }
                // The lines these replace (a final pass) go as soon as their successors are queued.
                if !replacing.isEmpty { journal.supersede(lines: batch.records.compactMap { replacing[$0.id]?.line }) }
            })
    }

    /// Asks the transiently failed items once more; their new lines replace the old ones.
    private func finalPass(_ pipeline: RelabelPipeline, job: RelabelJob, journal: RelabelJournal, ledger: Ledger,
                           summary: RelabelSummary, emit: @escaping @Sendable (RelabelEvent) -> Void) async throws -> RelabelSummary {
        let failed = ledger.takeTransient()
        emit(.finalPass(items: failed.count))
        let cursor = try DatasetCursor(path: job.dataset, format: job.format, mapping: job.mapping, policy: pipeline.configuration.policy, limit: job.limit,
                                       only: Set(failed.keys))
        let again = try await pass(pipeline, cursor: cursor, journal: journal, ledger: ledger, replacing: failed, emit: emit)
        var total = summary
        for (_, old) in failed { total.uncount(old.failure) }
        total.add(again)
        return total
    }

    private static func runError(_ error: any Error, output: String, lines: Int) -> any Error {
        switch error {
        case is CancellationError:
            return RunError(.interrupted, file: output, "interrupted; the output holds \(lines) complete lines")
        case let stop as PipelineStop:
            return RunError(.stopped, file: output, "stopped: \(stop.error.description); the output holds \(lines) complete lines, the remaining items are untouched",
                            providerError: stop.error)
        default:
            return error
        }
    }
}

/// What a run has written: line numbers of the items that failed transiently (for the final
/// pass) and how many lines.
final class Ledger: Sendable {
    private struct State {
        var written = 0
        var transient: [String: (line: Int, failure: ItemFailure)] = [:]
    }
    private let state = Mutex(State())

    func record(_ records: [RelabeledRecord], firstLine: Int) {
        state.withLock { s in
            s.written += records.count
            for (offset, record) in records.enumerated() {
                if let failure = record.outcome.failure, failure.isTransient { s.transient[record.id] = (firstLine + offset, failure) }
            }
        }
    }

    var written: Int { state.withLock { $0.written } }
    var transient: [String: (line: Int, failure: ItemFailure)] { state.withLock { $0.transient } }

    func takeTransient() -> [String: (line: Int, failure: ItemFailure)] {
        state.withLock { s in
            defer { s.transient = [:] }
            return s.transient
        }
    }
}
