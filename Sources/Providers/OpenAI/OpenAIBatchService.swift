import Foundation
public import LLMKit

/// OpenAI's Batch API (REFERENCE.md section 4), or any server implementing its endpoints:
/// `POST {base}/files` (multipart, `purpose=batch`), `POST {base}/batches` (endpoint
/// `/v1/chat/completions`, window `24h`), `GET {base}/batches/{id}`, `GET {base}/batches`,
/// `POST {base}/batches/{id}/cancel`, `GET {base}/files/{id}/content`.
///
/// An input line's body is exactly what ``OpenAIProvider`` sends for the same request
/// (structured outputs, `max_completion_tokens`, never streamed). Result lines are decoded like
/// a synchronous answer: a `status_code` other than 200 becomes the ``LLMError`` kind a chat
/// call with that status gets; a line `error` without a response becomes `.serverError`
/// (`batch_expired` marks the request as not run).
public struct OpenAIBatchService: BatchService {
    public let baseURL: String
    let chat: ChatCompletionsEndpoint
    let transport: any HTTPTransport
    /// Credentials and organisation headers (no content type).
    let headers: [(name: String, value: String)]
    let timeout: Duration
    /// The largest result file accepted, whatever a download asks for.
    let maximumDownloadBytes: Int

    /// A service at `baseURL` (the same base URL as the synchronous provider: `.../v1`).
    public init(baseURL: String = OpenAIProvider.defaultBaseURL, apiKey: String?, organization: String? = nil, project: String? = nil,
                transport: any HTTPTransport = CurlTransport.shared, timeout: Duration = .seconds(600), maximumDownloadBytes: Int = 4 << 30) {
        self.init(provider: OpenAIProvider(baseURL: baseURL, apiKey: apiKey, organization: organization, project: project, transport: transport),
                  timeout: timeout, maximumDownloadBytes: maximumDownloadBytes)
    }

    /// The service of the server `provider` talks to, with its credentials and transport
    /// (input lines carry the bodies of a non-streamed call).
    init(provider: OpenAIProvider, timeout: Duration = .seconds(600), maximumDownloadBytes: Int = 4 << 30) {
        chat = provider.endpoint
        baseURL = chat.baseURL
        transport = chat.transport
        headers = chat.authHeaders
        self.timeout = timeout
        self.maximumDownloadBytes = maximumDownloadBytes
    }

    /// Reads the key, base URL, organisation and project as ``OpenAIProvider/fromEnvironment(_:baseURL:transport:timeout:maximumResponseBytes:stream:)``.
    public static func fromEnvironment(_ environment: [String: String], baseURL: String?, transport: any HTTPTransport = CurlTransport.shared) throws(LLMError) -> OpenAIBatchService {
        OpenAIBatchService(provider: try OpenAIProvider.fromEnvironment(environment, baseURL: baseURL, transport: transport))
    }

    /// The endpoint every line names.
    public static let endpoint = "/v1/chat/completions"

    public func inputLine(for request: CompletionRequest, customID: String) -> [UInt8] {
        let line: JSONValue = ["custom_id": .string(customID), "method": "POST", "url": .string(Self.endpoint), "body": chat.body(for: request)]
        return Array(line.description.utf8)
    }

    public func upload(_ file: [UInt8], filename: String) async throws(LLMError) -> String {
        let boundary = "llmkit-" + UUID().uuidString
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename.replacingOccurrences(of: "\"", with: "'"))\"\r\n".utf8)
        body += Array("Content-Type: application/jsonl\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let value = try await send("POST", "/files", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
        guard let id = value["id"]?.stringValue else { throw unexpected("the upload's answer has no file id", value) }
        return id
    }

    public func create(inputFileID: String, metadata: [String: String]) async throws(LLMError) -> BatchInfo {
        var body: JSONObject = ["input_file_id": .string(inputFileID), "endpoint": .string(Self.endpoint), "completion_window": "24h"]
        if !metadata.isEmpty { body["metadata"] = .object(JSONObject(metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })) }
        return try info(try await send("POST", "/batches", body: Array(JSONValue.object(body).description.utf8), contentType: "application/json"))
    }

    public func batch(_ id: String) async throws(LLMError) -> BatchInfo { try info(try await send("GET", "/batches/\(id)")) }

    public func list(after: String?, limit: Int) async throws(LLMError) -> (batches: [BatchInfo], hasMore: Bool) {
        let value = try await send("GET", "/batches?limit=\(limit)" + (after.map { "&after=\($0)" } ?? ""))
        var batches: [BatchInfo] = []
        for entry in value["data"]?.arrayValue ?? [] { batches.append(try info(entry)) }
        return (batches, value["has_more"]?.boolValue ?? false)
    }

    public func cancel(_ id: String) async throws(LLMError) -> BatchInfo {
        try info(try await send("POST", "/batches/\(id)/cancel", body: [], contentType: "application/json"))
    }

    public func download(file id: String, to path: String, maximumBytes: Int) async throws(LLMError) -> Int {
        try await DownloadSink.download(from: baseURL + "/files/\(id)/content", headers: headers, transport: transport, timeout: timeout,
                                        maximumBytes: min(maximumBytes, maximumDownloadBytes), to: path, what: "file \(id)", provider: "openai") { response, text in
            let context = LLMError.Context(provider: "openai", httpStatus: response.status, requestID: response.header("x-request-id"))
            return ChatCompletionsWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context,
                                             raw: RawResponse(status: response.status, headers: response.headers, body: text))
        }
    }
}
