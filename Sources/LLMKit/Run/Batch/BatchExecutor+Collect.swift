import Foundation

extension BatchExecutor {
    /// Polls the batches of `wave` with backoff until every one is terminal, collecting each as
    /// soon as it is (several at once in file order).
    mutating func collect(wave: Int) async throws {
        var interval = settings.pollInterval
        while true {
            var open = 0
            for i in state.files.indices where state.files[i].wave == wave && !state.files[i].collected {
                guard let id = state.files[i].batchID else { continue }
                let service = self.service
                let info = try await call("polling batch \(id)") { () async throws(LLMError) -> BatchInfo in try await service.batch(id) }
                state.files[i].status = info.status.name
                emit(.batchPolled(BatchProgress(batchID: id, file: state.files[i].name, status: info.status, total: info.total,
                                                completed: info.completed, failed: info.failed, nextPoll: info.status.isTerminal ? 0 : interval.seconds)))
                if info.status.isTerminal { try await collect(i, info) } else { open += 1 }
            }
            if open == 0 { return }
            try await Task.sleep(for: interval)
            interval = min(interval * 1.5, settings.maximumPollInterval)
        }
    }

    /// Downloads a terminal batch's output and error files, hands every answer to the verdict,
    /// appends the final records (durably) and then records the batch as collected together
    /// with its follow-ups. Items already in the journal (a run killed while collecting) are
    /// skipped.
    mutating func collect(_ i: Int, _ info: BatchInfo) async throws {
        let file = state.files[i]
        let items = try await loadItems(Set(file.requests.flatMap(\.ids)))
        let lines = try await results(of: info)
        var finals: [(DatasetItem, ItemOutcome)] = []
        var followUps: [BatchState.FollowUp] = []
        for (k, request) in file.requests.enumerated() where !request.ids.allSatisfy(done.contains) {
            let requestItems = request.ids.compactMap { items[$0] }
            guard requestItems.count == request.ids.count else {
                throw RunError(.damagedOutput, file: statePath, "request \(request.customID) names items the dataset does not have")
            }
            let order = i * 100_000_000 + k * 100
            let line = lines[request.customID]
            if info.status == .failed {
                let errors = info.errors.filter { $0.line == nil || $0.line == k + 1 }.map(\.description)
                let message = "the batch \(info.id) failed validation: " + (errors.isEmpty ? "no reason given" : errors.joined(separator: "; "))
                finals += requestItems.map { ($0, .failed(ItemFailure(.providerError, message, providerError: .badRequest))) }
            } else if let line, !line.expired, !line.cancelled {
                // An answer paid for goes to the response cache before anything else happens to it.
                if let responses, case .success(let response) = line.result {
                    await responses.storeAnswer(response, for: configuration.request(for: requestItems))
                }
                try handle(request, requestItems, line.result, order: order, finals: &finals, followUps: &followUps)
            } else if info.status == .expired || line?.expired == true {
                if request.expiries < settings.expiryResubmissions {
                    followUps.append(.init(ids: request.ids, round: request.round, retries: request.retries, expiries: request.expiries + 1,
                                           customID: request.customID, order: order))
                    report.expiredResubmitted += 1
                } else {
                    let failure = ItemFailure(.providerError, "the batch expired \(request.expiries + 1) times before running this request", providerError: .timeout)
                    finals += requestItems.map { ($0, .failed(failure)) }
                }
            } else if info.status == .cancelled || line?.cancelled == true {
                let failure = ItemFailure(.providerError, "the batch \(info.id) was cancelled before this request ran", providerError: .cancelled)
                finals += requestItems.map { ($0, .failed(failure)) }
            } else {
                let error = LLMError(.serverError, "The batch \(info.id) ended (\(info.status)) without a result for this request.")
                try handle(request, requestItems, .failure(error), order: order, finals: &finals, followUps: &followUps)
            }
        }
        try await write(finals.filter { !done.contains($0.0.id) })
        state.files[i].collected = true
        state.followUps += followUps
        try save()
        removeDownloads(of: info)
        report.statuses[info.status.name, default: 0] += 1
        if info.status == .failed { report.validationErrors += info.errors.prefix(max(0, 20 - report.validationErrors.count)).map { "\(info.id): \($0)" } }
    }

