import Foundation
import LLMKit
import Synchronization

// Gemini's batch mode, in the shapes of the official SDK (PyPI `google-genai` 3.6.1,
// `batches.py`): `POST /v1beta/models/{model}:batchGenerateContent` takes `{"batch":
// {"displayName", "inputConfig": {"requests": {"requests": [{"request", "metadata"}]}}}}` and
// answers the batch: `{"name": "batches/ID", "metadata": {"@type", "model", "displayName",
// "state", "createTime", "updateTime", "endTime", "output": {"inlinedResponses":
// {"inlinedResponses": [{"response" | "error", "metadata"}]}}}, "done"}` with `state`
// `BATCH_STATE_PENDING`, `_RUNNING`, `_SUCCEEDED`, `_FAILED`, `_CANCELLED`, `_EXPIRED`;
// `GET /v1beta/batches/ID`, `GET /v1beta/batches?pageSize&pageToken` (`operations`,
// `nextPageToken`), `POST /v1beta/batches/ID:cancel` (answers `{}`).
//
// With ``FaultServer/BatchConfiguration/geminiResponsesFile`` an ended batch's output is a
// file instead (`_BatchJobDestination_from_mldev`: `"output": {"responsesFile": "files/NAME"}`),
// fetched as `files.download` does (`files.py`): `GET /v1beta/files/NAME:download?alt=media`,
// JSON Lines of `{"key", "response": GenerateContentResponse}` or `{"key", "error": JobError}`
// (the API's documentation: "each line is either a GenerateContentResponse or a status object";
// the SDK does not read the file). The first batch's file is followed by
// ``FaultServer/BatchConfiguration/outputPaddingBytes`` of padding lines, as OpenAI's.
//
// The lifecycle, timing and faults are the Batch API's (`FaultServer+Batches.swift`). Requests
// an expired or cancelled batch did not run have no inlined response.

extension FaultServer.Core {
    func geminiBatches(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        if let problem = FaultServer.keyProblem(request, dialect: .gemini, key: configuration.requiredKey) {
            return FaultServer.nativeError(.gemini, status: 401, message: problem, headers: [], delay: 0)
        }
        return apiRequest(request) { store, now, parts in   // v1beta, batches[, ID[:cancel]] | v1beta, models, M:batchGenerateContent
            func error(_ status: Int, _ message: String) -> LoopbackHTTPServer.Action { FaultServer.nativeError(.gemini, status: status, message: message, headers: [], delay: 0) }
            func index(_ id: Substring) -> Int? {
                store.batchIndex[String(id)].flatMap { store.batches[$0].dialect == .gemini ? $0 : nil }
            }
            if parts.count == 3, parts[1] == "files", request.method == "GET", parts[2].hasSuffix(":download") {
                let name = String(parts[2].dropLast(":download".count))
                guard request.query["alt"] == "media", let file = store.files[name] else { return error(404, "File files/\(name) not found.") }
                return FaultServer.fileContent(file)
            }
            if parts.count == 3, parts[1] == "models", request.method == "POST" { return createGeminiBatch(request, model: "models/" + parts[2].dropLast(":batchGenerateContent".count), in: &store, now: now) }
            switch (request.method, parts.count) {
            case ("GET", 2):
                let query = request.query
                let size = min(100, max(1, query["pageSize"].flatMap { Int($0) } ?? 50))
                var newestFirst = store.batches.reversed().filter { $0.dialect == .gemini }
                if let token = query["pageToken"], let i = newestFirst.firstIndex(where: { $0.id == token }) { newestFirst = Array(newestFirst[(i + 1)...]) }
                let page = Array(newestFirst.prefix(size))
                var value: JSONObject = ["operations": .array(page.map { $0.geminiBatchJSON(at: now, store: store) })]
                if newestFirst.count > page.count, let last = page.last { value["nextPageToken"] = .string(last.id) }
                return .json(200, FaultServer.text(.object(value)))
            case ("GET", 3):
                guard let i = index(Substring(parts[2])) else { return error(404, "Batch batches/\(parts[2]) not found.") }
                return .json(200, FaultServer.text(store.batches[i].geminiBatchJSON(at: now, store: store)))
            case ("POST", 3) where parts[2].hasSuffix(":cancel"):
                store.counts.cancelRequests += 1
                guard let i = index(parts[2].dropLast(":cancel".count)) else { return error(404, "Batch not found.") }
                if ["validating", "in_progress", "finalizing"].contains(store.batches[i].phase(at: now).status) {
                    store.batches[i].cancelAt = now
                    store.refreshAll(now: now, configuration: configuration)
                }
                return .json(200, "{}")
            default:
                return error(404, "Not found: \(request.method) \(request.route)")
            }
        }
    }

