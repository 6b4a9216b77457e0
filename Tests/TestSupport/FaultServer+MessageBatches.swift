import Foundation
import LLMKit
import Synchronization

// Anthropic's Message Batches, in the shapes of the official SDK (PyPI `anthropic` 2.17.0,
// `types/messages/`): `POST /v1/messages/batches` takes `{"requests": [{"custom_id", "params"}]}`
// (`BatchCreateParams`); a `MessageBatch` has `id`, `type: message_batch`, `processing_status`
// (`in_progress`, `canceling`, `ended`), `request_counts` (`processing`, `succeeded`, `errored`,
// `canceled`, `expired`: all but `processing` zero until the batch ends), `created_at`,
// `expires_at`, `ended_at`, `cancel_initiated_at`, `archived_at` (RFC 3339) and `results_url` once
// ended. `GET .../{id}/results` is a `.jsonl` of `MessageBatchIndividualResponse` lines
// (`custom_id`, `result`: `succeeded` with a `message`, `errored` with an `ErrorResponse`,
// `canceled`, `expired`), one per request, in any order. `GET /v1/messages/batches?limit&after_id`
// pages newest first; `POST .../{id}/cancel` starts cancelling.
//
// The lifecycle, timing and faults are the Batch API's (`FaultServer+Batches.swift`): its
// `validating`, `in_progress` and `finalizing` phases all show as `in_progress`.

extension FaultServer.Core {
    func messageBatches(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        let base = "http://127.0.0.1:\(port.load(ordering: .relaxed))"
        if let problem = FaultServer.keyProblem(request, dialect: .anthropic, key: configuration.requiredKey) {
            return FaultServer.nativeError(.anthropic, status: 401, message: problem, headers: [], delay: 0)
        }
        return apiRequest(request) { store, now, parts in   // v1, messages, batches[, id[, cancel|results]]
            func notFound(_ id: String) -> LoopbackHTTPServer.Action {
                FaultServer.nativeError(.anthropic, status: 404, message: "No message batch with id '\(id)'.", headers: [], delay: 0)
            }
            func batch(_ i: Int) -> LoopbackHTTPServer.Action { .json(200, FaultServer.text(store.batches[i].messageBatchJSON(at: now, base: base))) }
            switch (request.method, parts.count) {
            case ("POST", 3):
                return createMessageBatch(request, in: &store, now: now, base: base)
            case ("GET", 3):
                let query = request.query
                let limit = min(1000, max(1, query["limit"].flatMap { Int($0) } ?? 20))
                var newestFirst = store.batches.reversed().filter { $0.dialect == .anthropic }
                if let after = query["after_id"], let i = newestFirst.firstIndex(where: { $0.id == after }) { newestFirst = Array(newestFirst[(i + 1)...]) }
                let page = Array(newestFirst.prefix(limit))
                let value: JSONValue = ["data": .array(page.map { $0.messageBatchJSON(at: now, base: base) }), "has_more": .bool(newestFirst.count > page.count),
                                        "first_id": page.first.map { .string($0.id) } ?? .null, "last_id": page.last.map { .string($0.id) } ?? .null]
                return .json(200, FaultServer.text(value))
            case ("GET", 4):
                guard let i = store.batchIndex[parts[3]], store.batches[i].dialect == .anthropic else { return notFound(parts[3]) }
                return batch(i)
            case ("POST", 5) where parts[4] == "cancel":
                store.counts.cancelRequests += 1
                guard let i = store.batchIndex[parts[3]], store.batches[i].dialect == .anthropic else { return notFound(parts[3]) }
                if ["validating", "in_progress", "finalizing"].contains(store.batches[i].phase(at: now).status) {
                    store.batches[i].cancelAt = now
                    store.refreshAll(now: now, configuration: configuration)
                }
                return batch(i)
            case ("GET", 5) where parts[4] == "results":
                guard let i = store.batchIndex[parts[3]], store.batches[i].dialect == .anthropic else { return notFound(parts[3]) }
                guard let id = store.batches[i].outputFileID, let file = store.files[id] else {
                    return FaultServer.nativeError(.anthropic, status: 400, message: "The message batch \(parts[3]) has not ended; its results are not available yet.", headers: [], delay: 0)
                }
                return .respond(status: 200, headers: [("Content-Type", "application/binary")], body: file.bytes)
            default:
                return FaultServer.nativeError(.anthropic, status: 404, message: "Not found: \(request.method) \(request.route)", headers: [], delay: 0)
            }
        }
    }

