import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 (port 0: the kernel picks a free one) for tests.
///
/// It speaks over real sockets, keeps connections alive, and can misbehave on purpose: answer
/// slowly, stall, close the connection in the middle of a body, or stream a chunked body for as
/// long as the client listens. One thread accepts, one thread serves each connection. It counts
/// connections and requests so tests can check reuse.
///
/// What it accepts: `Content-Length` and `Transfer-Encoding: chunked` request bodies,
/// `Expect: 100-continue` (answered with `100 Continue` before the body is read), HTTP/1.0 and
/// 1.1 keep-alive rules, and pipelined requests. What it refuses: a request head over
/// ``Limits/maxHeaderBytes`` (431), a body over ``Limits/maxBodyBytes`` (413) and a request it
/// cannot parse (400); each of those answers closes the connection.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// A request as the server read it.
    public struct Request: Sendable {
        /// `GET`, `POST`, ...
        public var method: String
        /// The path with its query string.
        public var path: String
        /// Header fields with lower-cased names (a repeated field keeps its last value).
        public var headers: [String: String]
        /// The body, chunked transfer coding removed.
        public var body: [UInt8]
        /// The protocol version of the request line, e.g. `HTTP/1.1`.
        public var version: String = "HTTP/1.1"
        /// The body decoded as UTF-8 (invalid bytes replaced).
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The path without its query string.
        public var route: String { path.firstIndex(of: "?").map { String(path[..<$0]) } ?? path }
        /// The query parameters, percent-decoded (`+` is a space); a repeated name keeps its last value.
        public var query: [String: String] {
            guard let mark = path.firstIndex(of: "?") else { return [:] }
            var result: [String: String] = [:]
            for pair in path[path.index(after: mark)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String {
                    let spaced = s.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
            }
            return result
        }
    }

    /// What to do with a request.
    public enum Action: Sendable {
        /// Answer after `delay` seconds.
        case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], delay: Double = 0)
        /// Send the status line, headers and a `Content-Length` of `declaredLength`, then only
        /// `sent`, then close the connection.
        case closeMidBody(status: Int, declaredLength: Int, sent: [UInt8])
        /// Close the connection without answering.
        case closeWithoutResponse
        /// After `delay` seconds, send the status line and headers with
        /// `Transfer-Encoding: chunked`, then run `produce` on the connection's thread: every
        /// ``StreamWriter/send(_:)-([UInt8])`` is one chunk, sent at once. When `produce`
        /// returns, the closing chunk is sent and the connection stays open for the next
        /// request, unless `produce` called ``StreamWriter/abort()`` (the connection is closed
        /// without the closing chunk) or the client went away.
        case stream(status: Int, headers: [(String, String)] = [], delay: Double = 0, produce: @Sendable (StreamWriter) -> Void)

        /// A JSON answer.
        public static func json(_ status: Int, _ text: String, headers: [(String, String)] = [], delay: Double = 0) -> Action {
            .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8), delay: delay)
        }
    }

    /// Sends the chunks of a streamed answer (``Action/stream(status:headers:delay:produce:)``).
    ///
    /// Used on the connection's own thread only. Every send first checks that the client is
    /// still connected (a zero-length peek) and that the server has not been stopped, so a
    /// producer that loops `while writer.send(...)` ends soon after the client hangs up.
    public final class StreamWriter {
        private let fd: Int32
        private let server: LoopbackHTTPServer
        /// Body bytes sent so far (without the chunk framing).
        public private(set) var bytesSent = 0
        /// Whether chunks can still be sent: false once a send failed, the client hung up,
        /// the server stopped, or ``abort()`` was called.
        public private(set) var isOpen = true
        var aborted = false

        init(fd: Int32, server: LoopbackHTTPServer) {
            self.fd = fd
            self.server = server
        }

        /// Whether the peer still has the connection open (it has not closed or reset it).
        public var clientIsConnected: Bool { LoopbackHTTPServer.peerIsOpen(fd) }

        /// Sends `bytes` as one chunk (nothing for an empty array). Returns false when the
        /// client is gone or the server stopped; the stream is closed from then on.
        @discardableResult
        public func send(_ bytes: [UInt8]) -> Bool {
            guard isOpen else { return false }
            guard !bytes.isEmpty else { return true }
            guard clientIsConnected, !server.isStopped else { isOpen = false; return false }
            var frame = Array(String(bytes.count, radix: 16).utf8)
            frame.reserveCapacity(frame.count + bytes.count + 4)
            frame += [13, 10]
            frame += bytes
            frame += [13, 10]
            guard LoopbackHTTPServer.write(fd, frame) else { isOpen = false; return false }
            bytesSent += bytes.count
            return true
        }

        /// Sends `text` as UTF-8 in one chunk.
        @discardableResult
        public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

        /// Waits `seconds` in short slices; returns false early (and closes the stream) when
        /// the client hangs up or the server stops.
        @discardableResult
        public func pause(_ seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while isOpen {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { return true }
                Thread.sleep(forTimeInterval: min(left, 0.01))
                if !clientIsConnected || server.isStopped { isOpen = false }
            }
            return false
        }

        /// Ends the answer without the closing chunk: the connection is closed, so the client
        /// sees a body cut short.
        public func abort() {
            aborted = true
            isOpen = false
        }
    }

    /// Bounds on what one request may be.
    public struct Limits: Sendable {
        /// The request line and header fields together.
        public var maxHeaderBytes = 64 * 1024
        /// The body (after chunked decoding).
        public var maxBodyBytes = 256 * 1024 * 1024
        /// 64 KiB of head, 256 MiB of body.
        public init() {}
    }

    /// Decides what to do with each request; called on the connection's thread.
    public typealias Handler = @Sendable (Request) -> Action

    private struct Counters {
        var connections = 0
        var requests = 0
        var openSockets: Set<Int32> = []
        var stopped = false
    }

    /// The port listened on.
    public let port: Int
    /// The request bounds this server enforces.
    public let limits: Limits
    private let listener: Int32
    private let handler: Handler
    private let counters = Mutex(Counters())

    /// `http://127.0.0.1:PORT`
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Connections accepted so far.
    public var connectionsAccepted: Int { counters.withLock { $0.connections } }
    /// Requests read so far.
    public var requestsServed: Int { counters.withLock { $0.requests } }
    /// Connections open right now (a streamed answer that noticed its client hung up no
    /// longer counts).
    public var openConnections: Int { counters.withLock { $0.openSockets.count } }
    var isStopped: Bool { counters.withLock { $0.stopped } }

    /// Listens on 127.0.0.1:`port` (0: a free port the kernel picks).
    public init(port requestedPort: UInt16 = 0, limits: Limits = Limits(), handler: @escaping Handler) throws {
        self.handler = handler
        self.limits = limits
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = requestedPort.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServerError("bind/listen on 127.0.0.1:\(requestedPort) failed: \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "loopback-http-accept"
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting and closes every open connection. Safe to call more than once: the
    /// sockets are shut down once, under the lock, so a descriptor number that the system has
    /// since given to another socket is never touched.
    public func stop() {
        counters.withLock { c in
            guard !c.stopped else { return }
            c.stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in c.openSockets { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                let error = errno
                if isStopped { close(listener); return }
                switch error {
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory for a moment: wait instead of dying.
                    usleep(10_000)
                    continue
                default:
                    close(listener)
                    return
                }
            }
            let accepted = counters.withLock { c -> Bool in
                if c.stopped { return false }
                c.connections += 1
                c.openSockets.insert(client)
                return true
            }
            guard accepted else { close(client); continue }
            var yes: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(client) }
            thread.name = "loopback-http-conn"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            counters.withLock { _ = $0.openSockets.remove(fd) }
            close(fd)
        }
        var reader = RequestReader(fd: fd, limits: limits)
        while true {
            let request: Request
            switch reader.next() {
            case .closed:
                return
            case .refused(let status, let message):
                let body = Array("{\"error\":{\"message\":\"\(message)\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}".utf8)
                let head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                if Self.write(fd, Array(head.utf8) + body) { Self.lingeringClose(fd) }
                return
            case .request(let r):
                request = r
            }
            counters.withLock { $0.requests += 1 }
            let connection = request.headers["connection"]?.lowercased() ?? ""
            let keepAlive = request.version == "HTTP/1.0" ? connection.contains("keep-alive") : !connection.contains("close")
            switch handler(request) {
            case .respond(let status, let headers, let body, let delay):
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                let head = Array(Self.head(status: status, headers: headers, framing: "Content-Length: \(body.count)", keepAlive: keepAlive).utf8)
                if body.count <= 64 * 1024 {
                    guard Self.write(fd, head + body) else { return }
                } else {
                    guard Self.write(fd, head), Self.write(fd, body) else { return }
                }
                if !keepAlive { return }
            case .closeMidBody(let status, let declared, let sent):
                let head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n\r\n"
                _ = Self.write(fd, Array(head.utf8) + sent)
                return
            case .closeWithoutResponse:
                return
            case .stream(let status, let headers, let delay, let produce):
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                let head = Self.head(status: status, headers: headers, framing: "Transfer-Encoding: chunked", keepAlive: keepAlive)
                guard Self.write(fd, Array(head.utf8)) else { return }
                let writer = StreamWriter(fd: fd, server: self)
                produce(writer)
                // Aborted, or the client went away, or the server stopped: no closing chunk.
                guard !writer.aborted, writer.isOpen else { return }
                guard Self.write(fd, Array("0\r\n\r\n".utf8)) else { return }
                if !keepAlive { return }
            }
        }
    }

    private static func head(status: Int, headers: [(String, String)], framing: String, keepAlive: Bool) -> String {
        var head = "HTTP/1.1 \(status) \(reason(status))\r\n\(framing)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !keepAlive { head += "Connection: close\r\n" }
        head += "\r\n"
        return head
    }

    /// After an answer that ends the connection early: stop sending, then read (and drop)
    /// what the client is still sending for a moment, so closing with unread input does not
    /// reset the connection before the client has read the answer.
    private static func lingeringClose(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var drained = 0
        while drained < 4 << 20 {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            drained += n
        }
    }

    /// Writes all of `bytes`; false when the connection failed.
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// False once the peer closed or reset the connection; pending unread data (a pipelined
    /// request) does not count as closed.
    static func peerIsOpen(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n > 0 { return true }
        if n == 0 { return false }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}

/// Reads requests off one connection: a reusable receive buffer, a read offset instead of
/// removing consumed bytes, and a terminator search that never rescans what it has seen.
private struct RequestReader {
    enum Outcome {
        case request(LoopbackHTTPServer.Request)
        /// The peer closed the connection (or it failed) between or inside requests.
        case closed
        /// A request that is answered with `status` and the connection closed.
        case refused(status: Int, message: String)
    }

    let fd: Int32
    let limits: LoopbackHTTPServer.Limits
    private var buffer: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    init(fd: Int32, limits: LoopbackHTTPServer.Limits) {
        self.fd = fd
        self.limits = limits
    }

    private var available: Int { buffer.count - start }

    /// Reads more bytes; false at end of stream or on an error.
    private mutating func fill() -> Bool {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[..<n])
            return true
        }
    }

    /// The offset (from `start`) of the first CRLF CRLF at or after `from`.
    private func findHeaderEnd(from: Int) -> Int? {
        buffer.withUnsafeBufferPointer { p in
            var i = start + max(0, from)
            while i + 3 < p.count {
                if p[i] == 13 && p[i + 1] == 10 && p[i + 2] == 13 && p[i + 3] == 10 { return i - start }
                i += 1
            }
            return nil
        }
    }

    /// The offset (from `start`) of the first CRLF at or after `from`.
    private func findLineEnd(from: Int) -> Int? {
        buffer.withUnsafeBufferPointer { p in
            var i = start + max(0, from)
            while i + 1 < p.count {
                if p[i] == 13 && p[i + 1] == 10 { return i - start }
                i += 1
            }
            return nil
        }
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    mutating func next() -> Outcome {
        // The head.
        var scanned = 0
        var headEnd: Int?
        while true {
            if let end = findHeaderEnd(from: scanned) { headEnd = end; break }
            scanned = max(0, available - 3)
            if available > limits.maxHeaderBytes { return .refused(status: 431, message: "request head too large") }
            guard fill() else { return .closed }
        }
        guard let headEnd else { return .closed }
        if headEnd > limits.maxHeaderBytes { return .refused(status: 431, message: "request head too large") }
        let head = String(decoding: buffer[start..<(start + headEnd)], as: UTF8.self)
        start += headEnd + 4
        var lines = head.components(separatedBy: "\r\n")
        // Tolerate empty lines before the request line (RFC 9112 2.2).
        while lines.first?.isEmpty == true { lines.removeFirst() }
        guard !lines.isEmpty else { return .refused(status: 400, message: "empty request") }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: true)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return .refused(status: 400, message: "malformed request line") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .refused(status: 400, message: "malformed header field") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var request = LoopbackHTTPServer.Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: [])
        request.version = String(requestLine[2])

        // The body.
        let chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
        var length = 0
        if !chunked, let declared = headers["content-length"] {
            guard let n = Int(declared), n >= 0 else { return .refused(status: 400, message: "bad Content-Length") }
            length = n
        }
        if length > limits.maxBodyBytes { return .refused(status: 413, message: "request body over \(limits.maxBodyBytes) bytes") }
        if headers["expect"]?.lowercased() == "100-continue" && (chunked || length > available) {
            guard LoopbackHTTPServer.write(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return .closed }
        }
        if chunked {
            switch readChunkedBody() {
            case .success(let body): request.body = body
            case .failure(let outcome): return outcome.value
            }
        } else {
            if buffer.capacity < start + length { buffer.reserveCapacity(start + length) }
            while available < length { guard fill() else { return .closed } }
            request.body = take(length)
        }
        return .request(request)
    }

    private struct Refusal: Error { var value: Outcome }

    private mutating func readChunkedBody() -> Result<[UInt8], Refusal> {
        var body: [UInt8] = []
        while true {
            var lineEnd: Int?
            while true {
                if let end = findLineEnd(from: 0) { lineEnd = end; break }
                if available > 1024 { return .failure(Refusal(value: .refused(status: 400, message: "bad chunk size line"))) }
                guard fill() else { return .failure(Refusal(value: .closed)) }
            }
            let line = String(decoding: take(lineEnd!), as: UTF8.self)
            start += 2
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                return .failure(Refusal(value: .refused(status: 400, message: "bad chunk size")))
            }
            if size == 0 {
                // Trailer fields until an empty line.
                while true {
                    var end: Int?
                    while true {
                        if let e = findLineEnd(from: 0) { end = e; break }
                        if available > limits.maxHeaderBytes { return .failure(Refusal(value: .refused(status: 431, message: "trailers too large"))) }
                        guard fill() else { return .failure(Refusal(value: .closed)) }
                    }
                    let isEmpty = end! == 0
                    start += end! + 2
                    if isEmpty { return .success(body) }
                }
            }
            if body.count + size > limits.maxBodyBytes {
                return .failure(Refusal(value: .refused(status: 413, message: "request body over \(limits.maxBodyBytes) bytes")))
            }
            while available < size + 2 { guard fill() else { return .failure(Refusal(value: .closed)) } }
            body += buffer[start..<(start + size)]
            start += size
            guard buffer[start] == 13, buffer[start + 1] == 10 else {
                return .failure(Refusal(value: .refused(status: 400, message: "chunk without CRLF")))
            }
            start += 2
        }
    }
}

/// A test server could not start, or was configured wrongly.
public struct ServerError: Error, CustomStringConvertible {
    /// What went wrong, in a sentence.
    public var description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
