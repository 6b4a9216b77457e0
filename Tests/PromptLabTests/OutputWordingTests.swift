import Testing
@testable import LLMKit
@testable import PromptLabCLI

/// One meaning per word in what the tool prints: "batch" is a provider's batch API; what the
/// synchronous run has in flight are requests.
@Suite struct OutputWordingTests {
    @Test func theProgressLineCountsRequestsInFlight() {
        let display = ProgressDisplay(quiet: true)
        display.take(.requestSent(RequestInfo(request: 1, items: 30, round: 0, tokenBudget: 100)))
        display.take(.requestSent(RequestInfo(request: 2, items: 30, round: 0, tokenBudget: 100)))
        let line = display.render()
        #expect(line.contains("2 requests in flight") && !line.contains("batch"), "\(line)")
    }

    @Test func theRateLimitHintNamesTheNewOption() {
        let hint = Failure.hint(RunError(.limitTooSmall, "one request costs more than the limit"))
        #expect(hint == "raise --tpm, or lower --items-per-request or --max-tokens")
    }
}
