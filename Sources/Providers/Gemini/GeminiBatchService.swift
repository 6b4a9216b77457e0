public import Foundation
public import LLMKit
import Synchronization

/// Gemini's batch mode behind the same `--batch-api` executor as OpenAI's Batch API. Shapes from
/// the official SDK (PyPI `google-genai` 3.6.1, `batches.py` `_CreateBatchJobParameters_to_mldev`,
/// `_InlinedRequest_to_mldev`, `_BatchJob_from_mldev`, `_ListBatchJobsResponse_from_mldev`,
/// `_transformers.py` `t_job_state`): `POST {base}/v1beta/models/{model}:batchGenerateContent`
/// with `{"batch": {"displayName", "inputConfig": {"requests": {"requests": [{"request",
/// "metadata": {"key"}}]}}}}`; a batch is `{"name": "batches/...", "metadata": {"displayName",
/// "state", "createTime", "endTime", "model", "output"}}` with `state` `BATCH_STATE_PENDING`,
/// `_RUNNING`, `_SUCCEEDED`, `_FAILED`, `_CANCELLED`, `_EXPIRED`; `GET {base}/v1beta/batches/{id}`,
/// `GET {base}/v1beta/batches?pageSize&pageToken` (`operations`, `nextPageToken`),
/// `POST {base}/v1beta/batches/{id}:cancel`. Results come inline
/// (`output.inlinedResponses.inlinedResponses[]`: `response` or `error`, and the request's
/// `metadata`) or as a file (`output.responsesFile`, lines of `{"key", "response"}`, fetched
/// from `/v1beta/files/{name}:download?alt=media`).
///
/// Requests go inline, so the executor's "upload" keeps them in a local spool until the batch
/// is created. The batch's display name is the spool id, so a batch whose create answer was
/// lost is found again by listing. Inline results are written to the download path one line
/// per request (`{"key", "response" | "error"}`); the batch object holding them is read whole
/// (bounded by 64 MiB and the download cap), a responses file is streamed.
public struct GeminiBatchService: BatchService {
    public let baseURL: String
    let provider: GeminiProvider
    let requests: RequestSpool
    let timeout: Duration
    let maximumDownloadBytes: Int
    /// Page tokens by the last batch id of the page they continue.
    private let pageTokens = PageTokens()

    /// The service of the server `provider` talks to; `spool`: where input lines wait for their
    /// batch (default `$TMPDIR/llmkit-message-batches`; `promptlab` uses `<out>.batch-inputs/` beside the output).
    public init(provider: GeminiProvider, spool: URL? = nil, timeout: Duration = .seconds(600), maximumDownloadBytes: Int = 4 << 30) {
        self.provider = provider
        baseURL = provider.baseURL
        requests = RequestSpool(folder: spool ?? RequestSpool.defaultFolder, provider: provider.id.name)
        self.timeout = timeout
        self.maximumDownloadBytes = maximumDownloadBytes
    }

