import Foundation
import LLMKit
import Synchronization

// The Batch API. Shapes from OpenAI's OpenAPI description (openai/openai-openapi, openapi.yaml:
// path `/batches`, schemas `Batch`, `BatchRequestInput`, `BatchRequestOutput`,
// `ListBatchesResponse`).
//
// - `POST /v1/batches` takes `input_file_id`, `endpoint` and `completion_window` (required;
//   "Currently only `24h` is supported") and optional `metadata` (a map of strings); this server
//   supports the endpoint `/v1/chat/completions` only.
// - `Batch`: `id`, `object` ("always `batch`"), `endpoint`, `errors` (`{object: "list", data:
//   [{code, message, param, line}]}`), `input_file_id`, `completion_window`, `status` (one of
//   `validating`, `failed`, `in_progress`, `finalizing`, `completed`, `expired`, `cancelling`,
//   `cancelled`), `output_file_id` ("The ID of the file containing the outputs of successfully
//   executed requests."), `error_file_id` ("... the outputs of requests with errors."),
//   `created_at`, `in_progress_at`, `expires_at`, `finalizing_at`, `completed_at`, `failed_at`,
//   `expired_at`, `cancelling_at`, `cancelled_at` (Unix seconds or null), `request_counts`
//   (`total`, `completed` "completed successfully", `failed`), `metadata`.
// - `BatchRequestInput`, "The per-line object of the batch input file": `custom_id` ("Must be
//   unique for each request in a batch."), `method` (`POST` only), `url`, and the `body`.
// - `BatchRequestOutput`, "The per-line object of the batch output and error files": `id`,
//   `custom_id`, `response` (nullable: `status_code`, `request_id`, `body`), `error` (nullable,
//   "For requests that failed with a non-HTTP error": `code`, `message`).
// - `POST /v1/batches/{id}/cancel`: "The batch will be in status `cancelling` for up to 10
//   minutes, before changing to `cancelled`, where it will have partial results (if any)
//   available in the output file."
// - `GET /v1/batches?after=&limit=` (limit default 20): `{object: "list", data, first_id,
//   last_id, has_more}`.
//
// The validation error codes `invalid_json_line`, `duplicate_custom_id`, `url_mismatch`,
// `model_mismatch`, `empty_file` and `too_many_tasks` are the ones OpenAI documents; this
// server adds `missing_required_parameter`, `invalid_value` (method not POST, body not an
// object) and `file_too_large` for the other checks.
//
// The lifecycle is computed from the clock whenever a batch is looked at (no background
// thread): `validating` for `validatingDelay`, then `failed` (invalid input) or `in_progress`
// for `inProgressDelay` (request_counts.completed grows linearly), `finalizing` for
// `finalizingDelay`, then `completed`. The result files are written when a batch is first seen
// in a final state.

extension FaultServer {
    /// The Batch API's timing, limits and faults.
    public struct BatchConfiguration: Sendable, Equatable {
        /// Seconds a batch spends `validating`.
        public var validatingDelay: Double = 0.2
        /// Seconds a batch spends `in_progress` (its lines finish evenly over this time).
        public var inProgressDelay: Double = 1
        /// Seconds a batch spends `finalizing`.
        public var finalizingDelay: Double = 0.2
        /// Seconds a cancelled batch spends `cancelling`.
        public var cancellingDelay: Double = 0.2
        /// Requests per input file (OpenAI: 50,000).
        public var maxLines = 50_000
        /// Bytes per input file (REFERENCE.md 4: 200 MB; the OpenAPI description at commit
        /// 5780008 still said 100 MB).
        public var maxFileBytes = 200 * 1024 * 1024
        /// Whether an expired batch's unfinished lines appear in its error file as
        /// `batch_expired` errors (otherwise they are absent from both files).
        public var expiredLinesInErrorFile = false
        /// Whether a cancelled batch's lines that did not run appear in its error file as
        /// `batch_cancelled` errors (otherwise they are absent from both files).
        public var cancelledLinesInErrorFile = false
        /// Bytes of padding lines (`{"padding":"..."}`, no `custom_id`) served after the
        /// lines of the first batch's output file, generated while they are sent (never
        /// held): a huge or, with `Int.max`, endless output file.
        public var outputPaddingBytes = 0
        /// Gemini batches: an ended batch's output is a responses file (`output.responsesFile`,
        /// fetched from `/v1beta/files/NAME:download?alt=media`) instead of inlined responses.
        public var geminiResponsesFile = false
        /// Faults injected into batches and their lines.
        public var faults = BatchFaults()
        /// The defaults: 0.2 s validating, 1 s in progress, 0.2 s finalizing, 0.2 s cancelling, no faults.
        public init() {}

