import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 (port 0: the kernel picks a free one) for tests.
///
/// It speaks over real sockets, keeps connections alive, and can misbehave on purpose: answer
/// slowly, stall, or close the connection in the middle of a body. One thread accepts, one
/// thread serves each connection. It counts connections and requests so tests can check reuse.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// A request as the server read it.
    public struct Request: Sendable {
        public var method: String
        /// The path with its query string.
        public var path: String
        /// Header fields with lower-cased names.
        public var headers: [String: String]
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
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

        /// A JSON answer.
        public static func json(_ status: Int, _ text: String, headers: [(String, String)] = [], delay: Double = 0) -> Action {
            .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8), delay: delay)
        }
    }

    public typealias Handler = @Sendable (Request) -> Action

    private struct Counters {
        var connections = 0
        var requests = 0
        var openSockets: Set<Int32> = []
        var stopped = false
    }

    public let port: Int
    private let listener: Int32
    private let handler: Handler
    private let counters = Mutex(Counters())

    /// `http://127.0.0.1:PORT`
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Connections accepted so far.
    public var connectionsAccepted: Int { counters.withLock { $0.connections } }
    /// Requests read so far.
    public var requestsServed: Int { counters.withLock { $0.requests } }

    /// Listens on 127.0.0.1:`port` (0: a free port the kernel picks).
    public init(port requestedPort: UInt16 = 0, handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = requestedPort.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else { close(fd); throw ServerError("bind/listen on 127.0.0.1 failed") }
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
                if errno == EINTR { continue }
                close(listener)
                return
            }
            let accepted = counters.withLock { c -> Bool in
                if c.stopped { return false }
                c.connections += 1
                c.openSockets.insert(client)
                return true
            }
            guard accepted else { close(client); continue }
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
        var buffer: [UInt8] = []
        while let request = readRequest(fd, &buffer) {
            counters.withLock { $0.requests += 1 }
            let keepAlive = request.headers["connection"]?.lowercased() != "close"
            switch handler(request) {
            case .respond(let status, let headers, let body, let delay):
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                if !keepAlive { head += "Connection: close\r\n" }
                head += "\r\n"
                guard write(fd, Array(head.utf8) + body) else { return }
                if !keepAlive { return }
            case .closeMidBody(let status, let declared, let sent):
                let head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n\r\n"
                _ = write(fd, Array(head.utf8) + sent)
                return
            case .closeWithoutResponse:
                return
            }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Request? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if let range = Self.find(terminator, in: buffer) { headerEnd = range; break }
            guard fill(fd, &buffer) else { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { guard fill(fd, &buffer) else { return nil } }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    private func fill(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
