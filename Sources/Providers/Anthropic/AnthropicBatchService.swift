public import Foundation
public import LLMKit

/// Anthropic's Message Batches (`/v1/messages/batches`) behind the same `--batch-api` executor
/// as OpenAI's Batch API. Shapes from the official SDK (PyPI `anthropic` 2.17.0,
/// `types/messages/`): `POST /v1/messages/batches` with `{"requests": [{"custom_id", "params"}]}`,
/// `GET /v1/messages/batches/{id}`, `GET /v1/messages/batches?limit=&after_id=`,
/// `POST /v1/messages/batches/{id}/cancel`, and the `results_url` of an ended batch: a `.jsonl`
/// of `{"custom_id", "result": {"type": "succeeded"|"errored"|"canceled"|"expired", ...}}`.
///
/// Message Batches take the requests inline, not as an uploaded file. The executor's "upload"
/// therefore keeps the input lines in a local spool file named by their hash (so a run killed
/// between "upload" and create can still create the batch after `--resume`), and create sends
/// them. Batch objects carry neither the input nor metadata, so a batch whose create answer was
/// lost cannot be found again: it is created anew (the one case that can run requests twice).
///
/// Status: `in_progress` and `canceling` as such; `ended` is `cancelled` when a cancel was
/// initiated, else `completed` (each line says what became of its request). Results stream to
/// disk like OpenAI's output files.
public struct AnthropicBatchService: BatchService {
    public let baseURL: String
    let provider: AnthropicProvider
    /// Where input lines wait for their batch to be created.
    public var spool: URL { requests.folder }
    let requests: RequestSpool
    let timeout: Duration
    let maximumDownloadBytes: Int

    /// The service of the server `provider` talks to, with its credentials, transport and schema mode.
    /// `spool`: where input lines wait for their batch (default `$TMPDIR/llmkit-message-batches`; `promptlab` uses `<out>.batch-inputs/` beside the output).
    public init(provider: AnthropicProvider, spool: URL? = nil, timeout: Duration = .seconds(600), maximumDownloadBytes: Int = 4 << 30) {
        self.provider = provider
        baseURL = provider.baseURL
        requests = RequestSpool(folder: spool ?? RequestSpool.defaultFolder, provider: provider.id.name)
        self.timeout = timeout
        self.maximumDownloadBytes = maximumDownloadBytes
    }

