import Foundation
import LLMKit
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 response as read off the wire.
struct WireResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// Whether the body ended as framed (Content-Length reached, or the closing chunk read).
    var complete: Bool
    var chunked: Bool

    func header(_ name: String) -> String? { headers.last { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> JSONValue { try StrictJSON.parse(bytes: body) }
}

extension JSONValue {
    /// The element at `index` of an array.
    func at(_ index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}

struct RawHTTPError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A tiny blocking HTTP/1.1 client over one raw socket to 127.0.0.1, for tests of the servers
/// themselves: it sends exactly the bytes a test asks for and reads responses byte-exactly
/// (chunked framing included), so it can check what a high-level client would hide. Every
/// read has a timeout, so a misbehaving server fails a test instead of hanging it.
final class RawConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var isClosed = false
    let port: Int

    init(port: Int, timeout: Double = 15) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError("socket() failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int(timeout.truncatingRemainder(dividingBy: 1) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { Glibc.close(fd); throw RawHTTPError("connect to 127.0.0.1:\(port) failed") }
    }

    deinit { hangUp() }

    /// Closes the connection now; with unread data pending the peer gets a reset at once.
    func hangUp() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawHTTPError("send failed") }
            offset += n
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Sends a request with `Host` and `Content-Length` added.
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try write(Array(head.utf8) + body)
    }

    /// Reads more bytes: false at end of stream; throws on a timeout.
    private func fill() throws -> Bool {
        if start > 0 && start >= buffer.count / 2 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw RawHTTPError("timed out reading") }
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }

    private var available: Int { buffer.count - start }

    private func line() throws -> String? {
        while true {
            if let i = (start..<max(start, buffer.count - 1)).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                let text = String(decoding: buffer[start..<i], as: UTF8.self)
                start = i + 2
                return text
            }
            guard try fill() else { return nil }
        }
    }

    /// Waits for and returns the next interim or final status line and headers.
    private func head() throws -> (status: Int, headers: [(String, String)])? {
        guard let statusLine = try line() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw RawHTTPError("bad status line '\(statusLine)'") }
        var headers: [(String, String)] = []
        while let field = try line(), !field.isEmpty {
            guard let colon = field.firstIndex(of: ":") else { throw RawHTTPError("bad header '\(field)'") }
            headers.append((String(field[..<colon]), field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return (status, headers)
    }

    /// Reads one response. `onBody` sees each piece of the body as it arrives (a chunk, or
    /// what one read returned); returning false stops reading (the response is then
    /// incomplete). Interim `1xx` answers are skipped unless `stopAtInterim`.
    func readResponse(stopAtInterim: Bool = false, onBody: (([UInt8]) -> Bool)? = nil) throws -> WireResponse {
        var status = 0
        var headers: [(String, String)] = []
        repeat {
            guard let h = try head() else { throw RawHTTPError("connection closed before a response") }
            (status, headers) = h
            if stopAtInterim { break }
        } while (100..<200).contains(status)
        var response = WireResponse(status: status, headers: headers, body: [], complete: false, chunked: false)
        if (100..<200).contains(status) { response.complete = true; return response }
        func deliver(_ piece: [UInt8]) -> Bool {
            response.body += piece
            return onBody?(piece) ?? true
        }
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            response.chunked = true
            while true {
                guard let sizeLine = try line() else { return response }
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { throw RawHTTPError("bad chunk size '\(sizeLine)'") }
                if size == 0 {
                    while let trailer = try line(), !trailer.isEmpty {}
                    response.complete = true
                    return response
                }
                while available < size + 2 { guard try fill() else { return response } }
                let piece = Array(buffer[start..<(start + size)])
                start += size + 2
                guard deliver(piece) else { return response }
            }
        } else if let lengthText = response.header("content-length"), let length = Int(lengthText) {
            var left = length
            while left > 0 {
                if available == 0 { guard try fill() else { return response } }
                let n = min(left, available)
                let piece = Array(buffer[start..<(start + n)])
                start += n
                left -= n
                guard deliver(piece) else { return response }
            }
            response.complete = true
            return response
        } else {
            while true {
                if available > 0 {
                    let piece = Array(buffer[start...])
                    start = buffer.count
                    guard deliver(piece) else { return response }
                }
                guard try fill() else { response.complete = true; return response }
            }
        }
    }

    /// Whether the server has closed the connection (reads to the end, waiting up to the
    /// connection's timeout).
    func serverClosed() -> Bool {
        do {
            while try fill() { start = buffer.count }
            return true
        } catch { return false }
    }
}

/// Helpers shared by the fault server's own tests.
enum Loopback {
    /// Runs blocking socket work on a thread of its own, off the cooperative pool (2 cores
    /// here: blocking it would stall every other test).
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
            thread.start()
        }
    }

    /// One request on a new connection.
    static func request(_ port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> WireResponse {
        let connection = try RawConnection(port: port)
        try connection.send(method, path, headers: headers, body: body)
        return try connection.readResponse()
    }

    static func postJSON(_ port: Int, _ path: String, _ value: JSONValue, headers: [(String, String)] = []) throws -> WireResponse {
        try request(port, "POST", path, headers: [("Content-Type", "application/json")] + headers, body: Array(JSONSerializer.string(value).utf8))
    }

    static func get(_ port: Int, _ path: String) throws -> WireResponse { try request(port, "GET", path) }

    /// A chat-completion body as the pipeline writes one: `count` data points in the user
    /// message and the contract's schema shape (only what the server reads matters).
    static func chatBody(count: Int = 3, reason: Bool = true, model: String = "gpt-test", stream: Bool = false, includeUsage: Bool? = nil,
                         maxTokens: Int? = nil, maxCompletionTokens: Int? = nil, tag: String = "") -> JSONValue {
        let points = (1...count).map { "\($0). word\($0)\(tag)#0.2,0,0,0,0,0.8,0,0" }.joined(separator: " | ")
        var entry: JSONObject = ["index": ["type": "integer"]]
        for emotion in ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"] { entry[emotion] = ["type": "number"] }
        if reason { entry["reason"] = ["type": "string"] }
        let schema: JSONValue = ["type": "object", "properties": ["items": ["type": "array", "minItems": .int(count), "maxItems": .int(count),
                                                                            "items": ["type": "object", "properties": .object(entry)]]]]
        var body: JSONObject = ["model": .string(model),
                                "messages": [["role": "system", "content": "Relabel."], ["role": "user", "content": .string(points)]],
                                "response_format": ["type": "json_schema", "json_schema": ["name": "batch", "strict": true, "schema": schema]]]
        if stream { body["stream"] = true }
        if let includeUsage { body["stream_options"] = ["include_usage": .bool(includeUsage)] }
        if let maxTokens { body["max_tokens"] = .int(maxTokens) }
        if let maxCompletionTokens { body["max_completion_tokens"] = .int(maxCompletionTokens) }
        return .object(body)
    }

    /// The `data:` payloads of a server-sent-event stream, in order.
    static func events(_ body: [UInt8]) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : nil
        }
    }

    /// A multipart/form-data body with `purpose` and `file`.
    static func multipart(purpose: String, filename: String = "input.jsonl", file: [UInt8], boundary: String = "fault-test-boundary-7MA4YWxk") -> (contentType: String, body: [UInt8]) {
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n\(purpose)\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/jsonl\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    /// Polls `condition` every 20 ms until it holds or `seconds` pass.
    static func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }
}
