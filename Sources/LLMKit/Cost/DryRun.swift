/// What a relabel run would send, worked out without sending anything (`relabel --dry-run`):
/// every request of the corpus is rendered exactly as a run renders it
/// (``RelabelConfiguration/request(for:)``) and its prompt tokens estimated
/// (`TokenEstimate`); the completion side is bounded by the sum of the token budgets and
/// expected at `TokenEstimate.expectedCompletionPerItem(_:)` per item, never more than a
/// request's token budget (a fixed `maxTokens` caps the expectation as it caps the answer).
/// Re-asks and split requests are not counted (they depend on the answers).
public struct DryRunEstimate: Sendable, Equatable {
    public var items = 0
    public var requests = 0
    /// Estimated prompt tokens of all requests.
    public var promptTokens = 0
    /// The sum of every request's token budget: the most the answers can cost.
    public var completionBudget = 0
    /// Items × the expected completion tokens per item, each request's share capped at its
    /// token budget: never more than ``completionBudget``.
    public var expectedCompletion = 0
    /// Characters of all messages.
    public var characters = 0

    public init() {}

    /// Usage at the expected completion, or at the budget (`upperBound`).
    public func usage(upperBound: Bool) -> TokenUsage {
        TokenUsage(promptTokens: promptTokens, completionTokens: upperBound ? completionBudget : expectedCompletion)
    }

    /// Reads the dataset (within `limit`, without the ids in `skip`) and estimates every
    /// request of the run `configuration` describes. Blocking: call it on an I/O pool.
    public static func estimate(dataset: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, limit: Int?, skip: Set<String> = [],
                                configuration: RelabelConfiguration) throws(DatasetError) -> DryRunEstimate {
        let cursor = try DatasetCursor(path: dataset, format: format, mapping: mapping, policy: configuration.policy, limit: limit, skip: skip)
        var estimate = DryRunEstimate()
        let perItem = TokenEstimate.expectedCompletionPerItem(configuration.prompt)
        while true {
            let items = try cursor.next(configuration.chunkSize)
            if items.isEmpty { return estimate }
            let request = configuration.request(for: items)
            estimate.items += items.count
            estimate.requests += 1
            estimate.promptTokens += TokenEstimate.promptTokens(request)
            let expected = perItem * items.count
            estimate.completionBudget += request.maxTokens ?? 0
            estimate.expectedCompletion += request.maxTokens.map { min(expected, $0) } ?? expected
            estimate.characters += request.messages.reduce(0) { $0 + $1.content.count }
        }
    }
}