    /// Reads the key and base URL as ``GeminiProvider/fromEnvironment(_:baseURL:transport:timeout:maximumResponseBytes:)``.
    /// `spool`: where input lines wait for their batch (see ``init(provider:spool:timeout:maximumDownloadBytes:)``).
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, spool: URL? = nil,
                                       transport: any HTTPTransport = CurlTransport.shared) throws(LLMError) -> GeminiBatchService {
        GeminiBatchService(provider: try GeminiProvider.fromEnvironment(environment, baseURL: baseURL, transport: transport), spool: spool)
    }

    var endpoint: JSONEndpoint { provider.endpoint }
    var api: String { baseURL + "/" + GeminiProvider.apiVersion }

    /// An `InlinedRequest`: `{"request": <the body a synchronous call sends, with its model>, "metadata": {"key": customID}}`.
    public func inputLine(for request: CompletionRequest, customID: String) -> [UInt8] {
        guard case .object(var body) = GeminiWire.body(for: request, mode: provider.mode(for: request.model)) else { return [] }
        body["model"] = .string(request.model.hasPrefix("models/") ? request.model : "models/" + request.model)
        let line: JSONValue = ["request": .object(body), "metadata": ["key": .string(customID)]]
        return Array(line.description.utf8)
    }

    public func upload(_ file: [UInt8], filename: String) async throws(LLMError) -> String { try requests.put(file, filename: filename) }

    public func create(inputFileID: String, metadata: [String: String]) async throws(LLMError) -> BatchInfo {
        let lines = try requests.lines(inputFileID)
        let model = lines.first?["request"]?["model"]?.stringValue ?? "models/unknown"
        let body: JSONValue = ["batch": ["displayName": .string(inputFileID), "inputConfig": ["requests": ["requests": .array(lines)]]]]
        let info = try info(try await send(endpoint.post(GeminiProvider.path(model: model, method: "batchGenerateContent"), body: body)))
        requests.remove(inputFileID)
        return info
    }

    public func batch(_ id: String) async throws(LLMError) -> BatchInfo { try info(try await send(get("/\(id)"))) }

    public func list(after: String?, limit: Int) async throws(LLMError) -> (batches: [BatchInfo], hasMore: Bool) {
        var query = "/batches?pageSize=\(limit)"
        if let after {
            guard let token = pageTokens.value.withLock({ $0[after] }) else { return ([], false) }
            query += "&pageToken=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)
        }
        let value = try await send(get(query))
        var batches: [BatchInfo] = []
        for entry in value["operations"]?.arrayValue ?? [] { batches.append(try info(entry)) }
        let next = value["nextPageToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let next, let last = batches.last?.id { pageTokens.value.withLock { $0[last] = next } }
        return (batches, next != nil)
    }

    public func cancel(_ id: String) async throws(LLMError) -> BatchInfo {
        _ = try await send(endpoint.post("/\(GeminiProvider.apiVersion)/\(id):cancel", body: .object([:])))
        return try await batch(id)
    }

    /// `inline:batches/...`: the batch's inlined responses, one line each; `file:files/...`: the responses file, streamed.
    public func download(file id: String, to path: String, maximumBytes: Int) async throws(LLMError) -> Int {
        let name = provider.id.name
        if id.hasPrefix("file:") {
            let file = String(id.dropFirst("file:".count))
            return try await DownloadSink.download(from: api + "/\(file):download?alt=media", headers: endpoint.authHeaders, transport: endpoint.transport,
                                                   timeout: timeout, maximumBytes: min(maximumBytes, maximumDownloadBytes), to: path, what: file, provider: name) { response, text in
                GeminiWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers,
                                 context: .init(provider: name, httpStatus: response.status), raw: RawResponse(status: response.status, headers: response.headers, body: text))
            }
        }
        // The inlined responses arrive in the batch object: the download cap bounds that read too.
        var request = get("/\(id.dropFirst("inline:".count))")
        request.maximumResponseBytes = min(request.maximumResponseBytes, maximumBytes)
        let batch = try await send(request)
        var bytes: [UInt8] = []
        for entry in batch["metadata"]?["output"]?["inlinedResponses"]?["inlinedResponses"]?.arrayValue ?? [] {
            var line = JSONObject()
            line["key"] = entry["metadata"]?["key"] ?? .null
            if let response = entry["response"] { line["response"] = response }
            if let error = entry["error"] { line["error"] = error }
            bytes += Array(JSONValue.object(line).description.utf8) + [0x0A]
            guard bytes.count <= min(maximumBytes, maximumDownloadBytes) else {
                throw LLMError(.responseTooLarge, "The inlined responses of \(id) exceed \(maximumBytes) bytes.", context: .init(provider: name))
            }
        }
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch {
            throw LLMError(.configuration, "Cannot write the results of \(id) to \(path) (\(error.localizedDescription)).", context: .init(provider: name))
        }
        return bytes.count
    }

    /// google.rpc codes as HTTP statuses (an inlined `JobError` carries the former).
    static let rpcStatus = [1: 499, 3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 9: 400, 13: 500, 14: 503, 16: 401]

    /// `{"key", "response"}` decodes like a synchronous answer; `{"key", "error": {"code",
    /// "message"}}` (a `JobError`, with a google.rpc code or an HTTP status; a responses file's
    /// "status object", `"status"`, the same) becomes its kind. A line without a key (padding)
    /// is no result.
    public func decodeResult(_ line: ArraySlice<UInt8>, model: String) -> BatchResultLine? {
        let bytes = Array(line)
        let valid = UTF8Check.isValid(bytes)
        guard let value = try? StrictJSON.parse(bytes: valid ? bytes : Array(String(decoding: bytes, as: UTF8.self).utf8)),
              let key = value["key"]?.stringValue else { return nil }
        if let response = value["response"], response.objectValue != nil {
            return BatchResultLine(customID: key, result: .success(GeminiWire.generated(response, headers: [:], raw: nil, invalidUTF8: !valid)))
        }
        let failure = value["error"] ?? value["status"]
        let code = failure?["code"]?.intValue ?? 500
        let status = code < 100 ? Self.rpcStatus[code] ?? 500 : code
        let body: JSONValue = ["error": failure ?? .null]
        let error = GeminiWire.error(status: status, body: body, headers: [:], context: .init(provider: provider.id.name, model: model, httpStatus: status),
                                     raw: RawResponse(status: status, headers: [:], body: body.description))
        return BatchResultLine(customID: key, result: .failure(error))
    }

    func get(_ path: String) -> HTTPRequest {
        HTTPRequest(method: "GET", url: api + path, headers: endpoint.authHeaders, timeout: timeout, maximumResponseBytes: 64 << 20)
    }

    /// Sends a request and returns its answer's JSON; an error status throws its kind.
    func send(_ request: HTTPRequest) async throws(LLMError) -> JSONValue {
        let response = try await endpoint.send(request, model: "")
        let text = String(decoding: response.body, as: UTF8.self)
        let context = LLMError.Context(provider: provider.id.name, httpStatus: response.status)
        guard (200..<300).contains(response.status) else {
            throw GeminiWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context,
                                   raw: RawResponse(status: response.status, headers: response.headers, body: text))
        }
        guard let value = try? StrictJSON.parse(text) else {
            throw LLMError(.invalidOutput, "\(request.url) answered HTTP \(response.status) with a body that is not JSON.", context: context)
        }
        return value
    }

    /// A batch (`{"name", "metadata": {...}}`).
    func info(_ value: JSONValue) throws(LLMError) -> BatchInfo {
        let meta = value["metadata"]
        guard let id = value["name"]?.stringValue, let state = meta?["state"]?.stringValue else {
            throw LLMError(.invalidOutput, "\(baseURL): not a batch: \(String(value.description.prefix(200)))", context: .init(provider: provider.id.name))
        }
        let status: BatchStatus = switch state.replacingOccurrences(of: "JOB_STATE_", with: "BATCH_STATE_") {
        case "BATCH_STATE_PENDING", "BATCH_STATE_QUEUED": .validating
        case "BATCH_STATE_RUNNING": .inProgress
        case "BATCH_STATE_SUCCEEDED": .completed
        case "BATCH_STATE_FAILED": .failed
        case "BATCH_STATE_CANCELLING": .cancelling
        case "BATCH_STATE_CANCELLED": .cancelled
        case "BATCH_STATE_EXPIRED": .expired
        default: BatchStatus(state)
        }
        let output = meta?["output"]
        let outputID = output?["responsesFile"]?.stringValue.map { "file:" + $0 } ?? (output?["inlinedResponses"] != nil ? "inline:" + id : nil)
        let created = meta?["createTime"]?.stringValue.flatMap(AnthropicWire.rfc3339).map { Int($0.timeIntervalSince1970) }
        var errors: [BatchLineError] = []
        if status == .failed, let error = value["error"] {
            errors.append(BatchLineError(code: error["status"]?.stringValue ?? "FAILED", message: error["message"]?.stringValue ?? ""))
        }
        return BatchInfo(id: id, status: status, inputFileID: meta?["displayName"]?.stringValue, outputFileID: outputID, errors: errors, createdAt: created)
    }
}

/// Page tokens by the last batch id of the page they continue.
final class PageTokens: Sendable {
    let value = Mutex<[String: String]>([:])
}
