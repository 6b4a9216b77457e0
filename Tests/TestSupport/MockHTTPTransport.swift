import LLMKit
public import Providers
import Synchronization

/// An in-memory ``HTTPTransport`` for tests of provider adapters: answers each request with a
/// handler, records what was sent, hands the whole body to a streaming receiver (as the real
/// transport does piece by piece), and enforces the request's size limit the same way.
public final class MockHTTPTransport: HTTPTransport {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse
    private let handler: Handler
    private let sent = Mutex<[HTTPRequest]>([])

    public init(_ handler: @escaping Handler) { self.handler = handler }

    /// A transport that answers every request with `status` and `body`.
    public convenience init(status: Int = 200, headers: [String: String] = [:], body: String) {
        self.init { _ in HTTPResponse(status: status, headers: headers, body: Array(body.utf8)) }
    }

    /// Every request sent so far, in order.
    public var requests: [HTTPRequest] { sent.withLock { $0 } }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        sent.withLock { $0.append(request) }
        try Task.checkCancellation()
        var response = try await handler(request)
        guard response.body.count <= request.maximumResponseBytes else {
            throw LLMError(.responseTooLarge, "The answer from \(request.url) was larger than \(request.maximumResponseBytes) bytes.")
        }
        if let receiver = request.onBody {
            let stopped = response.body.withUnsafeBytes { receiver($0) } == .stop
            response.stoppedByReceiver = stopped
        }
        return response
    }
}