    /// Reads the key and base URL as ``AnthropicProvider/fromEnvironment(_:baseURL:transport:timeout:maximumResponseBytes:)``.
    /// `spool`: where input lines wait for their batch (see ``init(provider:spool:timeout:maximumDownloadBytes:)``).
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, spool: URL? = nil,
                                       transport: any HTTPTransport = CurlTransport.shared) throws(LLMError) -> AnthropicBatchService {
        AnthropicBatchService(provider: try AnthropicProvider.fromEnvironment(environment, baseURL: baseURL, transport: transport), spool: spool)
    }

    var endpoint: JSONEndpoint { provider.endpoint }

    /// `{"custom_id", "params"}` with the body a synchronous call sends.
    public func inputLine(for request: CompletionRequest, customID: String) -> [UInt8] {
        let line: JSONValue = ["custom_id": .string(customID), "params": AnthropicWire.body(for: request, mode: provider.mode(for: request.model))]
        return Array(line.description.utf8)
    }

    /// Keeps the lines in the spool; the id names the spool file (`spool-<sha256>`).
    public func upload(_ file: [UInt8], filename: String) async throws(LLMError) -> String { try requests.put(file, filename: filename) }

    public func create(inputFileID: String, metadata: [String: String]) async throws(LLMError) -> BatchInfo {
        let lines = try requests.lines(inputFileID)
        let info = try info(try await send(endpoint.post("/v1/messages/batches", body: ["requests": .array(lines)])))
        requests.remove(inputFileID)
        return info
    }

    public func batch(_ id: String) async throws(LLMError) -> BatchInfo { try info(try await send(get("/v1/messages/batches/\(id)"))) }

    public func list(after: String?, limit: Int) async throws(LLMError) -> (batches: [BatchInfo], hasMore: Bool) {
        let value = try await send(get("/v1/messages/batches?limit=\(limit)" + (after.map { "&after_id=\($0)" } ?? "")))
        var batches: [BatchInfo] = []
        for entry in value["data"]?.arrayValue ?? [] { batches.append(try info(entry)) }
        return (batches, value["has_more"]?.boolValue ?? false)
    }

    public func cancel(_ id: String) async throws(LLMError) -> BatchInfo {
        try info(try await send(endpoint.post("/v1/messages/batches/\(id)/cancel", body: .object([:]))))
    }

    /// Streams a batch's results (`file` is its `results_url`) to `path`. The credentials go to
    /// the configured server only: the URL's path is asked of the base URL.
    public func download(file id: String, to path: String, maximumBytes: Int) async throws(LLMError) -> Int {
        let resultsPath = URL(string: id).map { $0.path + ($0.query.map { "?" + $0 } ?? "") } ?? id
        let name = provider.id.name
        return try await DownloadSink.download(from: baseURL + resultsPath, headers: endpoint.authHeaders, transport: endpoint.transport, timeout: timeout,
                                               maximumBytes: min(maximumBytes, maximumDownloadBytes), to: path, what: "the results \(resultsPath)", provider: name) { response, text in
            AnthropicWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers,
                                context: .init(provider: name, httpStatus: response.status, requestID: response.header("request-id")),
                                raw: RawResponse(status: response.status, headers: response.headers, body: text))
        }
    }

    /// One results line: `succeeded` decodes its `message` like a synchronous answer; `errored`
    /// becomes the kind of its error type (`overloaded_error` transient, `invalid_request_error`
    /// a bad request, ...); `expired` is submitted again, `canceled` fails as cancelled.
    public func decodeResult(_ line: ArraySlice<UInt8>, model: String) -> BatchResultLine? {
        let bytes = Array(line)
        let valid = UTF8Check.isValid(bytes)
        guard let value = try? StrictJSON.parse(bytes: valid ? bytes : Array(String(decoding: bytes, as: UTF8.self).utf8)),
              let customID = value["custom_id"]?.stringValue, let result = value["result"] else { return nil }
        let context = LLMError.Context(provider: provider.id.name, model: model)
        switch result["type"]?.stringValue {
        case "succeeded":
            guard let message = result["message"], let blocks = message["content"]?.arrayValue else {
                return BatchResultLine(customID: customID, result: .failure(LLMError(.invalidOutput, "A succeeded result without a message.", context: context)))
            }
            return BatchResultLine(customID: customID, result: .success(AnthropicWire.message(message, blocks: blocks, headers: [:], raw: nil, invalidUTF8: !valid)))
        case "errored":
            let type = result["error"]?["error"]?["type"]?.stringValue ?? "api_error"
            let status = [ "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402, "permission_error": 403, "not_found_error": 404,
                           "rate_limit_error": 429, "timeout_error": 504, "overloaded_error": 529][type] ?? 500
            let body = result["error"] ?? .null
            let error = AnthropicWire.error(status: status, body: body, headers: [:], context: context, raw: RawResponse(status: status, headers: [:], body: body.description))
            return BatchResultLine(customID: customID, result: .failure(error))
        case "expired":
            return BatchResultLine(customID: customID, result: .failure(LLMError(.timeout, "The batch expired before this request ran.", context: context)), expired: true)
        case "canceled":
            return BatchResultLine(customID: customID, result: .failure(LLMError(.cancelled, "The batch was cancelled before this request ran.", context: context)), cancelled: true)
        default:
            return nil
        }
    }

    func get(_ path: String) -> HTTPRequest {
        HTTPRequest(method: "GET", url: baseURL + path, headers: endpoint.authHeaders, timeout: timeout, maximumResponseBytes: 64 << 20)
    }

    /// Sends a request and returns its answer's JSON; an error status throws its kind.
    func send(_ request: HTTPRequest) async throws(LLMError) -> JSONValue {
        let response = try await endpoint.send(request, model: "")
        let text = String(decoding: response.body, as: UTF8.self)
        let context = LLMError.Context(provider: provider.id.name, httpStatus: response.status, requestID: response.header("request-id"))
        guard (200..<300).contains(response.status) else {
            throw AnthropicWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: AnthropicWire.limiterHeaders(response.headers, now: Date()),
                                      context: context, raw: RawResponse(status: response.status, headers: response.headers, body: text))
        }
        guard let value = try? StrictJSON.parse(text) else {
            throw LLMError(.invalidOutput, "\(request.url) answered HTTP \(response.status) with a body that is not JSON.", context: context)
        }
        return value
    }

    /// A `MessageBatch` object.
    func info(_ value: JSONValue) throws(LLMError) -> BatchInfo {
        guard let id = value["id"]?.stringValue, let processing = value["processing_status"]?.stringValue else {
            throw LLMError(.invalidOutput, "\(baseURL): not a message batch: \(String(value.description.prefix(200)))", context: .init(provider: provider.id.name))
        }
        let cancelled = value["cancel_initiated_at"].map { $0 != .null } ?? false
        let status: BatchStatus = switch processing {
        case "in_progress": .inProgress
        case "canceling": .cancelling
        case "ended": cancelled ? .cancelled : .completed
        default: BatchStatus(processing)
        }
        let counts = value["request_counts"]
        func count(_ key: String) -> Int { counts?[key]?.intValue ?? 0 }
        let total = ["processing", "succeeded", "errored", "canceled", "expired"].map(count).reduce(0, +)
        let created = value["created_at"]?.stringValue.flatMap(AnthropicWire.rfc3339).map { Int($0.timeIntervalSince1970) }
        return BatchInfo(id: id, status: status, outputFileID: value["results_url"]?.stringValue, total: total, completed: count("succeeded"),
                         failed: count("errored") + count("canceled") + count("expired"), createdAt: created)
    }
}
