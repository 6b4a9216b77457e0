import Foundation

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
/// nothing twice.
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

    var configuration: RelabelConfiguration { pipeline.configuration }
    var service: any BatchService { settings.service }

    init(pipeline: RelabelPipeline, settings: BatchSettings, job: RelabelJob, journal: RelabelJournal, io: BlockingIOPool,
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
        switch job.mode {
        case .resume where exists:
            state = try BatchState.load(path: statePath)
            guard state.baseURL == settings.service.baseURL else {
                throw RunError(.differentRun, file: statePath, "the batches were submitted to \(state.baseURL), not \(settings.service.baseURL)",
                               differences: ["batch service: \(state.baseURL) in the output, \(settings.service.baseURL) now"])
            }
            maybeCreated = Set(state.files.filter { $0.batchID == nil }.compactMap(\.fileID))
            report.batchesReattached = state.files.filter { $0.batchID != nil && !$0.collected }.count
        case .fresh(let overwrite) where exists && !overwrite:
            throw RunError(.outputExists, file: statePath, "batches of an earlier run are recorded here and may still be running")
        default:
            state = BatchState(baseURL: settings.service.baseURL)
        }
        report.stateFile = statePath
    }

    /// Runs every wave to the end; returns this run's totals.
    mutating func run() async throws -> (RelabelSummary, BatchRunSummary) {
        journal.appendsOutOfOrder()
        try save()
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
        return (summary, report)
    }

    func save() throws(RunError) { try state.save(path: statePath) }

    // MARK: planning and submitting

    /// Plans the items that are neither done nor pending into input files of the open (or
    /// next) wave, submitting each file as soon as it is full.
    mutating func planNewItems() async throws {
        let skip = done.union(state.pendingIDs)
        let cursor = try DatasetCursor(path: job.dataset, format: job.format, policy: configuration.policy, limit: job.limit, skip: skip)
        let wave = state.openWave ?? state.nextWave
        var pack = FilePack()
        let size = configuration.batchSize
        while true {
            let items = try await io.run({ () throws(DatasetError) -> [DatasetItem] in try cursor.next(size) })
            if items.isEmpty { break }
            let request = BatchState.Request(customID: state.newCustomID(), ids: items.map(\.id), round: 0, retries: 0, expiries: 0)
            try await add(request, items: items, to: &pack, wave: wave, consumingFollowUps: false)
        }
        if !pack.requests.isEmpty { try await submit(pack, wave: wave, consumingFollowUps: false) }
    }

    /// Packs the follow-ups (sorted by their order) into input files of the next wave.
    mutating func planFollowUps() async throws {
        state.followUps.sort { $0.order < $1.order }
        let items = try await loadItems(Set(state.followUps.flatMap(\.ids)))
        let wave = state.nextWave
        var pack = FilePack()
        for up in state.followUps {
            let batchItems = up.ids.compactMap { items[$0] }
            let request = BatchState.Request(customID: up.customID ?? state.newCustomID(), ids: up.ids, round: up.round, retries: up.retries,
                                             expiries: up.expiries)
            try await add(request, items: batchItems, to: &pack, wave: wave, consumingFollowUps: true)
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
        KillPoint.reach("after-upload")
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
        KillPoint.reach("after-create")
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
