/// A store of answers by request: a response cache as the Batch API executor sees it (the
/// synchronous pipeline reaches the same cache as a middleware). A `--batch-api` run does not
/// submit a request whose answer is stored, and stores every answer it collects, so a rerun
/// pays for nothing twice. Found among the run's client middlewares (`CacheMiddleware` in
/// Providers conforms).
public protocol ResponseStore: Sendable {
    /// The stored answer to `request`, marked ``CompletionResponse/servedFromCache`` with no
    /// attempts; `nil` when there is none (or it cannot be read).
    func answer(for request: CompletionRequest) async -> CompletionResponse?
    /// Stores `response` as the answer to `request`, when the store keeps answers of its kind
    /// (a cache keeps complete answers only: no truncations, refusals or errors). Failing to
    /// store is not an error: the answer is in the journal already or about to be.
    func storeAnswer(_ response: CompletionResponse, for request: CompletionRequest) async
}