    private func createGeminiBatch(_ request: LoopbackHTTPServer.Request, model: String, in store: inout FaultServer.BatchStore, now: Double) -> LoopbackHTTPServer.Action {
        func bad(_ message: String) -> LoopbackHTTPServer.Action { FaultServer.nativeError(.gemini, status: 400, message: message, headers: [], delay: 0) }
        guard let body = try? StrictJSON.parse(bytes: request.body), let batch = body["batch"],
              let requests = batch["inputConfig"]?["requests"]?["requests"]?.arrayValue, !requests.isEmpty else {
            return bad("batch.inputConfig.requests.requests: a non-empty list is required")
        }
        guard requests.count <= configuration.batches.maxLines else { return bad("at most \(configuration.batches.maxLines) requests per batch") }
        var lines: [FaultServer.BatchLine] = []
        var seen: Set<String> = []
        for (i, entry) in requests.enumerated() {
            guard let key = entry["metadata"]?["key"]?.stringValue, seen.insert(key).inserted else { return bad("requests[\(i)].metadata.key: missing or not unique") }
            guard let params = entry["request"], params["contents"]?.arrayValue != nil else { return bad("requests[\(i)].request.contents is required") }
            let chat = FaultServer.ChatRequest(gemini: params, route: "/v1beta/\(model):generateContent")
            lines.append(FaultServer.BatchLine(customID: key, body: params, chat: chat))
        }
        for line in lines { store.counts.submitted[line.customID, default: 0] += 1 }
        var record = FaultServer.BatchRecord(id: store.newID("gb"), inputFileID: batch["displayName"]?.stringValue ?? "", endpoint: model,
                                             completionWindow: "24h", metadata: .null, createdAt: now, configuration: configuration.batches)
        record.dialect = .gemini
        let index = addBatch(record, lines: lines, errors: [], in: &store, now: now)
        return .json(200, FaultServer.text(store.batches[index].geminiBatchJSON(at: now, store: store)))
    }
}

extension FaultServer.BatchRecord {
    /// The batch object (a long-running operation whose metadata is the batch).
    func geminiBatchJSON(at now: Double, store: FaultServer.BatchStore) -> JSONValue {
        let p = phase(at: now)
        let ended = p.isFinal && written
        let state: String = switch p.status {
        case "validating": "BATCH_STATE_PENDING"
        case "completed": ended ? "BATCH_STATE_SUCCEEDED" : "BATCH_STATE_RUNNING"
        case "failed": ended ? "BATCH_STATE_FAILED" : "BATCH_STATE_RUNNING"
        case "cancelled": ended ? "BATCH_STATE_CANCELLED" : "BATCH_STATE_RUNNING"
        case "expired": ended ? "BATCH_STATE_EXPIRED" : "BATCH_STATE_RUNNING"
        default: "BATCH_STATE_RUNNING"
        }
        func time(_ t: Double) -> JSONValue { .string(FaultServer.rfc3339(t)) }
        var metadata: JSONObject = ["@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch", "model": .string(endpoint),
                                    "displayName": .string(inputFileID), "state": .string(state), "createTime": time(createdAt), "updateTime": time(now)]
        let endedAt = p.times["completed_at"] ?? p.times["expired_at"] ?? p.times["cancelled_at"] ?? p.times["failed_at"]
        if ended, let endedAt { metadata["endTime"] = time(endedAt) }
        if ended, let id = outputFileID, let file = store.files[id] {
            if configuration.geminiResponsesFile {
                metadata["output"] = ["responsesFile": .string("files/" + id)]
            } else if let responses = try? StrictJSON.parse(bytes: file.bytes) {
                metadata["output"] = ["inlinedResponses": ["inlinedResponses": responses]]
            }
        }
        return ["name": .string("batches/\(id)"), "metadata": .object(metadata), "done": .bool(ended)]
    }
}

extension FaultServer.BatchStore {
    /// The inlined responses of an ended Gemini batch (a JSON array, kept as a stored file).
    mutating func writeGeminiBatchResults(_ index: Int, phase: FaultServer.BatchPhase) {
        var batch = batches[index]
        batch.written = true
        defer { batches[index] = batch }
        var responses: [JSONValue] = []
        // An inlined error is a `JobError` (`types.py`): code, message, details; the code is
        // google.rpc's (3 INVALID_ARGUMENT, 13 INTERNAL, 14 UNAVAILABLE).
        func error(_ status: Int, _ message: String) -> JSONValue {
            ["code": .int([400: 3, 500: 13, 503: 14][status] ?? 13), "message": .string(message)]
        }
        let ran = phase.status == "failed" ? 0 : phase.done
        forEachRanLine(of: batch, ran: ran) { input, result in
            let metadata: JSONValue = ["key": .string(input.customID)]
            switch result {
            case .serverError: responses.append(["error": error(500, "Internal error (injected line_500)."), "metadata": metadata])
            case .lineError: responses.append(["error": error(503, "The service is unavailable (injected line_error)."), "metadata": metadata])
            case .badRequest: responses.append(["error": error(400, "responseMimeType application/json with a schema is required"), "metadata": metadata])
            case .reply(let chat, let reply): responses.append(["response": FaultServer.geminiResponse(chat, reply), "metadata": metadata])
            }
        }
        guard phase.status != "failed" else { return }
        var file: FaultServer.StoredFile
        if batch.configuration.geminiResponsesFile {
            // A file name as the API gives them: lower-case letters and digits (`t_file_name`).
            let bytes = responses.flatMap { entry -> [UInt8] in
                var line: JSONObject = ["key": entry["metadata"]?["key"] ?? .null]
                if let response = entry["response"] { line["response"] = response }
                if let error = entry["error"] { line["error"] = error }
                return FaultServer.render(.object(line)) + [0x0A]
            }
            file = FaultServer.StoredFile(id: newID("batch", length: 20).lowercased(), filename: "\(batch.id)_responses.jsonl", purpose: "batch_output",
                                          bytes: bytes, createdAt: Int(batch.createdAt))
            if index == 0 { file.padding = batch.configuration.outputPaddingBytes }
        } else {
            file = FaultServer.StoredFile(id: newID("responses_"), filename: "\(batch.id)_responses.json", purpose: "batch_output",
                                          bytes: FaultServer.render(.array(responses)), createdAt: Int(batch.createdAt))
        }
        add(file)
        batch.outputFileID = file.id
    }
}