    /// The lines of a batch's output and error files by custom_id: each file streamed to
    /// ``downloadFolder`` under ``BatchSettings/maximumDownloadBytes``, then read line by line.
    mutating func results(of info: BatchInfo) async throws -> [String: BatchResultLine] {
        var lines: [String: BatchResultLine] = [:]
        let service = self.service, model = configuration.model
        let maximumBytes = settings.maximumDownloadBytes, maximumLine = settings.maximumLineBytes
        do { try FileManager.default.createDirectory(atPath: downloadFolder, withIntermediateDirectories: true) } catch {
            throw RunError(.cannotWrite, file: downloadFolder, "cannot create the folder for batch result files (\(error.localizedDescription))")
        }
        for (fileID, isErrorFile) in [(info.outputFileID, false), (info.errorFileID, true)] {
            guard let fileID else { continue }
            let path = downloadPath(info, errors: isErrorFile)
            let bytes = try await call("downloading file \(fileID) of batch \(info.id)") { () async throws(LLMError) -> Int in
                try await service.download(file: fileID, to: path, maximumBytes: maximumBytes)
            }
            report.bytesDownloaded += bytes
            let found = try await io.run({ () throws(RunError) -> [BatchResultLine] in
                var found: [BatchResultLine] = []
                try ResultFileReader.forEachLine(path: path, maximumLineBytes: maximumLine) { line in
                    if let result = service.decodeResult(line, model: model) { found.append(result) }
                }
                return found
            })
            for result in found {
                if isErrorFile { report.errorLines += 1 }
                lines[result.customID] = result
            }
        }
        return lines
    }

    /// Where a batch's output (or error) file is downloaded.
    func downloadPath(_ info: BatchInfo, errors: Bool) -> String {
        downloadFolder + "/" + info.id.replacingOccurrences(of: "/", with: "_") + (errors ? "-errors.jsonl" : "-output.jsonl")
    }

    /// Removes a collected batch's downloaded files.
    func removeDownloads(of info: BatchInfo) {
        for errors in [false, true] { try? FileManager.default.removeItem(atPath: downloadPath(info, errors: errors)) }
    }

    /// One answer through the run's policy (``RunPolicy``), as a synchronous run decides it:
    /// final outcomes, or follow-ups for the next wave (halves of a truncated answer, re-asks
    /// of invalid items in smaller chunks, one retry of an error that may pass).
    mutating func handle(_ request: BatchState.Request, _ items: [DatasetItem], _ result: Result<CompletionResponse, LLMError>, order: Int,
                         finals: inout [(DatasetItem, ItemOutcome)], followUps: inout [BatchState.FollowUp]) throws {
        summary.requests += 1
        if case .success(let response) = result {
            // An answer from the response cache took no attempt (as in a synchronous run).
            if response.servedFromCache { summary.cacheHits += 1 } else { summary.attempts += 1 }
            _ = summary.countAnswer(response, budget: configuration.tokenBudget(count: items.count))
        } else {
            summary.attempts += 1
        }
        let policy = RunPolicy(configuration: configuration, errorRetries: settings.lineRetries)
        let pipeline = self.pipeline
        let decision = try policy.decide(result, count: items.count, round: request.round, retries: request.retries, summary: &summary) { response, summary in
            pipeline.verdict(on: response, count: items.count, summary: &summary)
        }
        finals += decision.finals.map { (items[$0.position], $0.outcome) }
        for up in decision.followUps {
            let offset: Int
            switch up.kind {
            case .retry: offset = 0; report.lineRetries += 1
            case .split(let half): offset = half + 1
            case .reask(let chunk): offset = 10 + chunk
            }
            followUps.append(.init(ids: up.positions.map { request.ids[$0] }, round: up.round, retries: up.retries, expiries: up.kind == .retry ? request.expiries : 0,
                                   customID: nil, order: order + offset))
        }
    }

