import LLMKit
public import Providers
import Synchronization

/// An in-memory ``HTTPTransport`` for tests of provider adapters: answers each request with a
/// handler, records what was sent, hands the body to a streaming receiver in pieces of
/// ``pieceSize`` bytes (stopping, and keeping only what was delivered, when the receiver says
/// so, as the real transport does), and enforces the request's size limit the same way.
public final class MockHTTPTransport: HTTPTransport {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse
    private let handler: Handler
    private let sent = Mutex<[HTTPRequest]>([])

    /// The size of the pieces a streaming receiver gets.
    public let pieceSize: Int

    public init(pieceSize: Int = 64, _ handler: @escaping Handler) {
        self.pieceSize = pieceSize
        self.handler = handler
    }

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
            var delivered = 0
            while delivered < response.body.count {
                let end = min(response.body.count, delivered + pieceSize)
                let verdict = response.body[delivered..<end].withUnsafeBytes { receiver($0) }
                delivered = end
                if verdict == .stop {
                    response.body.removeSubrange(delivered...)
                    response.stoppedByReceiver = true
                    break
                }
            }
        }
        return response
    }
}
