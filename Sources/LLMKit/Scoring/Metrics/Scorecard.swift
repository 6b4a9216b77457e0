/// Every score of one prompt version × provider (a column of `promptlab score`). Metric
/// definitions: REFERENCE.md section 3, with the 1e-9 tolerance at every threshold; each metric
/// is named once in ``ScoreMetric``. Rates carry Wilson 95% intervals, means a seeded
/// percentile bootstrap interval (1,000 resamples of items).
public struct Scorecard: Sendable {
    /// The laziness thresholds: `max_i |p_i - r_i| <= tau + 1e-9`.
    public static let taus: [Double] = [1e-6, 0.01, 0.05]
    /// The tau of ``unchangedByClass``.
    public static let classTau = 0.01
    /// The tau of ``echoRate``.
    public static let echoTau = 1e-6

    /// The column's label (prompt version · provider, a file name, or `--label`).
    public var label: String
    /// Dataset items scored (relabeled or not).
    public var items: Int
    /// Parsed into a distribution (relabeled), over all items.
    public var relabeled: Estimate
    /// Relabeled with a sum within the tolerance, over all items.
    public var valid: Estimate
    /// Failed items by kind.
    public var failures: [String: Int]
    /// Unchanged rate at each of ``taus``, over relabeled items.
    public var unchanged: [Estimate]
    /// The answer equals the reference as the prompt showed it (at its decimals), over
    /// relabeled items; `nil` when the prompt (so its decimals) is unknown.
    public var unchangedAsShown: Estimate?
    /// The decimals the prompt showed references at, when known.
    public var shownDecimals: Int?
    /// The prompt version id the example and decimals came from, when known.
    public var prompt: String?
    /// Unchanged rate at ``classTau`` by the reference's argmax class (8 emotions, then tie;
    /// indexed by ``ArgmaxClass/index``), over relabeled items.
    public var unchangedByClass: [Estimate]
    /// Argmax of the reference → argmax of the answer, over relabeled items.
    public var transitions: ClassTransitions
    /// The argmax set is the same before and after, over relabeled items.
    public var argmaxUnchanged: Estimate
    /// Mean edit size `0.5 * sum |p - r|`, over relabeled items.
    public var meanTotalVariation: Estimate
    /// Agreement with the reference (over relabeled items).
    public var agreement: Agreement
    /// Agreement with the gold relabeling, over relabeled items that have one.
    public var gold: Agreement?
    /// The adjusted distribution equals the prompt's example (tau 1e-6), over relabeled items.
    public var echoRate: Estimate?
    /// Mean share of distinct adjusted distributions within a chunk.
    public var diversity: Estimate
    /// Relabeled items a method marked as without evidence (it kept the reference: a
    /// `lexicon` item with no word in the lexicon), over relabeled items; `nil` when no item
    /// of the column says (the prompted adjustment never does).
    public var noEvidence: Estimate?
    /// Relabeled answers that give all 8 emotions the same value (every class maximal): they
    /// "agree" on the argmax with any reference, so the findings point them out.
    public var uniformAnswers = 0
    /// Self-consistency over repeated runs, when there were repeats.
    public var consistency: Consistency?
    /// What the run cost, when it was run here.
    public var cost: Cost?

    /// Argmax agreement, divergence and macro-F1 against one target (reference or gold).
    public struct Agreement: Sendable {
        /// p and the target share at least one maximal class (values within 1e-9 of the maximum).
        public var argmaxAgreement: Estimate
        /// Mean Jensen-Shannon divergence (natural log).
        public var meanJSDivergence: Estimate
        /// Mean Jensen-Shannon distance (the square root of the divergence).
        public var meanJSDistance: Estimate
        /// Macro-F1 at the 1/C threshold (`> 1/C + 1e-9`), over the corpus.
        public var macroF1: Estimate
    }

    /// Agreement between repeated runs (or providers) on the same items.
    public struct Consistency: Sendable {
        /// Runs compared.
        public var runs: Int
        /// Nominal alpha on the argmax set (a tie is a category of its own).
        public var alphaNominal: Double
        /// Interval alpha per emotion, averaged over the 8 emotions.
        public var alphaInterval: Double
        /// Mean over items of the mean pairwise JS distance between runs.
        public var meanPairwiseJSDistance: Estimate
    }

    /// What the run cost (runs made here only).
    public struct Cost: Sendable {
        /// Requests of the first run.
        public var requests: Int
        /// Attempts beyond the first of the requests sent (not answered from the cache), first run.
        public var retries: Int
        /// Prompt tokens per dataset item.
        public var promptTokensPerItem: Double
        /// Completion tokens per dataset item.
        public var completionTokensPerItem: Double
        /// Prompt tokens served from the server's cache, per item.
        public var cachedTokensPerItem: Double
        /// Median seconds per request.
        public var latencyP50: Double
        /// 95th percentile of seconds per request.
        public var latencyP95: Double
        /// The share of requests whose answer used the whole token budget (a prompt that
        /// makes a model ramble shows here).
        public var shareAtBudget: Double
        /// Dollars per 1,000 items at the model's price, when one is known.
        public var dollarsPer1000Items: Double?
    }
}