    /// Appends final outcomes to the journal, durably, and counts them.
    mutating func write(_ finals: [(DatasetItem, ItemOutcome)]) async throws {
        guard !finals.isEmpty else { return }
        var counted = RelabelSummary()
        let records = pipeline.records(finals.map(\.0), finals.map(\.1), summary: &counted)
        summary.add(counted)
        // A crash test can stop the process with half of a batch's lines durable.
        let half = records.count >= 2 ? records.count / 2 : records.count
        try await journal.append(Array(records[..<half]))
        try await journal.flush()
        #if LLMKIT_TEST_HOOKS
        KillPoint.reach("during-download")
        #endif
        try await journal.append(Array(records[half...]))
        try await journal.flush()
        done.formUnion(records.map(\.id))
        emit(.chunkDurable(ChunkDone(items: counted.items, relabeled: counted.relabeled, failed: counted.failed)))
    }

    /// Sends the follow-ups that are not an expired remainder through the run's client, as a
    /// synchronous run re-asks (`--reask-sync`), with the run's bounded concurrency; each
    /// follow-up's lines are appended as soon as it and those before it are done.
    mutating func reaskSynchronously() async throws {
        let (now, later) = state.followUps.sorted { $0.order < $1.order }.partitioned { $0.customID == nil }
        guard !now.isEmpty else { return }
        let items = try await loadItems(Set(now.flatMap(\.ids)))
        let pipeline = self.pipeline
        var pending = now[...]
        var done = self.done, summary = self.summary
        let journal = self.journal
        try await forEachInOrder(limit: configuration.concurrency, next: { () -> BatchState.FollowUp? in
            // A follow-up whose items a killed run already wrote is not sent again.
            while let up = pending.popFirst() { if !up.ids.allSatisfy(done.contains) { return up } }
            return nil
        }, work: { up in
            try await pipeline.relabel(up.ids.compactMap { items[$0] }, round: up.round)
        }, deliver: { (records, sub) in
            let fresh = records.filter { !done.contains($0.id) }
            try await journal.append(fresh)
            done.formUnion(fresh.map(\.id))
            summary.add(sub)
        })
        self.done = done
        self.summary = summary
        try await journal.flush()
        state.followUps = later
        try save()
    }

    /// The dataset items with these ids, read by the offsets of the run's one pass (on the
    /// I/O pool); ids the dataset does not have are left out.
    func loadItems(_ ids: Set<String>) async throws -> [String: DatasetItem] {
        guard !ids.isEmpty else { return [:] }
        let wanted = ids.compactMap { offsets[$0] }.sorted()
        let reader = try DatasetOffsetReader(path: job.dataset, format: job.format, mapping: job.mapping, policy: configuration.policy)
        let items = try await io.run({ () throws(DatasetError) -> [DatasetItem] in try reader.items(at: wanted) })
        return Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A service call, retried with backoff on errors that may pass.
    func call<T: Sendable>(_ what: String, _ body: () async throws(LLMError) -> T) async throws -> T {
        var attempt = 1
        while true {
            do { return try await body() } catch {
                try await Task.sleep(for: try backoff(what, error, attempt: attempt))
                attempt += 1
            }
        }
    }

    /// How long to wait before attempt `attempt + 1` after `error`: the delay the server asked
    /// for, else ``BatchSettings/retryPolicy``'s backoff with jitter; throws when there is no
    /// point (cancelled, a fatal error, an error no retry fixes, attempts used up).
    func backoff(_ what: String, _ error: LLMError, attempt: Int) throws -> Duration {
        if error.kind == .cancelled || Task.isCancelled { throw CancellationError() }
        if error.kind.isFatal { throw PipelineStop(error: error) }
        guard error.kind.isRetryable, attempt < settings.callAttempts else {
            throw RunError(.batchService, file: statePath, "\(what) failed: \(error.description)", providerError: error)
        }
        let policy = settings.retryPolicy
        if let asked = error.retryAfter { return min(asked, policy.maximumServerDelay) }
        return policy.backoff(retry: attempt, random: Double.random(in: 0..<1))
    }
}

extension Array {
    /// The elements that satisfy `belongs`, and the others, each in order.
    func partitioned(_ belongs: (Element) -> Bool) -> ([Element], [Element]) {
        var yes: [Element] = [], no: [Element] = []
        for element in self { if belongs(element) { yes.append(element) } else { no.append(element) } }
        return (yes, no)
    }
}