        /// The phase delays from `V,I,F` or `V,I,F,C` (seconds).
        public static func parseDelays(_ text: String) throws -> (validating: Double, inProgress: Double, finalizing: Double, cancelling: Double?) {
            let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard (3...4).contains(values.count), values.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw ServerError("'\(text)' is not V,I,F[,C]: validating, in-progress, finalizing[, cancelling] seconds")
            }
            return (values[0]!, values[1]!, values[2]!, values.count == 4 ? values[3]! : nil)
        }
    }

    /// Faults of the Batch API, drawn from the server's seed (batch by batch, line by line).
    public struct BatchFaults: Sendable, Equatable {
        /// Probability that a batch expires before it is done (status `expired`; the output
        /// file holds the finished lines, the rest are absent).
        public var expire: Double = 0
        /// The share of its lines an expiring batch finishes.
        public var expireAt: Double = 0.5
        /// Batches (1-based, in creation order) that expire whatever ``expire`` draws.
        public var expireBatches: Set<Int> = []
        /// Probability that a batch whose input is valid fails validation anyway (status
        /// `failed`, `errors.data` with `token_limit_exceeded`, as when too many tokens are
        /// enqueued).
        public var failValidation: Double = 0
        /// Per line: answered with `response.status_code` 500 in the error file.
        public var lineServerError: Double = 0
        /// Per line: `"response": null` and an `error` object in the error file.
        public var lineError: Double = 0
        /// Per line: a content fault of the chat endpoint (``lineFaults``) in the output file.
        public var lineMix: [Fault: Double] = [:]
        /// No faults.
        public init() {}

        /// The chat faults a batch line can get: those that change a 200 answer's content.
        public static let lineFaults: Set<Fault> = [.truncated, .refusal, .prose, .wrongCount, .duplicateIndex, .invalidDistribution, .invalidUTF8, .zeroTiny, .runaway]

        /// Parses `expire=0.2,expire_at=0.5,fail=0.1,line_500=0.02,line_error=0.01,prose=0.02,...`:
        /// `expire`, `fail` are probabilities per batch, `expire_batch=N` makes the N-th batch
        /// created expire (repeatable), `expire_at` a share of lines, the
        /// rest weights per line (adding up to at most 1) of `line_500`, `line_error` and the
        /// ``lineFaults``.
        public static func parse(_ text: String) throws -> BatchFaults {
            var faults = BatchFaults()
            for part in text.split(separator: ",") where !part.isEmpty {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[0] == "expire_batch" {
                    guard let number = Int(pair[1]), number >= 1 else { throw ServerError("'\(part)' is not expire_batch=N with N >= 1") }
                    faults.expireBatches.insert(number)
                    continue
                }
                guard pair.count == 2, let value = Double(pair[1]), value >= 0, value <= 1 else {
                    throw ServerError("'\(part)' is not NAME=VALUE with a value in [0, 1]")
                }
                switch pair[0] {
                case "expire": faults.expire = value
                case "expire_at": faults.expireAt = value
                case "fail": faults.failValidation = value
                case "line_500": faults.lineServerError = value
                case "line_error": faults.lineError = value
                default:
                    guard let fault = Fault(rawValue: pair[0]), lineFaults.contains(fault) else {
                        let names = ["expire", "expire_at", "fail", "line_500", "line_error"] + lineFaults.map(\.rawValue).sorted()
                        throw ServerError("'\(pair[0])' is not a batch fault (one of: \(names.joined(separator: ", ")))")
                    }
                    faults.lineMix[fault] = value
                }
            }
            guard faults.lineServerError + faults.lineError + faults.lineMix.values.reduce(0, +) <= 1 + 1e-9 else {
                throw ServerError("the per-line batch fault weights add up to more than 1")
            }
            return faults
        }
    }

    /// What the Files and Batch APIs saw.
    public struct BatchCounts: Sendable, Equatable {
        /// Requests to `/v1/files` and `/v1/batches`.
        public var apiRequests = 0
        /// Files uploaded with `POST /v1/files`.
        public var filesUploaded = 0
        /// Their bytes.
        public var bytesUploaded = 0
        /// Batches created (whatever became of them).
        public var batchesCreated = 0
        /// `POST /v1/batches/{id}/cancel` requests.
        public var cancelRequests = 0
        /// Batches by their status now.
        public var statuses: [String: Int] = [:]
        /// Lines written to result files, by outcome: a chat fault name (`none` for a good
        /// answer), `line_500`, `line_error`, `bad_request` (a body the generator cannot
        /// answer) or `batch_expired`.
        public var lineOutcomes: [String: Int] = [:]
        /// custom_id → how many created batches contained it.
        public var submitted: [String: Int] = [:]
        /// custom_id → how many times it was answered with status 200 in an output file.
        public var answered: [String: Int] = [:]
        /// custom_id → how many times it appeared in an error file.
        public var errored: [String: Int] = [:]
        /// Nothing seen yet.
        public init() {}
    }

    /// A line's planned outcome.
    enum LineFault: Sendable {
        case content(Fault)
        case serverError
        case error
    }

    struct BatchLine: Sendable {
        var customID: String
        var body: JSONValue
        /// The body as the content generator reads it (`nil`: answered 400).
        var chat: ChatRequest?
    }

    /// Where a batch is at one moment.
    struct BatchPhase {
        var status: String
        /// Lines finished (in processing order).
        var done: Int
        var total: Int
        var times: [String: Double] = [:]
        var isFinal: Bool { ["completed", "expired", "cancelled", "failed"].contains(status) }
    }

    struct BatchRecord: Sendable {
        let id: String
        let inputFileID: String
        let endpoint: String
        let completionWindow: String
        let metadata: JSONValue
        let createdAt: Double
        let configuration: BatchConfiguration
        var lines: [BatchLine] = []
        /// `errors.data` entries; non-empty: the batch fails after validating.
        var errors: [JSONValue] = []
        /// Input indices in processing (and output) order.
        var order: [Int] = []
        /// Planned outcome per processing position.
        var plan: [LineFault] = []
        /// Successful lines among the first k processing positions.
        var successPrefix: [Int] = [0]
        var expireAt: Double?
        var cancelAt: Double?
        var outputFileID: String?
        var errorFileID: String?
        var written = false
        /// `anthropic`: a Message Batch (its JSON and result lines in Anthropic's shapes).
        var dialect = Dialect.openAI

        func phase(at now: Double) -> BatchPhase {
            let c = configuration
            let validated = createdAt + c.validatingDelay
            let n = lines.count
            var times = ["created_at": createdAt]
            func done(at t: Double) -> Int {
                guard t > validated else { return 0 }
                guard c.inProgressDelay > 0 else { return n }
                return min(n, Int((Double(n) * (t - validated) / c.inProgressDelay).rounded(.down)))
            }
            if let cancelled = cancelAt {
                times["cancelling_at"] = cancelled
                let started = cancelled >= validated && errors.isEmpty
                if started { times["in_progress_at"] = validated }
                let status: String
                if now < cancelled + c.cancellingDelay { status = "cancelling" } else {
                    status = "cancelled"
                    times["cancelled_at"] = cancelled + c.cancellingDelay
                }
                return BatchPhase(status: status, done: started ? done(at: cancelled) : 0, total: started ? n : 0, times: times)
            }
            if now < validated { return BatchPhase(status: "validating", done: 0, total: 0, times: times) }
            if !errors.isEmpty {
                times["failed_at"] = validated
                return BatchPhase(status: "failed", done: 0, total: 0, times: times)
            }
            times["in_progress_at"] = validated
            let processed = validated + c.inProgressDelay
            if let share = expireAt {
                let expired = validated + share * c.inProgressDelay
                if now >= expired {
                    times["expired_at"] = expired
                    return BatchPhase(status: "expired", done: min(n, Int((Double(n) * share).rounded(.down))), total: n, times: times)
                }
            }
            if now < processed { return BatchPhase(status: "in_progress", done: done(at: now), total: n, times: times) }
            times["finalizing_at"] = processed
            if now < processed + c.finalizingDelay { return BatchPhase(status: "finalizing", done: n, total: n, times: times) }
            times["completed_at"] = processed + c.finalizingDelay
            return BatchPhase(status: "completed", done: n, total: n, times: times)
        }

        func json(at now: Double) -> JSONValue {
            let p = phase(at: now)
            func time(_ key: String) -> JSONValue { p.times[key].map { .int(Int($0.rounded(.down))) } ?? .null }
            let completed = successPrefix[min(p.done, successPrefix.count - 1)]
            var object: JSONObject = ["id": .string(id), "object": "batch", "endpoint": .string(endpoint)]
            object["errors"] = p.status == "failed" ? ["object": "list", "data": .array(errors)] : .null
            object["input_file_id"] = .string(inputFileID)
            object["completion_window"] = .string(completionWindow)
            object["status"] = .string(p.status)
            object["output_file_id"] = written ? outputFileID.map(JSONValue.string) ?? .null : .null
            object["error_file_id"] = written ? errorFileID.map(JSONValue.string) ?? .null : .null
            object["created_at"] = time("created_at")
            object["in_progress_at"] = time("in_progress_at")
            object["expires_at"] = .int(Int(createdAt.rounded(.down)) + 86_400)
            for key in ["finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at"] { object[key] = time(key) }
            object["request_counts"] = ["total": .int(p.total), "completed": .int(completed), "failed": .int(p.done - completed)]
            object["metadata"] = metadata
            return .object(object)
        }
    }

    /// Files and batches, behind one lock.
    struct BatchStore: Sendable {
        var files: [String: StoredFile] = [:]
        var fileOrder: [String] = []
        var batches: [BatchRecord] = []
        var batchIndex: [String: Int] = [:]
        var counts = BatchCounts()
        var ids: SplitMix64
        let seed: UInt64

        init(seed: UInt64) {
            self.seed = seed
            ids = SplitMix64(seed: seed &* 0xD1B5_4A32_D192_ED03 | 1)
        }

        mutating func newID(_ prefix: String, length: Int = 24) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            var text = prefix
            for _ in 0..<length { text.append(alphabet[Int(ids.next() % UInt64(alphabet.count))]) }
            return text
        }

        mutating func add(_ file: StoredFile) {
            files[file.id] = file
            fileOrder.append(file.id)
        }

        /// The first `ran` lines of `batch` in processing order with their planned outcome,
        /// counted (answered, errored, by outcome) for every wire format alike.
        mutating func forEachRanLine(of batch: BatchRecord, ran: Int, _ emit: (BatchLine, LineResult) -> Void) {
            for position in 0..<ran {
                let input = batch.lines[batch.order[position]]
                let outcome: String
                switch batch.plan[position] {
                case .serverError:
                    outcome = "line_500"
                    emit(input, .serverError)
                case .error:
                    outcome = "line_error"
                    emit(input, .lineError)
                case .content(let fault):
                    guard let chat = input.chat, let reply = FaultServer.reply(fault, for: chat) else {
                        outcome = "bad_request"
                        emit(input, .badRequest)
                        break
                    }
                    outcome = fault.rawValue
                    emit(input, .reply(chat, reply))
                    counts.answered[input.customID, default: 0] += 1
                }
                if ["bad_request", "line_500", "line_error"].contains(outcome) { counts.errored[input.customID, default: 0] += 1 }
                counts.lineOutcomes[outcome, default: 0] += 1
            }
        }

        /// Writes the result files of every batch that has reached a final state and
        /// recounts the statuses.
        mutating func refreshAll(now: Double, configuration: Configuration) {
            var statuses: [String: Int] = [:]
            for i in batches.indices {
                let phase = batches[i].phase(at: now)
                statuses[phase.status, default: 0] += 1
                if phase.isFinal && !batches[i].written { writeResults(i, phase: phase) }
            }
            counts.statuses = statuses
        }

        /// The output and error files of a batch in a final state: the finished lines in
        /// processing order, answered by the chat endpoint's content generator.
        mutating func writeResults(_ index: Int, phase: BatchPhase) {
            if batches[index].dialect == .anthropic { return writeMessageBatchResults(index, phase: phase) }
            if batches[index].dialect == .gemini { return writeGeminiBatchResults(index, phase: phase) }
            var batch = batches[index]
            batch.written = true
            defer { batches[index] = batch }
            guard phase.status != "failed" else { return }
            let created = Int((phase.times["completed_at"] ?? phase.times["expired_at"] ?? phase.times["cancelled_at"] ?? batch.createdAt).rounded(.down))
            var output: [UInt8] = []
            var errorsFile: [UInt8] = []
            func line(_ customID: String, response: JSONValue, error: JSONValue, invalidUTF8: Bool = false) -> [UInt8] {
                let value: JSONValue = ["id": .string(newID("batch_req_", length: 32)), "custom_id": .string(customID), "response": response, "error": error]
                return FaultServer.render(value, invalidUTF8: invalidUTF8) + [10]
            }
            func response(_ status: Int, _ body: JSONValue) -> JSONValue {
                ["status_code": .int(status), "request_id": .string(newID("req_", length: 32)), "body": body]
            }
            func errorBody(_ message: String, _ type: String) -> JSONValue {
                ["error": ["message": .string(message), "type": .string(type), "param": .null, "code": .null]]
            }
            var ran: [(BatchLine, LineResult)] = []
            forEachRanLine(of: batch, ran: phase.done) { ran.append(($0, $1)) }
            for (input, result) in ran {
                switch result {
                case .serverError:
                    errorsFile += line(input.customID, response: response(500, errorBody("The server had an error while processing your request. Sorry about that!", "server_error")), error: .null)
                case .lineError:
                    errorsFile += line(input.customID, response: .null, error: ["code": "internal_error", "message": "The request could not be executed (injected line_error)."])
                case .badRequest:
                    errorsFile += line(input.customID, response: response(400, errorBody("expected a chat completion with a json_schema response_format", "invalid_request_error")), error: .null)
                case .reply(let chat, let reply):
                    output += line(input.customID, response: response(200, FaultServer.completion(chat, reply, created: created)), error: .null, invalidUTF8: reply.invalidUTF8)
                }
            }
            if phase.status == "expired" && batch.configuration.expiredLinesInErrorFile {
                for position in phase.done..<batch.lines.count {
                    let input = batch.lines[batch.order[position]]
                    errorsFile += line(input.customID, response: .null,
                                       error: ["code": "batch_expired", "message": "This request could not be executed before the completion window expired."])
                    counts.errored[input.customID, default: 0] += 1
                    counts.lineOutcomes["batch_expired", default: 0] += 1
                }
            }
            if phase.status == "cancelled" && batch.configuration.cancelledLinesInErrorFile && phase.total > 0 {
                for position in phase.done..<batch.lines.count {
                    let input = batch.lines[batch.order[position]]
                    errorsFile += line(input.customID, response: .null,
                                       error: ["code": "batch_cancelled", "message": "This request could not be executed before the batch was cancelled."])
                    counts.errored[input.customID, default: 0] += 1
                    counts.lineOutcomes["batch_cancelled", default: 0] += 1
                }
            }
            if !output.isEmpty {
                var file = StoredFile(id: newID("file-"), filename: "\(batch.id)_output.jsonl", purpose: "batch_output", bytes: output, createdAt: created)
                if index == 0 { file.padding = batch.configuration.outputPaddingBytes }
                add(file)
                batch.outputFileID = file.id
            }
            if !errorsFile.isEmpty {
                let file = StoredFile(id: newID("file-"), filename: "\(batch.id)_error.jsonl", purpose: "batch_output", bytes: errorsFile, createdAt: created)
                add(file)
                batch.errorFileID = file.id
            }
        }
    }

    /// What became of one line a batch ran.
    enum LineResult {
        case serverError
        case lineError
        /// The body is not one the content generator answers.
        case badRequest
        case reply(ChatRequest, Reply)
    }

    /// Checks a batch input file line by line: JSON object, `custom_id` (string, unique),
    /// `method` POST, `url` equal to the endpoint, `body` an object with a string `model` (the
    /// same on every line) and an array `messages`; at most `maxLines` lines and
    /// `maxFileBytes` bytes. Returns the lines, or the `errors.data` entries (one per bad
    /// line, at most 1,000).
    static func validateBatchInput(_ bytes: [UInt8], endpoint: String, configuration: BatchConfiguration) -> (lines: [BatchLine], errors: [JSONValue]) {
        func error(_ code: String, _ message: String, param: String? = nil, line: Int? = nil) -> JSONValue {
            ["code": .string(code), "message": .string(message), "param": param.map(JSONValue.string) ?? .null, "line": line.map(JSONValue.int) ?? .null]
        }
        if bytes.count > configuration.maxFileBytes {
            return ([], [error("file_too_large", "The input file is \(bytes.count) bytes; the limit is \(configuration.maxFileBytes) bytes.")])
        }
        var ranges: [Range<Int>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == 10 {
            ranges.append(start..<i)
            start = i + 1
        }
        if start < bytes.count { ranges.append(start..<bytes.count) }
        ranges = ranges.map { r in r.count > 0 && bytes[r.upperBound - 1] == 13 ? r.lowerBound..<(r.upperBound - 1) : r }
        if ranges.allSatisfy(\.isEmpty) { return ([], [error("empty_file", "The input file is empty.")]) }
        if ranges.count > configuration.maxLines {
            return ([], [error("too_many_tasks", "The input file has \(ranges.count) requests; a batch can have at most \(configuration.maxLines).")])
        }
        var lines: [BatchLine] = []
        var errors: [JSONValue] = []
        var seen: Set<String> = []
        var model: String?
        for (i, range) in ranges.enumerated() {
            let number = i + 1
            func fail(_ code: String, _ message: String, param: String? = nil) {
                if errors.count < 1000 { errors.append(error(code, message, param: param, line: number)) }
            }
            guard let value = try? StrictJSON.parse(bytes: Array(bytes[range])), value.objectValue != nil else {
                fail("invalid_json_line", "This line is not parseable as valid JSON.")
                continue
            }
            guard let idValue = value["custom_id"] else { fail("missing_required_parameter", "Missing required parameter: 'custom_id'.", param: "custom_id"); continue }
            guard let customID = idValue.stringValue else { fail("invalid_value", "'custom_id' must be a string.", param: "custom_id"); continue }
            guard !seen.contains(customID) else {
                fail("duplicate_custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.", param: "custom_id")
                continue
            }
            seen.insert(customID)
            guard let method = value["method"] else { fail("missing_required_parameter", "Missing required parameter: 'method'.", param: "method"); continue }
            guard method.stringValue == "POST" else { fail("invalid_value", "The method must be 'POST'.", param: "method"); continue }
            guard let url = value["url"] else { fail("missing_required_parameter", "Missing required parameter: 'url'.", param: "url"); continue }
            guard url.stringValue == endpoint else {
                fail("url_mismatch", "The URL provided for this request does not match the batch endpoint '\(endpoint)'.", param: "url")
                continue
            }
            guard let body = value["body"] else { fail("missing_required_parameter", "Missing required parameter: 'body'.", param: "body"); continue }
            guard body.objectValue != nil else { fail("invalid_value", "'body' must be an object.", param: "body"); continue }
            guard let lineModel = body["model"]?.stringValue else { fail("missing_required_parameter", "Missing required parameter: 'body.model'.", param: "body.model"); continue }
            guard body["messages"]?.arrayValue != nil else { fail("missing_required_parameter", "Missing required parameter: 'body.messages'.", param: "body.messages"); continue }
            if let model, model != lineModel {
                fail("model_mismatch", "The provided model '\(lineModel)' does not match the model '\(model)' of the other requests in this batch; a batch must use one model.", param: "body.model")
                continue
            }
            model = model ?? lineModel
            lines.append(BatchLine(customID: customID, body: body, chat: ChatRequest(body)))
        }
        return (errors.isEmpty ? lines : [], errors)
    }
}

