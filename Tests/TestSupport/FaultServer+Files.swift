import Foundation
import LLMKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The Files API, as far as the Batch API needs it. Shapes from OpenAI's OpenAPI description
// (openai/openai-openapi, openapi.yaml, schema `OpenAIFile`): "The `File` object represents a
// document that has been uploaded to OpenAI." with `id` ("The file identifier, which can be
// referenced in the API endpoints."), `bytes` ("The size of the file, in bytes."), `created_at`
// ("The Unix timestamp (in seconds) for when the file was created."), `filename`, `object`
// ("always `file`"), `purpose` (`assistants`, `assistants_output`, `batch`, `batch_output`,
// `fine-tune`, `fine-tune-results`, `vision`), and the deprecated but required `status`
// (`uploaded`, `processed`, `error`) and `status_details`.
//
// Routes: `POST /v1/files` (multipart/form-data with `purpose` and `file`), `GET /v1/files`,
// `GET /v1/files/{id}`, `GET /v1/files/{id}/content` (the bytes), `DELETE /v1/files/{id}`.

extension FaultServer {
    /// A stored file: uploaded input, or a batch's output or error file.
    struct StoredFile: Sendable {
        var id: String
        var filename: String
        var purpose: String
        var bytes: [UInt8]
        var createdAt: Int
        /// Bytes of padding lines served after `bytes` (``BatchConfiguration/outputPaddingBytes``).
        var padding = 0

        var json: JSONValue {
            ["id": .string(id), "object": "file", "bytes": .int(bytes.count), "created_at": .int(createdAt), "filename": .string(filename),
             "purpose": .string(purpose), "status": "processed", "status_details": .null]
        }
    }

    /// One part of a multipart/form-data body.
    struct MultipartPart: Sendable {
        var name: String
        var filename: String?
        var body: [UInt8]
    }

    /// The upload purposes the Files API accepts; only `batch` files can feed a batch.
    static let filePurposes: Set<String> = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]

    /// The parts of a multipart/form-data body (RFC 7578), or `nil` when it is not one.
    static func multipartParts(_ body: [UInt8], contentType: String) -> [MultipartPart]? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "multipart/form-data",
              let boundaryField = fields.first(where: { $0.lowercased().hasPrefix("boundary=") })
        else { return nil }
        var boundary = String(boundaryField.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        guard !boundary.isEmpty else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        let separator: [UInt8] = [13, 10] + delimiter
        guard var position = search(delimiter, in: body, from: 0) else { return nil }
        position += delimiter.count
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" ends the body, otherwise (transport padding and) CRLF.
            if position + 1 < body.count, body[position] == 45, body[position + 1] == 45 { return parts }
            guard let lineEnd = search([13, 10], in: body, from: position) else { return nil }
            let headStart = lineEnd + 2
            let headEnd: Int
            if headStart + 1 < body.count, body[headStart] == 13, body[headStart + 1] == 10 {
                headEnd = headStart - 2   // no header fields
            } else {
                guard let end = search([13, 10, 13, 10], in: body, from: headStart) else { return nil }
                headEnd = end
            }
            let head = headEnd > headStart ? String(decoding: body[headStart..<headEnd], as: UTF8.self) : ""
            let dataStart = headEnd + 4
            guard let dataEnd = search(separator, in: body, from: dataStart) else { return nil }
            var name: String?
            var filename: String?
            for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                for parameter in line.split(separator: ";").dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard pair.count == 2 else { continue }
                    var value = pair[1]
                    if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                    switch pair[0].lowercased() {
                    case "name": name = value
                    case "filename": filename = value
                    default: break
                    }
                }
            }
            if let name { parts.append(MultipartPart(name: name, filename: filename, body: Array(body[dataStart..<dataEnd]))) }
            position = dataEnd + separator.count
        }
    }

    /// The offset of the first `needle` in `haystack` at or after `from` (memchr for the
    /// first byte, memcmp for the rest).
    static func search(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, haystack.count - from >= needle.count else { return nil }
        return haystack.withUnsafeBytes { h -> Int? in
            needle.withUnsafeBytes { n -> Int? in
                guard let base = h.baseAddress, let pattern = n.baseAddress else { return nil }
                let last = h.count - n.count
                var i = from
                while i <= last {
                    guard let hit = memchr(base + i, Int32(n[0]), last - i + 1) else { return nil }
                    let j = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + j, pattern, n.count) == 0 { return j }
                    i = j + 1
                }
                return nil
            }
        }
    }
}

