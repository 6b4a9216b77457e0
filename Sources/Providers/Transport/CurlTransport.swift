import Foundation
import LLMKit
import Synchronization
internal import CCurl

/// Settings for a ``CurlTransport``.
public struct CurlTransportConfiguration: Sendable {
    /// Time allowed to establish a connection (TCP and TLS).
    public var connectTimeout: Duration
    /// Connections open at once across all hosts; transfers beyond it wait inside libcurl.
    public var maximumConnections: Int
    /// Redirects followed (to the same scheme, keeping the method and body); `0` follows none.
    public var maximumRedirects: Int
    /// Verify the server's TLS certificate and host name. On by default; turn off only for a
    /// local server with a self-signed certificate.
    public var verifyTLS: Bool
    /// The `User-Agent` header.
    public var userAgent: String

    public init(connectTimeout: Duration = .seconds(10), maximumConnections: Int = 64, maximumRedirects: Int = 5,
                verifyTLS: Bool = true, userAgent: String = "LLMKit/0.2") {
        self.connectTimeout = connectTimeout
        self.maximumConnections = maximumConnections
        self.maximumRedirects = maximumRedirects
        self.verifyTLS = verifyTLS
        self.userAgent = userAgent
    }

    /// Connect timeout 10 s, 64 connections, 5 redirects, TLS verified.
    public static let `default` = CurlTransportConfiguration()
}

/// HTTP over libcurl's multi interface: one thread per transport drives every transfer, so a
/// thousand requests in flight cost a thousand buffers, not a thousand blocked threads.
///
/// Connections are reused (keep-alive, HTTP/2 multiplexing where the server offers it) up to
/// ``CurlTransportConfiguration/maximumConnections``. Each request has a total timeout
/// (``HTTPRequest/timeout``) and a connect timeout (``HTTPRequest/connectTimeout``, else the
/// configured one). Cancelling the calling task
/// removes its transfer at once. Proxies come from the usual environment variables
/// (`http_proxy`, `https_proxy`, `no_proxy`), which libcurl reads itself.
public final class CurlTransport: HTTPTransport {
    private let engine: CurlEngine

    /// The process-wide transport the built-in providers use by default: one libcurl thread
    /// and one connection pool for every provider of the process (after async-http-client's
    /// `HTTPClient.shared`). Never shut down.
    public static let shared = CurlTransport()

    public init(configuration: CurlTransportConfiguration = .default) {
        engine = CurlEngine(configuration: configuration)
    }

    deinit { engine.shutdown() }

    /// Sends `request`. Throws ``LLMError`` with kind `.timeout`, `.transport` or `.cancelled`
    /// when no HTTP response arrives; any status, 4xx and 5xx included, is returned.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(request: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                transfer.continuation = continuation
                engine.submit(transfer)
            }
        } onCancel: {
            engine.cancel(transfer)
        }
    }

    /// Transfers submitted and not yet finished (for tests).
    package var inFlight: Int { engine.inFlight }
}

/// One request's life inside the engine.
final class CurlTransfer: @unchecked Sendable {
    enum Phase { case created, queued, cancelled, finished }

    let request: HTTPRequest
    /// Guarded by `phase`'s lock until submitted, then owned by the engine thread.
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    let phase = Mutex(Phase.created)
    // Owned by the engine thread after submission:
    var easy: UnsafeMutableRawPointer?
    var requestHeaders: UnsafeMutablePointer<curl_slist>?
    var status = 0
    var headers: [String: String] = [:]
    var body: [UInt8] = []
    /// Body bytes received (kept in `body` or not, ``HTTPRequest/retainsBody``).
    var received = 0
    /// Set by the write callback when it cut the transfer off.
    var stoppedByReceiver = false
    var tooLarge = false

    init(request: HTTPRequest) { self.request = request }

    /// Resumes the continuation once; later calls do nothing.
    func finish(_ result: Result<HTTPResponse, any Error>) {
        let continuation = phase.withLock { phase -> CheckedContinuation<HTTPResponse, any Error>? in
            guard phase != .finished else { return nil }
            phase = .finished
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(with: result)
    }
}

/// The multi handle and the thread that drives it.
final class CurlEngine: @unchecked Sendable {
    private struct Inbox {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        var shuttingDown = false
        var inFlight = 0
    }