extension FaultServer.Core {
    /// The common start of every Files and Batches API request: counted, every batch brought up
    /// to `now`, then `route` runs on the store with the route's path components.
    func apiRequest(_ request: LoopbackHTTPServer.Request,
                    _ route: (inout FaultServer.BatchStore, _ now: Double, _ parts: [String]) -> LoopbackHTTPServer.Action) -> LoopbackHTTPServer.Action {
        let now = configuration.clock()
        let parts = request.route.split(separator: "/").map(String.init)
        return store.withLock { store -> LoopbackHTTPServer.Action in
            store.counts.apiRequests += 1
            store.refreshAll(now: now, configuration: configuration)
            return route(&store, now, parts)
        }
    }

    /// OpenAI's answer to a method and route it does not serve.
    static func invalidURL(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        .json(404, FaultServer.errorBody("Invalid URL (\(request.method) \(request.route))", type: "invalid_request_error", code: nil))
    }

    func batches(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        apiRequest(request) { store, now, parts in   // v1, batches[, id[, cancel]]
            func notFound(_ id: String) -> LoopbackHTTPServer.Action {
                .json(404, FaultServer.errorBody("No batch found with id '\(id)'.", type: "invalid_request_error", param: "batch_id", code: nil))
            }
            switch (request.method, parts.count) {
            case ("POST", 2):
                return create(request, in: &store, now: now)
            case ("GET", 2):
                return list(request, store: store, now: now)
            case ("GET", 3):
                guard let i = store.batchIndex[parts[2]] else { return notFound(parts[2]) }
                return .json(200, FaultServer.text(store.batches[i].json(at: now)))
            case ("POST", 4) where parts[3] == "cancel":
                store.counts.cancelRequests += 1
                guard let i = store.batchIndex[parts[2]] else { return notFound(parts[2]) }
                let status = store.batches[i].phase(at: now).status
                switch status {
                case "validating", "in_progress":
                    store.batches[i].cancelAt = now
                    store.refreshAll(now: now, configuration: configuration)
                case "cancelling":
                    break
                default:
                    return .json(400, FaultServer.errorBody("Cannot cancel a batch with status '\(status)'.", type: "invalid_request_error", code: nil))
                }
                return .json(200, FaultServer.text(store.batches[i].json(at: now)))
            default:
                return Self.invalidURL(request)
            }
        }
    }

