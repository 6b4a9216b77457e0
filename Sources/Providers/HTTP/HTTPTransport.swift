import LLMKit

/// What a receiver says after each piece of a response body.
public enum BodyVerdict: Sendable {
    /// Keep receiving.
    case `continue`
    /// Stop receiving: the transfer is cut off there and the response so far is returned with
    /// ``HTTPResponse/stoppedByReceiver`` set.
    case stop
}

/// An HTTP request as a provider adapter builds it.
public struct HTTPRequest: Sendable, Equatable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The absolute URL.
    public var url: String
    /// Header fields, in order; names are case-insensitive.
    public var headers: [(name: String, value: String)]
    /// The request body, if any.
    public var body: [UInt8]?
    /// The whole-request deadline (connect + send + receive).
    public var timeout: Duration
    /// Time allowed to establish the connection (`nil`: the transport's own setting).
    public var connectTimeout: Duration?
    /// No byte received for this long fails the request as a timeout (`nil`: only
    /// ``timeout``). Meant for streamed answers, where bytes keep coming while the model works.
    public var stallTimeout: Duration?
    /// The largest body accepted; a larger one fails as `response_too_large` while it arrives.
    public var maximumResponseBytes: Int
    /// Called with each piece of the body as it arrives (on the transport's thread, one call
    /// at a time), for streamed answers; its verdict can stop the transfer.
    public var onBody: (@Sendable (UnsafeRawBufferPointer) -> BodyVerdict)?
    /// Whether the response keeps the body (default). `false` with ``onBody`` streams it: each
    /// piece goes to the receiver only, ``HTTPResponse/body`` stays empty, and
    /// ``maximumResponseBytes`` still counts every byte received (a download to disk).
    public var retainsBody: Bool

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                timeout: Duration = .seconds(600), connectTimeout: Duration? = nil, stallTimeout: Duration? = nil,
                maximumResponseBytes: Int = 32 << 20, onBody: (@Sendable (UnsafeRawBufferPointer) -> BodyVerdict)? = nil,
                retainsBody: Bool = true) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.maximumResponseBytes = maximumResponseBytes
        self.onBody = onBody
        self.retainsBody = retainsBody
    }

    /// Method, URL, headers, body and limits (not the body receiver).
    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body && lhs.timeout == rhs.timeout
            && lhs.connectTimeout == rhs.connectTimeout && lhs.stallTimeout == rhs.stallTimeout && lhs.maximumResponseBytes == rhs.maximumResponseBytes
            && lhs.retainsBody == rhs.retainsBody
            && lhs.headers.map { "\($0.name.lowercased()):\($0.value)" } == rhs.headers.map { "\($0.name.lowercased()):\($0.value)" }
    }

    /// The value of a header field, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// An HTTP response: status, headers and the whole body.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// Header fields with lower-cased names; a repeated field keeps its last value.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]
    /// Whether the request's body receiver stopped the transfer before the end.
    public var stoppedByReceiver: Bool

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], stoppedByReceiver: Bool = false) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        self.body = body
        self.stoppedByReceiver = stoppedByReceiver
    }

    /// The value of a header field, by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Sends HTTP requests. ``CurlTransport`` is the real one (``CurlTransport/shared`` serves a
/// whole process); tests may put a loopback server behind it or use an in-memory double
/// (`LLMKitTestSupport`'s `MockHTTPTransport`).
///
/// Implementations throw `LLMError` with kind `.timeout`, `.transport`, `.responseTooLarge` or
/// `.cancelled` for failures below HTTP; any response with a status, including 4xx and 5xx,
/// is returned. A double that has a whole body at once calls ``HTTPRequest/onBody`` with it.
public protocol HTTPTransport: Sendable {
    /// Sends one request and returns its response.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}