    private let inbox = Mutex(Inbox())
    private let multi: UnsafeMutableRawPointer
    private let configuration: CurlTransportConfiguration
    /// Transfers added to the multi handle, by easy handle; touched by the engine thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    init(configuration: CurlTransportConfiguration) {
        _ = Self.globalInit
        self.configuration = configuration
        multi = curl_multi_init()
        _ = llmkit_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maximumConnections)
        _ = llmkit_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maximumConnections)
        let thread = Thread { [self] in run() }
        thread.name = "llmkit.curl"
        thread.start()
    }

    var inFlight: Int { inbox.withLock { $0.inFlight } }

    func submit(_ transfer: CurlTransfer) {
        let precancelled = transfer.phase.withLock { phase -> Bool in
            if phase == .cancelled { return true }
            phase = .queued
            return false
        }
        if precancelled {
            transfer.finish(.failure(Self.cancelledError(transfer.request)))
            return
        }
        let refused = inbox.withLock { inbox -> Bool in
            if inbox.shuttingDown { return true }
            inbox.submitted.append(transfer)
            inbox.inFlight += 1
            return false
        }
        if refused {
            transfer.finish(.failure(LLMError(.transport, "The HTTP transport was shut down before the request to \(transfer.request.url) could be sent.")))
            return
        }
        curl_multi_wakeup(multi)
    }

    func cancel(_ transfer: CurlTransfer) {
        let queued = transfer.phase.withLock { phase -> Bool in
            switch phase {
            case .created: phase = .cancelled; return false
            case .queued: return true
            case .cancelled, .finished: return false
            }
        }
        guard queued else { return }
        inbox.withLock { $0.cancelled.append(transfer) }
        curl_multi_wakeup(multi)
    }

    func shutdown() {
        inbox.withLock { $0.shuttingDown = true }
        curl_multi_wakeup(multi)
    }

    private static func cancelledError(_ request: HTTPRequest) -> LLMError {
        LLMError(.cancelled, "The request to \(request.url) was cancelled.")
    }

    // MARK: - Engine thread

    private func run() {
        var running: Int32 = 0
        while true {
            let (submitted, cancelled, shuttingDown) = inbox.withLock { inbox in
                defer { inbox.submitted.removeAll(); inbox.cancelled.removeAll() }
                return (inbox.submitted, inbox.cancelled, inbox.shuttingDown)
            }
            for transfer in submitted { start(transfer) }
            for transfer in cancelled {
                guard let easy = transfer.easy, active[easy] != nil else { continue }
                complete(easy, with: .failure(Self.cancelledError(transfer.request)))
            }
            if shuttingDown {
                for easy in Array(active.keys) {
                    complete(easy, with: .failure(LLMError(.transport, "The HTTP transport was shut down while the request was in flight.")))
                }
                curl_multi_cleanup(multi)
                return
            }
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                if let transfer = active[easy], code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.stoppedByReceiver) {
                    var status = 0
                    _ = llmkit_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                    complete(easy, with: .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body,
                                                               stoppedByReceiver: transfer.stoppedByReceiver)))
                } else if let transfer = active[easy] {
                    complete(easy, with: .failure(Self.error(for: code, transfer: transfer)))
                }
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func start(_ transfer: CurlTransfer) {
        guard let easy = curl_easy_init() else {
            transfer.finish(.failure(LLMError(.transport, "libcurl could not create a transfer.")))
            inbox.withLock { $0.inFlight -= 1 }
            return
        }
        let request = transfer.request
        transfer.easy = easy
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        _ = llmkit_easy_setopt_string(easy, CURLOPT_URL, request.url)
        _ = llmkit_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = llmkit_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
        _ = llmkit_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout ?? configuration.connectTimeout))
        if let stall = request.stallTimeout {
            // Below 1 byte/s for `stall`: libcurl's low-speed limit, which also covers the wait for the first byte.
            _ = llmkit_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = llmkit_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, max(1, Self.milliseconds(stall) / 1000))
        }
        if configuration.maximumRedirects > 0 {
            _ = llmkit_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1)
            _ = llmkit_easy_setopt_long(easy, CURLOPT_MAXREDIRS, configuration.maximumRedirects)
            _ = llmkit_easy_setopt_long(easy, CURLOPT_POSTREDIR, 7 /* CURL_REDIR_POST_ALL: keep POST on 301, 302 and 303 */)
            _ = llmkit_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, request.url.lowercased().hasPrefix("https:") ? "https" : "http")
        }
        _ = llmkit_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
        _ = llmkit_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
        _ = llmkit_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent)
        _ = llmkit_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        _ = llmkit_easy_setopt_pointer(easy, CURLOPT_PRIVATE, context)
        _ = llmkit_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = llmkit_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        _ = llmkit_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        _ = llmkit_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
        switch request.method.uppercased() {
        case "GET": break
        case "POST": _ = llmkit_easy_setopt_long(easy, CURLOPT_POST, 1)
        case "HEAD": _ = llmkit_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        default: _ = llmkit_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            _ = llmkit_easy_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { raw in
                _ = llmkit_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")
        transfer.requestHeaders = list
        _ = llmkit_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
        active[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func complete(_ easy: UnsafeMutableRawPointer, with result: Result<HTTPResponse, any Error>) {
        guard let transfer = active.removeValue(forKey: easy) else { return }
        curl_multi_remove_handle(multi, easy)
        curl_easy_cleanup(easy)
        curl_slist_free_all(transfer.requestHeaders)
        transfer.requestHeaders = nil
        transfer.easy = nil
        inbox.withLock { $0.inFlight -= 1 }
        transfer.finish(result)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let ms = duration.seconds * 1000
        return ms >= Double(Int32.max) ? Int(Int32.max) : max(1, Int(ms.rounded(.up)))
    }

    private static func error(for code: CURLcode, transfer: CurlTransfer) -> LLMError {
        let reason = String(cString: curl_easy_strerror(code))
        let url = transfer.request.url
        if transfer.tooLarge {
            return LLMError(.responseTooLarge, "The answer from \(url) was larger than \(transfer.request.maximumResponseBytes) bytes; receiving stopped there.")
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return LLMError(.timeout, "No complete answer from \(url) within the time limit (\(reason)).")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return LLMError(.transport, "Could not connect to \(url) (\(reason)); is the server running?")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE:
            return LLMError(.transport, "TLS with \(url) failed (\(reason)).")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return LLMError(.configuration, "'\(url)' is not a usable URL, or it redirected to one (\(reason)).")
        case CURLE_TOO_MANY_REDIRECTS:
            return LLMError(.badRequest, "\(url) redirected more times than allowed (\(reason)); last location: \(transfer.headers["location"] ?? "unknown").")
        default:
            return LLMError(.transport, "The connection to \(url) failed (\(reason)).")
        }
    }
}

/// libcurl's write callback: appends body bytes to the transfer, enforces the size limit
/// while receiving, and hands each piece to the request's receiver. Returning less than
/// `length` makes libcurl stop the transfer (`CURLE_WRITE_ERROR`).
private let curlWriteBody: llmkit_data_callback = { data, size, count, context in
    let length = size * count
    guard let data, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    guard transfer.received + length <= transfer.request.maximumResponseBytes else {
        transfer.tooLarge = true
        return 0
    }
    transfer.received += length
    let piece = UnsafeRawBufferPointer(start: data, count: length)
    if transfer.request.retainsBody { transfer.body.append(contentsOf: piece) }
    if let receiver = transfer.request.onBody, receiver(piece) == .stop {
        transfer.stoppedByReceiver = true
        return 0
    }
    return length
}

/// libcurl's header callback: one header line at a time; a new status line starts a new set
/// (after `100 Continue` or a redirect).
private let curlWriteHeader: llmkit_data_callback = { data, size, count, context in
    let length = size * count
    guard let data, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    func trimmed(_ range: Range<Int>) -> String {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper && isSpace(bytes[lower]) { lower += 1 }
        while upper > lower && isSpace(bytes[upper - 1]) { upper -= 1 }
        return String(decoding: bytes[lower..<upper], as: UTF8.self)
    }
    if bytes.starts(with: "HTTP/".utf8) {
        transfer.headers = [:]
    } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
        transfer.headers[trimmed(0..<colon).lowercased()] = trimmed((colon + 1)..<length)
    }
    return length
}