    private func create(_ request: LoopbackHTTPServer.Request, in store: inout FaultServer.BatchStore, now: Double) -> LoopbackHTTPServer.Action {
        func bad(_ message: String, param: String?, code: String? = nil) -> LoopbackHTTPServer.Action {
            .json(400, FaultServer.errorBody(message, type: "invalid_request_error", param: param, code: code))
        }
        guard let body = try? StrictJSON.parse(bytes: request.body), body.objectValue != nil else { return bad("The body must be a JSON object.", param: nil) }
        guard let fileID = body["input_file_id"]?.stringValue else { return bad("Missing required parameter: 'input_file_id'.", param: "input_file_id", code: "missing_required_parameter") }
        guard let endpoint = body["endpoint"]?.stringValue else { return bad("Missing required parameter: 'endpoint'.", param: "endpoint", code: "missing_required_parameter") }
        guard endpoint == "/v1/chat/completions" else {
            return bad("Invalid value for 'endpoint': this server supports only '/v1/chat/completions'.", param: "endpoint", code: "invalid_value")
        }
        guard let window = body["completion_window"]?.stringValue else {
            return bad("Missing required parameter: 'completion_window'.", param: "completion_window", code: "missing_required_parameter")
        }
        guard window == "24h" else { return bad("Invalid value for 'completion_window': only '24h' is supported.", param: "completion_window", code: "invalid_value") }
        let metadata = body["metadata"] ?? .null
        if metadata != .null {
            guard let object = metadata.objectValue, object.allSatisfy({ $0.value.stringValue != nil }) else {
                return bad("'metadata' must be an object of strings.", param: "metadata", code: "invalid_value")
            }
        }
        guard let file = store.files[fileID] else {
            return .json(404, FaultServer.errorBody("No such File object: \(fileID)", type: "invalid_request_error", param: "input_file_id", code: nil))
        }
        guard file.purpose == "batch" else { return bad("The input file must have purpose 'batch', not '\(file.purpose)'.", param: "input_file_id", code: "invalid_value") }

        let c = configuration.batches
        let record = FaultServer.BatchRecord(id: store.newID("batch_"), inputFileID: fileID, endpoint: endpoint, completionWindow: window,
                                             metadata: metadata, createdAt: now, configuration: c)
        let (lines, errors) = FaultServer.validateBatchInput(file.bytes, endpoint: endpoint, configuration: c)
        // Every custom_id of the file counts as submitted, valid or not.
        for line in (errors.isEmpty ? lines.map(\.customID) : Self.customIDs(in: file.bytes)) { store.counts.submitted[line, default: 0] += 1 }
        let index = addBatch(record, lines: lines, errors: errors, in: &store, now: now)
        return .json(200, FaultServer.text(store.batches[index].json(at: now)))
    }

