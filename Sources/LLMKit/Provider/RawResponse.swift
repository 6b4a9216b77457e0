/// An HTTP answer as the server sent it (status, the headers that matter, the body bytes as
/// text), carried beside the decoded response or error so it can be recorded and replayed
/// byte for byte. Registered secrets are scrubbed from the body (``SecretRedactor``): a server
/// that echoes a key back never gets it into a recording or the cache.
public struct RawResponse: Sendable, Hashable {
    public var status: Int
    /// Only ``CompletionResponse/keptHeaderNames``: never credentials or cookies.
    public var headers: [String: String]
    public var body: String

    public init(status: Int, headers: [String: String], body: String) {
        self.status = status
        self.headers = CompletionResponse.keptHeaders(headers)
        self.body = SecretRedactor.shared.scrub(body)
    }
}
