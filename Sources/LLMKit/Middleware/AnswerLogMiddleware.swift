/// Answers a request from the run's ``AnswerLog`` when an earlier (killed) run already paid
/// for it, else asks `next` and writes the answer down before returning it. The outermost
/// middleware of a run, so an answer from the response cache (already on disk) is not written
/// twice.
struct AnswerLogMiddleware: ProviderMiddleware {
    let log: AnswerLog

    func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        let key = request.canonicalHash
        if let answer = await log.answer(for: key) { return answer }
        let response = try await next(request)
        if !response.servedFromCache { await log.record(response, key: key) }
        return response
    }
}