    /// Plans a batch over validated `lines` (a seeded processing order, fault draws, an outcome
    /// per line), stores it and returns its index.
    func addBatch(_ record: FaultServer.BatchRecord, lines: [FaultServer.BatchLine], errors: [JSONValue], in store: inout FaultServer.BatchStore, now: Double) -> Int {
        var record = record
        let c = configuration.batches
        let number = store.batches.count
        var rng = SplitMix64(seed: (store.seed &+ UInt64(number + 1) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9 | 1)
        record.lines = lines
        record.errors = errors
        let failDraw = FaultServer.uniform(&rng), expireDraw = FaultServer.uniform(&rng)
        if errors.isEmpty && failDraw < c.faults.failValidation {
            record.errors = [["code": "token_limit_exceeded", "param": .null, "line": .null,
                              "message": "Enqueued token limit reached for this model in organization org-fault. Please try again once some in_progress batches have been completed (injected)."]]
        }
        if record.errors.isEmpty && (expireDraw < c.faults.expire || c.faults.expireBatches.contains(number + 1)) {
            record.expireAt = min(1, max(0, c.faults.expireAt))
        }
        // Processing order: a seeded shuffle; a planned outcome per position.
        var order = Array(lines.indices)
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        record.order = order
        record.plan = order.map { _ in
            var u = FaultServer.uniform(&rng)
            if u < c.faults.lineServerError { return .serverError }
            u -= c.faults.lineServerError
            if u < c.faults.lineError { return .error }
            u -= c.faults.lineError
            for fault in FaultServer.Fault.allCases where FaultServer.BatchFaults.lineFaults.contains(fault) {
                let w = c.faults.lineMix[fault] ?? 0
                if u < w { return .content(fault) }
                u -= w
            }
            return .content(.none)
        }
        var prefix = [0]
        prefix.reserveCapacity(order.count + 1)
        for (position, index) in order.enumerated() {
            let ok: Bool
            if case .content = record.plan[position] { ok = lines[index].chat != nil } else { ok = false }
            prefix.append(prefix[position] + (ok ? 1 : 0))
        }
        record.successPrefix = prefix
        store.batchIndex[record.id] = store.batches.count
        store.batches.append(record)
        store.counts.batchesCreated += 1
        store.refreshAll(now: now, configuration: configuration)
        return store.batches.count - 1
    }

    /// The string custom_ids of an input file that did not validate (best effort).
    static func customIDs(in bytes: [UInt8]) -> [String] {
        bytes.split(separator: 10).compactMap { line in (try? StrictJSON.parse(bytes: Array(line)))?["custom_id"]?.stringValue }
    }

    private func list(_ request: LoopbackHTTPServer.Request, store: FaultServer.BatchStore, now: Double) -> LoopbackHTTPServer.Action {
        let query = request.query
        let limit = min(100, max(1, query["limit"].flatMap { Int($0) } ?? 20))
        var newestFirst = Array(store.batches.reversed())
        if let after = query["after"] {
            guard let i = newestFirst.firstIndex(where: { $0.id == after }) else {
                return .json(404, FaultServer.errorBody("No batch found with id '\(after)'.", type: "invalid_request_error", param: "after", code: nil))
            }
            newestFirst = Array(newestFirst[(i + 1)...])
        }
        let page = Array(newestFirst.prefix(limit))
        let value: JSONValue = ["object": "list", "data": .array(page.map { $0.json(at: now) }),
                                "first_id": page.first.map { .string($0.id) } ?? .null, "last_id": page.last.map { .string($0.id) } ?? .null,
                                "has_more": .bool(newestFirst.count > page.count)]
        return .json(200, FaultServer.text(value))
    }
}
