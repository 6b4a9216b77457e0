import Foundation
public import LLMKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

extension OpenAIBatchService {
    /// Sends a request and returns its answer's JSON; an error status throws the kind a chat
    /// call with that status gets.
    func send(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil) async throws(LLMError) -> JSONValue {
        var fields = headers
        if let contentType { fields.append(("Content-Type", contentType)) }
        let response = try await exchange(HTTPRequest(method: method, url: baseURL + path, headers: fields, body: body, timeout: timeout,
                                                      maximumResponseBytes: 64 << 20))
        guard let value = try? StrictJSON.parse(bytes: response.body) else {
            throw LLMError(.invalidOutput, "\(baseURL)\(path) answered HTTP \(response.status) with a body that is not JSON.",
                           context: .init(provider: "openai", httpStatus: response.status))
        }
        return value
    }

    /// One HTTP exchange; a status other than 2xx throws.
    func exchange(_ request: HTTPRequest) async throws(LLMError) -> HTTPResponse {
        let response = try await LLMError.wrapping(provider: "openai") { try await transport.send(request) }
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body, as: UTF8.self)
            let context = LLMError.Context(provider: "openai", httpStatus: response.status, requestID: response.header("x-request-id"))
            throw ChatCompletionsWire.error(status: response.status, body: try? StrictJSON.parse(text), headers: response.headers, context: context,
                                            raw: RawResponse(status: response.status, headers: response.headers, body: text))
        }
        return response
    }

    func unexpected(_ why: String, _ value: JSONValue) -> LLMError {
        LLMError(.invalidOutput, "\(baseURL): \(why): \(String(value.description.prefix(200)))", context: .init(provider: "openai"))
    }

    /// A `Batch` object.
    func info(_ value: JSONValue) throws(LLMError) -> BatchInfo {
        guard let id = value["id"]?.stringValue, let status = value["status"]?.stringValue else { throw unexpected("not a batch object", value) }
        let counts = value["request_counts"]
        let errors = (value["errors"]?["data"]?.arrayValue ?? []).map { e in
            BatchLineError(code: e["code"]?.stringValue ?? "error", message: e["message"]?.stringValue ?? "", line: e["line"]?.intValue)
        }
        var metadata: [String: String] = [:]
        for (key, entry) in value["metadata"]?.objectValue ?? [:] { if let text = entry.stringValue { metadata[key] = text } }
        return BatchInfo(id: id, status: BatchStatus(status), inputFileID: value["input_file_id"]?.stringValue,
                         outputFileID: value["output_file_id"]?.stringValue, errorFileID: value["error_file_id"]?.stringValue,
                         total: counts?["total"]?.intValue ?? 0, completed: counts?["completed"]?.intValue ?? 0, failed: counts?["failed"]?.intValue ?? 0,
                         errors: errors, metadata: metadata, createdAt: value["created_at"]?.intValue)
    }

    /// Whether `line` holds `"custom_id"` (memchr for each quote, memcmp for the rest).
    static func mentionsCustomID(_ line: ArraySlice<UInt8>) -> Bool {
        let key = Array("\"custom_id\"".utf8)
        return line.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress, raw.count >= key.count else { return false }
            var i = 0
            while i + key.count <= raw.count {
                guard let hit = memchr(base + i, 0x22, raw.count - key.count - i + 1) else { return false }
                let j = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + j, key, key.count) == 0 { return true }
                i = j + 1
            }
            return false
        }
    }

    /// One output or error line: `{"id", "custom_id", "response": {"status_code", "request_id",
    /// "body"}, "error": {"code", "message"}}`. Bytes that are not UTF-8 are decoded with
    /// U+FFFD and flagged, as in a synchronous answer. `batch_expired` marks the request as not
    /// run (submitted again), `batch_cancelled` as cancelled (failed, never asked again).
    public func decodeResult(_ line: ArraySlice<UInt8>, model: String) -> BatchResultLine? {
        // Most lines are results; anything without the key (padding, noise) is not parsed at all.
        guard Self.mentionsCustomID(line) else { return nil }
        let bytes = Array(line)
        let valid = UTF8Check.isValid(bytes)
        guard let value = try? StrictJSON.parse(bytes: valid ? bytes : Array(String(decoding: bytes, as: UTF8.self).utf8)),
              let customID = value["custom_id"]?.stringValue else { return nil }
        if let response = value["response"], response != .null {
            let status = response["status_code"]?.intValue ?? 0
            let body = response["body"] ?? .null
            let http = HTTPResponse(status: status, headers: ["content-type": "application/json"], body: Array(body.description.utf8))
            do {
                var decoded = try ChatCompletionsWire.decode(http, provider: "openai", model: model)
                decoded.bodyWasInvalidUTF8 = decoded.bodyWasInvalidUTF8 || !valid
                return BatchResultLine(customID: customID, result: .success(decoded))
            } catch {
                return BatchResultLine(customID: customID, result: .failure(error))
            }
        }
        let code = value["error"]?["code"]?.stringValue ?? "error"
        let message = value["error"]?["message"]?.stringValue ?? "no message"
        let kind: LLMError.Kind = switch code {
        case "batch_expired": .timeout
        case "batch_cancelled": .cancelled
        default: .serverError
        }
        let error = LLMError(kind, "The batch could not run this request (\(code)): \(message)", context: .init(provider: "openai", model: model))
        return BatchResultLine(customID: customID, result: .failure(error), expired: code == "batch_expired", cancelled: code == "batch_cancelled")
    }
}
