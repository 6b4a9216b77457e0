import Foundation
import Logging

/// Runs a relabel job through a ``BatchService`` (``RelabelExecutor/batchAPI(_:)``): every
/// batch of the corpus becomes one line of an input file (split within the file limits), each
/// file one batch; batches are polled with backoff, their output and error files downloaded
/// and every answer goes through the same verdict, re-asks and journal as a synchronous run.
///
/// Work goes in waves: wave 0 holds the corpus; the follow-ups of a wave (re-asks of invalid
/// items in halves, truncated answers split in two, one retry of an error line that may pass,
/// an expired batch's remainder under its own custom_ids) form the next wave once every batch
/// of the wave is collected, sorted the same way in every run, so a resumed run creates the
/// same batches in the same order as an uninterrupted one. Every step is recorded in the
/// ``BatchState`` file before the next, so a kill at any moment loses nothing and submits
/// nothing twice; the state file exists once something is about to be submitted, so a run
/// refused before that leaves none.
///
/// The dataset is read once: one pass records every item's byte offset, and the items of a
/// batch being collected or of a follow-up are read back by offset. Result files are streamed
/// to `<out>.batches/` under ``BatchSettings/maximumDownloadBytes`` and read line by line from
/// there. A ``ResponseStore`` among the client's middlewares (the response cache) answers the
/// requests it knows before they are submitted and keeps every answer collected.
struct BatchExecutor {
    let pipeline: RelabelPipeline
    let settings: BatchSettings
    let job: RelabelJob
    let journal: RelabelJournal
    let io: BlockingIOPool
    let emit: @Sendable (RelabelEvent) -> Void
    let statePath: String
    var state: BatchState
    /// Ids with a final line: resumed, and written by this run.
    var done: Set<String>
    var summary = RelabelSummary()
    var report = BatchRunSummary()
    /// File ids of the loaded state without a batch id: a batch may have been created over
    /// them just before a kill, so it is looked up before creating one.
    var maybeCreated: Set<String> = []
    /// Byte offsets of the dataset's items (within the limit) by id, from the run's one pass.
    var offsets: [String: Int] = [:]
    /// Offsets of the items neither done nor pending, in dataset order: what is left to plan.
    var unplanned: [Int] = []
    /// The state of the output being overwritten (or of a replaced run a resume finds): its
    /// batches still running are cancelled first.
    var replaced: BatchState?
    /// This run's mark in its batch state: the hash of its journal fingerprint.
    let run: String
    /// The response cache, when the client has one.
    let responses: (any ResponseStore)?
    /// Final outcomes of cache hits not yet in the journal (written in groups).
    var cachedFinals: [(DatasetItem, ItemOutcome)] = []
    let logger = Logger(label: "llmkit.batch")

    var configuration: RelabelConfiguration { pipeline.configuration }
    var service: any BatchService { settings.service }

    init(pipeline: RelabelPipeline, settings: BatchSettings, job: RelabelJob, journal: RelabelJournal, io: BlockingIOPool, run: String,
         emit: @escaping @Sendable (RelabelEvent) -> Void) throws(RunError) {
        self.pipeline = pipeline
        self.settings = settings
        self.job = job
        self.journal = journal
        self.io = io
        self.emit = emit
        statePath = BatchState.path(forOutput: job.output)
        done = journal.resumed.done
        let exists = FileManager.default.fileExists(atPath: statePath)
        self.run = run
        switch job.mode {
        case .resume where exists:
            let loaded = try BatchState.load(path: statePath)
            if let owner = loaded.run, owner != run, journal.resumed.acceptedDifferences.isEmpty {
                // Batches of a run this output replaced (an --overwrite, or an experiment cell
                // whose settings changed, stopped before they were cancelled): their answers are
                // to other requests. They are cancelled, never collected into this run.
                replaced = loaded
                state = BatchState(baseURL: settings.service.baseURL, run: run)
            } else {
                state = loaded
                try Self.requireSameService(state, settings: settings, statePath: statePath)
                if state.run != run {
                    // Continued with --force-resume (or a state from before the mark): the
                    // batches are this run's now, and a later plain resume must find its mark.
                    state.run = run
                    try state.save(path: statePath)
                }
                maybeCreated = Set(state.files.filter { $0.batchID == nil }.compactMap(\.fileID))
                report.batchesReattached = state.files.filter { $0.batchID != nil && !$0.collected }.count
            }
        case .fresh(let overwrite) where exists && !overwrite:
            throw RunError(.outputExists, file: statePath, "batches of an earlier run are recorded here and may still be running")
        case .fresh where exists:
            // --overwrite: the old batches are cancelled before anything new is submitted.
            replaced = try? BatchState.load(path: statePath)
            state = BatchState(baseURL: settings.service.baseURL, run: run)
        default:
            state = BatchState(baseURL: settings.service.baseURL, run: run)
        }
        report.stateFile = statePath
        responses = pipeline.client.middlewares.lazy.compactMap { $0 as? any ResponseStore }.first
    }

