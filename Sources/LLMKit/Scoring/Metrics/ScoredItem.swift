/// One item as the scores see it: its reference (and gold), and what a run made of it.
public struct ScoredItem: Sendable {
    /// The item's id in the dataset.
    public var id: String
    /// The annotators' typed descriptions.
    public var descriptions: [String]
    /// The reference distribution (vote shares), renormalised.
    public var reference: EmotionDistribution
    /// A gold relabeling, when there is one.
    public var gold: EmotionDistribution?
    /// The adjusted distribution, when the item was relabeled.
    public var adjusted: EmotionDistribution?
    /// Whether the raw sum was off by more than the tolerance (renormalised and flagged).
    public var sumOff: Bool
    /// The model's reason, when it gave one.
    public var reason: String?
    /// The failure kind, when the item failed.
    public var failure: String?
    /// The reference as the prompt showed it (rendered at the prompt version's decimals, read
    /// back and renormalised; see `PromptVersion.shownReference(_:)`), when the prompt is known.
    /// A lazy model copies this, not the exact reference.
    public var shown: EmotionDistribution?
    /// A method found no evidence in the descriptions and kept the reference (`no_evidence`
    /// in the line): unchanged for want of evidence, not by choice.
    public var noEvidence = false

    /// An item; `adjusted` is `nil` for an item that failed (say why in `failure`).
    public init(id: String, descriptions: [String], reference: EmotionDistribution, gold: EmotionDistribution? = nil,
                adjusted: EmotionDistribution?, sumOff: Bool = false, reason: String? = nil, failure: String? = nil,
                shown: EmotionDistribution? = nil) {
        self.id = id
        self.descriptions = descriptions
        self.reference = reference
        self.gold = gold
        self.adjusted = adjusted
        self.sumOff = sumOff
        self.reason = reason
        self.failure = failure
        self.shown = shown
    }

    /// `max_i |p_i - r_i| <= tau + 1e-9`; `nil` when the item was not relabeled.
    package func isUnchanged(tau: Double) -> Bool? {
        adjusted.map { $0.isWithin(tau, of: reference) }
    }

    /// The answer equals the reference as shown (renormalised values within 1e-9); `nil` when
    /// the item was not relabeled or the shown reference is unknown.
    package var isUnchangedAsShown: Bool? {
        guard let adjusted, let shown else { return nil }
        return adjusted.isWithin(0, of: shown)
    }

    /// The set of maximal classes (values within 1e-9 of the maximum) is the same in the answer
    /// and the reference; `nil` when the item was not relabeled.
    package var isArgmaxUnchanged: Bool? { adjusted.map { $0.argmaxSet == reference.argmaxSet } }

    /// The edit size `TV(p, r)`; `nil` when the item was not relabeled.
    package var totalVariation: Double? { adjusted.map { $0.totalVariation(to: reference) } }
}

/// What a run cost, when it was run here (not known for scored files).
public struct CostInput: Sendable {
    /// Requests made, answers from the response cache included.
    public var requests: Int
    /// HTTP attempts made, retries included (an answer from the cache is no attempt).
    public var attempts: Int
    /// Requests answered from the response cache (sent to no server).
    public var cacheHits: Int
    /// Tokens used.
    public var usage: TokenUsage
    /// Seconds per request.
    public var latencies: [Double]
    /// Requests whose answer used the whole token budget.
    public var requestsAtBudget: Int
    /// What the tokens cost in US dollars, when a price is known for the model.
    public var dollars: Double?

    /// A run's totals.
    public init(requests: Int, attempts: Int, cacheHits: Int = 0, usage: TokenUsage, latencies: [Double], requestsAtBudget: Int = 0,
                dollars: Double? = nil) {
        self.requests = requests
        self.attempts = attempts
        self.cacheHits = cacheHits
        self.usage = usage
        self.latencies = latencies
        self.requestsAtBudget = requestsAtBudget
        self.dollars = dollars
    }

    /// Attempts beyond the first of each request sent to a server (answers from the cache are
    /// neither attempts nor retries); never negative.
    public var retries: Int { max(0, attempts - max(0, requests - cacheHits)) }
}