extension FaultServer {
    /// Sends `bytes`, then `padding` bytes of 1 KiB padding lines (without `custom_id`), in
    /// 256 KiB chunks made as they go; stops when the client goes away.
    static func sendPadded(_ bytes: [UInt8], padding: Int, to writer: LoopbackHTTPServer.StreamWriter) {
        guard writer.send(bytes) else { return }
        let line = Array(("{\"padding\":\"" + String(repeating: "x", count: 1024 - 15) + "\"}\n").utf8)
        var chunk: [UInt8] = []
        for _ in 0..<256 { chunk += line }
        var left = padding
        while left > 0 {
            let piece = left >= chunk.count ? chunk : Array(chunk[..<left])
            guard writer.send(piece) else { return }
            left -= piece.count
        }
    }
}

extension FaultServer {
    /// A stored file's bytes, then its padding (streamed as it is made).
    static func fileContent(_ file: StoredFile) -> LoopbackHTTPServer.Action {
        let padding = file.padding
        guard padding > 0 else {
            return .respond(status: 200, headers: [("Content-Type", "application/octet-stream")], body: file.bytes)
        }
        return .stream(status: 200, headers: [("Content-Type", "application/octet-stream")]) { writer in
            FaultServer.sendPadded(file.bytes, padding: padding, to: writer)
        }
    }
}

extension FaultServer.Core {
    func files(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action {
        apiRequest(request) { store, now, parts in   // v1, files[, id[, content]]
            switch (request.method, parts.count) {
            case ("POST", 2):
                return upload(request, into: &store, now: now)
            case ("GET", 2):
                let data = store.fileOrder.compactMap { store.files[$0]?.json }
                return .json(200, FaultServer.text(["object": "list", "data": .array(data), "has_more": false]))
            case ("GET", 3), ("GET", 4), ("DELETE", 3):
                guard let file = store.files[parts[2]] else {
                    return .json(404, FaultServer.errorBody("No such File object: \(parts[2])", type: "invalid_request_error", param: "id", code: nil))
                }
                if request.method == "DELETE" {
                    store.files[file.id] = nil
                    store.fileOrder.removeAll { $0 == file.id }
                    return .json(200, FaultServer.text(["id": .string(file.id), "object": "file", "deleted": true]))
                }
                if parts.count == 4 {
                    guard parts[3] == "content" else { break }
                    return FaultServer.fileContent(file)
                }
                return .json(200, FaultServer.text(file.json))
            default:
                break
            }
            return Self.invalidURL(request)
        }
    }

    private func upload(_ request: LoopbackHTTPServer.Request, into store: inout FaultServer.BatchStore, now: Double) -> LoopbackHTTPServer.Action {
        func bad(_ message: String, param: String?) -> LoopbackHTTPServer.Action {
            .json(400, FaultServer.errorBody(message, type: "invalid_request_error", param: param, code: nil))
        }
        guard let parts = FaultServer.multipartParts(request.body, contentType: request.headers["content-type"] ?? "") else {
            return bad("The request must be multipart/form-data with the fields 'purpose' and 'file'.", param: nil)
        }
        guard let purposePart = parts.first(where: { $0.name == "purpose" }) else { return bad("Missing required parameter: 'purpose'.", param: "purpose") }
        let purpose = String(decoding: purposePart.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard FaultServer.filePurposes.contains(purpose) else {
            return bad("'\(purpose)' is not one of \(FaultServer.filePurposes.sorted()) - 'purpose'", param: "purpose")
        }
        guard let filePart = parts.first(where: { $0.name == "file" }) else { return bad("Missing required parameter: 'file'.", param: "file") }
        let file = FaultServer.StoredFile(id: store.newID("file-"), filename: filePart.filename ?? "upload", purpose: purpose,
                                          bytes: filePart.body, createdAt: Int(now))
        store.add(file)
        store.counts.filesUploaded += 1
        store.counts.bytesUploaded += file.bytes.count
        return .json(200, FaultServer.text(file.json))
    }
}