    /// What can be checked before any file is created: a request of the first items (a full
    /// chunk, as the run's preflight reads them) must fit in one input file. Throws
    /// ``RunError`` `.configuration` naming the limit.
    static func checkBeforeStart(_ settings: BatchSettings, configuration: RelabelConfiguration, firstItems: [DatasetItem]) throws(RunError) {
        guard !firstItems.isEmpty else { return }
        let bytes = settings.service.inputLine(for: configuration.request(for: firstItems), customID: "r0000000").count + 1
        guard bytes <= settings.maximumBytesPerFile else {
            throw RunError(.configuration, "one request (\(firstItems.count) items) takes \(bytes) bytes, more than the \(settings.maximumBytesPerFile) bytes allowed per input file; raise the limit or lower the batch size")
        }
    }

    /// Refuses to continue batches submitted to another service than `settings`' (checked
    /// before the run touches its output, and again when the executor loads the state).
    static func requireSameService(_ state: BatchState, settings: BatchSettings, statePath: String) throws(RunError) {
        guard state.baseURL == settings.service.baseURL else {
            throw RunError(.batchesElsewhere, file: statePath, "the batches were submitted to \(state.baseURL), not \(settings.service.baseURL)",
                           differences: ["batch service: \(state.baseURL) in the output, \(settings.service.baseURL) now"])
        }
    }

    /// Checks what a resumed Batch API run can check before it opens its output: that the
    /// output's batches were submitted to this run's service.
    static func checkResume(_ settings: BatchSettings, output: String) throws(RunError) {
        let statePath = BatchState.path(forOutput: output)
        guard FileManager.default.fileExists(atPath: statePath) else { return }
        try requireSameService(try BatchState.load(path: statePath), settings: settings, statePath: statePath)
    }

    /// Runs every wave to the end; returns this run's totals.
    mutating func run() async throws -> (RelabelSummary, BatchRunSummary) {
        journal.appendsOutOfOrder()
        if let replaced {
            try await cancelReplaced(replaced)
            self.replaced = nil
        }
        try await indexDataset()
        try await submitUnsubmitted()
        try await planNewItems()
        while true {
            if let wave = state.openWave {
                try await submitUnsubmitted()
                try await collect(wave: wave)
            } else if state.followUps.isEmpty {
                break
            } else {
                report.followUpWaves += 1
                if settings.reaskSynchronously { try await reaskSynchronously() }
                if !state.followUps.isEmpty { try await planFollowUps() }
            }
        }
        try? FileManager.default.removeItem(atPath: downloadFolder)
        return (summary, report)
    }

    func save() throws(RunError) { try state.save(path: statePath) }

    /// Where result files are downloaded: `<out>.batches/`, beside the output.
    var downloadFolder: String { BatchState.downloadFolder(forOutput: job.output) }

    /// The run's one pass over the dataset: every item's offset, and those left to plan.
    mutating func indexDataset() async throws {
        let done = self.done, pending = state.pendingIDs
        let path = job.dataset, format = job.format, mapping = job.mapping, policy = configuration.policy, limit = job.limit
        let (offsets, unplanned) = try await io.run({ () throws(DatasetError) -> ([String: Int], [Int]) in
            let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
            var offsets: [String: Int] = [:], unplanned: [Int] = [], read = 0
            while read < (limit ?? .max), let item = try reader.next() {
                read += 1
                offsets[item.id] = reader.lastOffset
                if !done.contains(item.id) && !pending.contains(item.id) { unplanned.append(reader.lastOffset) }
            }
            return (offsets, unplanned)
        })
        self.offsets = offsets
        self.unplanned = unplanned
        report.datasetPasses += 1
    }