    /// Checks `requests` (non-empty, unique string `custom_id`s, `params` with `model`,
    /// `max_tokens` and `messages`: invalid input is refused with a 400 at once, as the API
    /// does) and plans the batch.
    private func createMessageBatch(_ request: LoopbackHTTPServer.Request, in store: inout FaultServer.BatchStore, now: Double, base: String) -> LoopbackHTTPServer.Action {
        func bad(_ message: String) -> LoopbackHTTPServer.Action { FaultServer.nativeError(.anthropic, status: 400, message: message, headers: [], delay: 0) }
        guard let body = try? StrictJSON.parse(bytes: request.body), let requests = body["requests"]?.arrayValue, !requests.isEmpty else {
            return bad("requests: Field required (a non-empty list)")
        }
        guard requests.count <= configuration.batches.maxLines else { return bad("requests: at most \(configuration.batches.maxLines) requests per batch") }
        var lines: [FaultServer.BatchLine] = []
        var seen: Set<String> = []
        for (i, entry) in requests.enumerated() {
            guard let customID = entry["custom_id"]?.stringValue, !customID.isEmpty else { return bad("requests.\(i).custom_id: Field required") }
            guard seen.insert(customID).inserted else { return bad("requests.\(i).custom_id: '\(customID)' is not unique in the batch") }
            guard let params = entry["params"], params["model"]?.stringValue != nil, params["max_tokens"]?.intValue != nil,
                  params["messages"]?.arrayValue != nil else { return bad("requests.\(i).params: model, max_tokens and messages are required") }
            lines.append(FaultServer.BatchLine(customID: customID, body: params, chat: FaultServer.ChatRequest(anthropic: params)))
        }
        for line in lines { store.counts.submitted[line.customID, default: 0] += 1 }
        var record = FaultServer.BatchRecord(id: store.newID("msgbatch_"), inputFileID: "", endpoint: "/v1/messages", completionWindow: "24h",
                                             metadata: .null, createdAt: now, configuration: configuration.batches)
        record.dialect = .anthropic
        let index = addBatch(record, lines: lines, errors: [], in: &store, now: now)
        return .json(200, FaultServer.text(store.batches[index].messageBatchJSON(at: now, base: base)))
    }
}

extension FaultServer.BatchRecord {
    /// The `MessageBatch` object.
    func messageBatchJSON(at now: Double, base: String) -> JSONValue {
        let p = phase(at: now)
        let ended = p.isFinal && written
        func time(_ key: String) -> JSONValue { p.times[key].map { .string(FaultServer.rfc3339($0)) } ?? .null }
        var counts: JSONObject = ["processing": .int(ended ? 0 : lines.count), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0]
        if ended {
            let succeeded = p.status == "failed" ? 0 : successPrefix[min(p.done, successPrefix.count - 1)]
            let ran = p.status == "failed" ? 0 : p.done
            counts["succeeded"] = .int(succeeded)
            counts["errored"] = .int(p.status == "failed" ? lines.count : ran - succeeded)
            counts["canceled"] = .int(p.status == "cancelled" ? lines.count - ran : 0)
            counts["expired"] = .int(p.status == "expired" ? lines.count - ran : 0)
        }
        let status = ended ? "ended" : cancelAt != nil ? "canceling" : "in_progress"
        let endedAt = p.times["completed_at"] ?? p.times["expired_at"] ?? p.times["cancelled_at"] ?? p.times["failed_at"]
        return ["id": .string(id), "type": "message_batch", "processing_status": .string(status), "request_counts": .object(counts),
                "created_at": time("created_at"), "expires_at": .string(FaultServer.rfc3339(createdAt + 86_400)),
                "ended_at": ended ? endedAt.map { .string(FaultServer.rfc3339($0)) } ?? .null : .null,
                "cancel_initiated_at": cancelAt.map { .string(FaultServer.rfc3339($0)) } ?? .null, "archived_at": .null,
                "results_url": ended ? .string("\(base)/v1/messages/batches/\(id)/results") : .null]
    }
}

extension FaultServer.BatchStore {
    /// The results file of an ended Message Batch: one `MessageBatchIndividualResponse` per request.
    mutating func writeMessageBatchResults(_ index: Int, phase: FaultServer.BatchPhase) {
        var batch = batches[index]
        batch.written = true
        defer { batches[index] = batch }
        var output: [UInt8] = []
        func line(_ customID: String, _ result: JSONValue, invalidUTF8: Bool = false) {
            output += FaultServer.render(["custom_id": .string(customID), "result": result], invalidUTF8: invalidUTF8) + [10]
        }
        func errored(_ status: Int, _ message: String) -> JSONValue {
            ["type": "errored", "error": FaultServer.nativeErrorBody(.anthropic, status: status, message: message)]
        }
        let ran = phase.status == "failed" ? 0 : phase.done
        forEachRanLine(of: batch, ran: ran) { input, result in
            switch result {
            case .serverError: line(input.customID, errored(500, "Internal server error (injected line_500)."))
            case .lineError: line(input.customID, errored(529, "Overloaded (injected line_error)."))
            case .badRequest: line(input.customID, errored(400, "expected a request whose answer is constrained to a schema with an items array"))
            case .reply(let chat, let reply):
                line(input.customID, ["type": "succeeded", "message": FaultServer.anthropicMessage(chat, reply)], invalidUTF8: reply.invalidUTF8)
            }
        }
        for position in ran..<batch.lines.count {
            let input = batch.lines[batch.order[position]]
            let kind = phase.status == "failed" ? "errored" : phase.status == "cancelled" ? "canceled" : "expired"
            if kind == "errored" { line(input.customID, errored(400, "The batch failed validation (injected).")) } else { line(input.customID, ["type": .string(kind)]) }
            counts.lineOutcomes["batch_\(kind)", default: 0] += 1
        }
        let file = FaultServer.StoredFile(id: newID("results_"), filename: "\(batch.id)_results.jsonl", purpose: "batch_output", bytes: output,
                                          createdAt: Int(batch.createdAt))
        add(file)
        batch.outputFileID = file.id
    }
}
