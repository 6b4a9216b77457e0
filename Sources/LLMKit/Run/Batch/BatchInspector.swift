/// The batches of an output, for `promptlab batches`: what the state file records, with each
/// batch as the service sees it now, and cancelling those still running.
package struct BatchInspector: Sendable {
    package let state: BatchState
    package let service: any BatchService

    /// One input file of the state and its batch now.
    package struct Entry: Sendable {
        package var file: BatchState.File
        /// The batch as the service sees it (`nil`: not created yet, or `error` says why not).
        package var info: BatchInfo?
        package var error: LLMError?
    }

    /// Reads `<output>.batches.json`; throws ``RunError`` naming the file when there is none.
    package init(output: String, service: any BatchService) throws(RunError) {
        let path = BatchState.path(forOutput: output)
        guard (try? FileChecks.requireRegularFile(path)) != nil else {
            throw RunError(.configuration, file: path, "no batch state here: was the output made with the Batch API?")
        }
        state = try BatchState.load(path: path)
        self.service = service
        guard state.baseURL == service.baseURL else {
            throw RunError(.batchesElsewhere, file: path, "the batches were submitted to \(state.baseURL), not \(service.baseURL)")
        }
    }

    /// Every file of the state (or only the one whose batch is `batchID`), with its batch now.
    package func entries(batchID: String? = nil) async -> [Entry] {
        var entries: [Entry] = []
        for file in state.files where batchID == nil || file.batchID == batchID {
            guard let id = file.batchID else {
                entries.append(Entry(file: file))
                continue
            }
            do throws(LLMError) { entries.append(Entry(file: file, info: try await service.batch(id))) } catch {
                entries.append(Entry(file: file, error: error))
            }
        }
        return entries
    }

    /// Asks to cancel every batch not yet collected and not terminal (or only `batchID`);
    /// returns each with its answer. A later `--resume` collects their partial results and
    /// fails the requests that did not run (`provider_error`, `cancelled`).
    package func cancel(batchID: String? = nil) async -> [Entry] {
        var entries: [Entry] = []
        for entry in await self.entries(batchID: batchID) where !entry.file.collected || batchID != nil {
            guard let id = entry.file.batchID, let info = entry.info, !info.status.isTerminal else { continue }
            do throws(LLMError) { entries.append(Entry(file: entry.file, info: try await service.cancel(id))) } catch {
                entries.append(Entry(file: entry.file, info: info, error: error))
            }
        }
        return entries
    }
}