    /// `--overwrite` over an output whose batches may still run: asks to cancel every batch not
    /// collected and not finished, waits until each has ended (saying so on stderr), then
    /// removes the old state, so nothing of the replaced run is processed alongside this one.
    mutating func cancelReplaced(_ old: BatchState) async throws {
        guard old.baseURL == service.baseURL else {
            logger.warning("--overwrite: the replaced run's batches went to \(old.baseURL), not \(service.baseURL); cancel them there with `promptlab batches cancel`")
            try? FileManager.default.removeItem(atPath: statePath)
            return
        }
        let service = self.service
        var ending: [(id: String, name: String)] = []
        for file in old.files where !file.collected {
            guard let id = file.batchID else { continue }
            var info = try await call("polling batch \(id) of the output being overwritten") { () async throws(LLMError) -> BatchInfo in try await service.batch(id) }
            if info.status.isTerminal { continue }
            if info.status != .cancelling {
                do throws(LLMError) { info = try await service.cancel(id) } catch {
                    // It may have ended meanwhile (a batch that ended cannot be cancelled).
                    info = try await call("polling batch \(id) of the output being overwritten") { () async throws(LLMError) -> BatchInfo in try await service.batch(id) }
                    if !info.status.isTerminal && info.status != .cancelling {
                        throw RunError(.batchService, file: statePath, "--overwrite: cannot cancel batch \(id) of the replaced run: \(error.description)", providerError: error)
                    }
                }
            }
            logger.warning("--overwrite: cancelling batch \(id) (\(file.name)) of the replaced run, now \(info.status)")
            report.batchesCancelled += 1
            #if LLMKIT_TEST_HOOKS
            KillPoint.reach("during-cancel-replaced")
            #endif
            if !info.status.isTerminal { ending.append((id, file.name)) }
        }
        var interval = settings.pollInterval
        let deadline = ContinuousClock.now + .seconds(20 * 60)
        while !ending.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw RunError(.batchService, file: statePath, "--overwrite: batch \(ending[0].id) of the replaced run is still cancelling after 20 minutes; run again later")
            }
            try await Task.sleep(for: interval)
            interval = min(interval * 1.5, settings.maximumPollInterval)
            var still: [(id: String, name: String)] = []
            for entry in ending {
                let id = entry.id
                let info = try await call("polling batch \(id) of the output being overwritten") { () async throws(LLMError) -> BatchInfo in try await service.batch(id) }
                if info.status.isTerminal {
                    logger.warning("--overwrite: batch \(id) (\(entry.name)) of the replaced run ended \(info.status); \(info.completed) of its requests had run")
                } else {
                    still.append(entry)
                }
            }
            ending = still
        }
        do { try FileManager.default.removeItem(atPath: statePath) } catch {
            throw RunError(.cannotWrite, file: statePath, "cannot remove the replaced run's batch state (\(error.localizedDescription))")
        }
    }

    // MARK: planning and submitting

    /// Plans the items that are neither done nor pending into input files of the open (or
    /// next) wave, submitting each file as soon as it is full; a request whose answer is in the
    /// response cache is answered from there instead.
    mutating func planNewItems() async throws {
        let reader = try DatasetOffsetReader(path: job.dataset, format: job.format, mapping: job.mapping, policy: configuration.policy)
        let wave = state.openWave ?? state.nextWave
        var pack = FilePack()
        let size = configuration.chunkSize
        var start = 0
        while start < unplanned.count {
            let chunk = Array(unplanned[start..<min(unplanned.count, start + size)])
            start += chunk.count
            let items = try await io.run({ () throws(DatasetError) -> [DatasetItem] in try reader.items(at: chunk) })
            let request = BatchState.Request(customID: state.newCustomID(), ids: items.map(\.id), round: 0, retries: 0, expiries: 0)
            var followUps: [BatchState.FollowUp] = []
            if try await answerFromCache(request, items, order: Self.cacheOrder + state.nextRequest * 100, followUps: &followUps) {
                state.followUps += followUps
                continue
            }
            try await add(request, items: items, to: &pack, wave: wave, consumingFollowUps: false)
        }
        unplanned = []
        try await writeCachedFinals()
        if !pack.requests.isEmpty { try await submit(pack, wave: wave, consumingFollowUps: false) }
    }

    /// Orders of follow-ups of cache hits: after every collected file's.
    static let cacheOrder = 1 << 50

    /// Answers the follow-ups the response cache knows (and their own follow-ups, in turn),
    /// leaving in ``BatchState/followUps`` only those to submit.
    mutating func answerFollowUpsFromCache() async throws {
        guard responses != nil else { return }
        var check = state.followUps.filter { $0.customID == nil }
        var kept = state.followUps.filter { $0.customID != nil }
        var answered = false
        while !check.isEmpty {
            let items = try await loadItems(Set(check.flatMap(\.ids)))
            var added: [BatchState.FollowUp] = []
            for up in check {
                let request = BatchState.Request(customID: "cache", ids: up.ids, round: up.round, retries: up.retries, expiries: up.expiries)
                if try await answerFromCache(request, up.ids.compactMap { items[$0] }, order: up.order, followUps: &added) {
                    answered = true
                } else {
                    kept.append(up)
                }
            }
            check = added
        }
        guard answered else { return }
        try await writeCachedFinals()
        state.followUps = kept.sorted { $0.order < $1.order }
        if FileManager.default.fileExists(atPath: statePath) { try save() }
    }

    /// Answers `request` from the response cache when it holds the answer: the same verdict,
    /// finals and follow-ups as a collected answer, counted as a cache hit (no attempt).
    mutating func answerFromCache(_ request: BatchState.Request, _ items: [DatasetItem], order: Int,
                                  followUps: inout [BatchState.FollowUp]) async throws -> Bool {
        guard let responses, items.count == request.ids.count, let cached = await responses.answer(for: configuration.request(for: items)) else { return false }
        var finals: [(DatasetItem, ItemOutcome)] = []
        try handle(request, items, .success(cached), order: order, finals: &finals, followUps: &followUps)
        cachedFinals += finals
        if cachedFinals.count >= 4096 { try await writeCachedFinals() }
        return true
    }

    /// Appends the cache hits' final outcomes to the journal.
    mutating func writeCachedFinals() async throws {
        let finals = cachedFinals.filter { !done.contains($0.0.id) }
        cachedFinals = []
        try await write(finals)
    }

    /// Packs the follow-ups (sorted by their order) into input files of the next wave.
    mutating func planFollowUps() async throws {
        try await answerFollowUpsFromCache()
        guard !state.followUps.isEmpty else { return }
        state.followUps.sort { $0.order < $1.order }
        let items = try await loadItems(Set(state.followUps.flatMap(\.ids)))
        let wave = state.nextWave
        var pack = FilePack()
        for up in state.followUps {
            let requestItems = up.ids.compactMap { items[$0] }
            let request = BatchState.Request(customID: up.customID ?? state.newCustomID(), ids: up.ids, round: up.round, retries: up.retries,
                                             expiries: up.expiries)
            try await add(request, items: requestItems, to: &pack, wave: wave, consumingFollowUps: true)
        }
        if !pack.requests.isEmpty { try await submit(pack, wave: wave, consumingFollowUps: true) }
    }

    /// Adds one request's line to `pack`, submitting the pack first when the line would not fit.
    mutating func add(_ request: BatchState.Request, items: [DatasetItem], to pack: inout FilePack, wave: Int, consumingFollowUps: Bool) async throws {
        let line = service.inputLine(for: configuration.request(for: items), customID: request.customID)
        guard line.count + 1 <= settings.maximumBytesPerFile else {
            throw RunError(.configuration, file: statePath,
                           "one request (\(items.count) items) takes \(line.count + 1) bytes, more than the \(settings.maximumBytesPerFile) bytes allowed per input file")
        }
        if !pack.requests.isEmpty && (pack.requests.count >= settings.maximumRequestsPerFile || pack.bytes.count + line.count + 1 > settings.maximumBytesPerFile) {
            try await submit(pack, wave: wave, consumingFollowUps: consumingFollowUps)
            pack = FilePack()
        }
        pack.requests.append(request)
        pack.bytes += line
        pack.bytes.append(0x0A)
    }

    /// Records a file's plan (and, for follow-ups, takes its requests off the follow-up list in
    /// the same write), then uploads it and creates its batch.
    mutating func submit(_ pack: FilePack, wave: Int, consumingFollowUps: Bool) async throws {
        let file = BatchState.File(name: "w\(wave)-f\(state.files.count + 1)", wave: wave, requests: pack.requests, fileID: nil, batchID: nil,
                                   status: nil, collected: false, bytes: pack.bytes.count)
        state.files.append(file)
        if consumingFollowUps { state.followUps.removeFirst(pack.requests.count) }
        try save()
        try await upload(state.files.count - 1, bytes: pack.bytes)
        try await create(state.files.count - 1)
    }

    /// Uploads and creates what an earlier run planned but did not finish submitting.
    mutating func submitUnsubmitted() async throws {
        for i in state.files.indices where !state.files[i].collected && state.files[i].batchID == nil {
            if state.files[i].fileID == nil {
                let requests = state.files[i].requests
                let items = try await loadItems(Set(requests.flatMap(\.ids)))
                var bytes: [UInt8] = []
                for request in requests {
                    bytes += service.inputLine(for: configuration.request(for: request.ids.compactMap { items[$0] }), customID: request.customID)
                    bytes.append(0x0A)
                }
                try await upload(i, bytes: bytes)
            }
            try await create(i)
        }
    }

    mutating func upload(_ i: Int, bytes: [UInt8]) async throws {
        let name = state.files[i].name
        let stem = URL(fileURLWithPath: job.output).lastPathComponent
        let service = self.service
        let id = try await call("uploading input file \(name)") { () async throws(LLMError) -> String in
            try await service.upload(bytes, filename: "\(stem).\(name).jsonl")
        }
        state.files[i].fileID = id
        report.filesUploaded += 1
        report.bytesUploaded += bytes.count
        try save()
        #if LLMKIT_TEST_HOOKS
        KillPoint.reach("after-upload")
        #endif
    }

    /// Creates the batch of file `i`, unless one already exists over its input file (created
    /// by a run killed before it could record the id, or by a create whose answer was lost).
    mutating func create(_ i: Int) async throws {
        guard let fileID = state.files[i].fileID else { return }
        var info: BatchInfo?
        if maybeCreated.contains(fileID) { info = try await findBatch(inputFileID: fileID) }
        if info != nil { report.batchesReattached += 1 }
        let service = self.service, name = state.files[i].name, output = URL(fileURLWithPath: job.output).lastPathComponent
        var attempt = 1
        while info == nil {
            do {
                info = try await service.create(inputFileID: fileID, metadata: ["llmkit_file": name, "llmkit_output": output])
                report.batchesCreated += 1
            } catch {
                try await Task.sleep(for: try backoff("creating the batch of \(name)", error, attempt: attempt))
                attempt += 1
                // The batch may exist even though the answer was lost: look before creating again.
                info = try await findBatch(inputFileID: fileID)
            }
        }
        state.files[i].batchID = info!.id
        state.files[i].status = info!.status.name
        try save()
        #if LLMKIT_TEST_HOOKS
        KillPoint.reach("after-create")
        #endif
    }

    /// The batch over `inputFileID`, when the service lists one.
    func findBatch(inputFileID: String) async throws -> BatchInfo? {
        var after: String?
        for _ in 0..<50 {
            let service = self.service, cursor = after
            let page = try await call("listing batches") { () async throws(LLMError) -> ([BatchInfo], Bool) in
                let page = try await service.list(after: cursor, limit: 100)
                return (page.batches, page.hasMore)
            }
            if let found = page.0.first(where: { $0.inputFileID == inputFileID }) { return found }
            guard page.1, let last = page.0.last?.id else { return nil }
            after = last
        }
        return nil
    }
}

/// Requests and bytes of an input file being filled.
struct FilePack {
    var requests: [BatchState.Request] = []
    var bytes: [UInt8] = []
}
