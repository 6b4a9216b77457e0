/// One item as the scores see it: its reference (and gold), and what a run made of it.
public struct ScoredItem: Sendable {
    public var id: String
    public var descriptions: [String]
    public var reference: EmotionDistribution
    public var gold: EmotionDistribution?
    /// The adjusted distribution, when the item was relabeled.
    public var adjusted: EmotionDistribution?
    /// Whether the raw sum was off by more than the tolerance (renormalised and flagged).
    public var sumOff: Bool
    public var reason: String?
    /// The failure kind, when the item failed.
    public var failure: String?

    public init(id: String, descriptions: [String], reference: EmotionDistribution, gold: EmotionDistribution? = nil,
                adjusted: EmotionDistribution?, sumOff: Bool = false, reason: String? = nil, failure: String? = nil) {
        self.id = id
        self.descriptions = descriptions
        self.reference = reference
        self.gold = gold
        self.adjusted = adjusted
        self.sumOff = sumOff
        self.reason = reason
        self.failure = failure
    }
}

/// What a run cost, when it was run here (not known for scored files).
public struct CostInput: Sendable {
    public var requests: Int
    public var attempts: Int
    public var usage: TokenUsage
    /// Seconds per request.
    public var latencies: [Double]

    public init(requests: Int, attempts: Int, usage: TokenUsage, latencies: [Double]) {
        self.requests = requests
        self.attempts = attempts
        self.usage = usage
        self.latencies = latencies
    }
}

/// Every score of one prompt version × provider (a column of `promptlab score`). Metric
/// definitions: REFERENCE.md section 3. Rates carry Wilson 95% intervals, means a seeded
/// percentile bootstrap interval (1,000 resamples of items).
public struct Scorecard: Sendable {
    /// The laziness thresholds: max_i |p_i - r_i| <= tau.
    public static let taus: [Double] = [1e-6, 0.01, 0.05]

    public var label: String
    public var items: Int
    /// Parsed into a distribution (relabeled), over all items.
    public var relabeled: Estimate
    /// Relabeled with a sum within the tolerance, over all items.
    public var valid: Estimate
    /// Failed items by kind.
    public var failures: [String: Int]
    /// Unchanged rate at each tau, over relabeled items.
    public var unchanged: [Estimate]
    /// The argmax set is the same before and after, over relabeled items.
    public var argmaxUnchanged: Estimate
    public var meanTotalVariation: Estimate
    /// Agreement with the reference (over relabeled items).
    public var agreement: Agreement
    /// Agreement with the gold relabeling, over relabeled items that have one.
    public var gold: Agreement?
    /// The adjusted distribution equals the prompt's example (tau 1e-6), over relabeled items.
    public var echoRate: Estimate?
    /// Mean share of distinct adjusted distributions within a batch.
    public var diversity: Estimate
    /// Self-consistency over repeated runs, when there were repeats.
    public var consistency: Consistency?
    public var cost: Cost?

    /// Argmax agreement, divergence and macro-F1 against one target (reference or gold).
    public struct Agreement: Sendable {
        /// p and the target share at least one maximal class (values within 1e-9 of the maximum).
        public var argmaxAgreement: Estimate
        public var meanJSDivergence: Estimate
        public var meanJSDistance: Estimate
        /// Macro-F1 at the 1/C threshold (strict >), over the corpus.
        public var macroF1: Estimate
    }

    /// Agreement between repeated runs (or providers) on the same items.
    public struct Consistency: Sendable {
        public var runs: Int
        /// Nominal alpha on the argmax (ties go to the first maximal class in emotion order).
        public var alphaNominal: Double
        /// Interval alpha per emotion, averaged over the 8 emotions.
        public var alphaInterval: Double
        /// Mean over items of the mean pairwise JS distance between runs.
        public var meanPairwiseJSDistance: Estimate
    }

    public struct Cost: Sendable {
        public var requests: Int
        public var retries: Int
        public var promptTokensPerItem: Double
        public var completionTokensPerItem: Double
        public var cachedTokensPerItem: Double
        public var latencyP50: Double
        public var latencyP95: Double
    }
}

extension Scorecard {
    /// Scores one column.
    /// - Parameters:
    ///   - example: the prompt's example distribution (for the echo rate), when known.
    ///   - batchSize: items per batch, to group the output for diversity.
    ///   - repeats: the adjusted distributions of every run of this column (the first included), aligned with `items`.
    public static func score(label: String, items: [ScoredItem], example: EmotionDistribution?, batchSize: Int,
                             repeats: [[EmotionDistribution?]] = [], cost: CostInput? = nil, seed: UInt64 = 20261128) -> Scorecard {
        let relabeled = items.filter { $0.adjusted != nil }
        let pairs = relabeled.map { ($0.adjusted!, $0.reference) }
        var failures: [String: Int] = [:]
        for item in items where item.adjusted == nil { failures[item.failure ?? "failed", default: 0] += 1 }

        func rate(_ flags: [Bool]) -> Estimate { Statistics.wilson(flags.filter { $0 }.count, flags.count) }
        func mean(_ values: [Double]) -> Estimate { Statistics.bootstrapMean(values, seed: seed) }

        let maxDiffs = pairs.map { $0.0.maxAbsoluteDifference(to: $0.1) }
        var card = Scorecard(
            label: label, items: items.count,
            relabeled: Statistics.wilson(relabeled.count, items.count),
            valid: Statistics.wilson(relabeled.filter { !$0.sumOff }.count, items.count),
            failures: failures,
            unchanged: taus.map { tau in rate(maxDiffs.map { $0 <= tau }) },
            argmaxUnchanged: rate(pairs.map { $0.0.argmaxSet == $0.1.argmaxSet }),
            meanTotalVariation: mean(pairs.map { $0.0.totalVariation(to: $0.1) }),
            agreement: agreement(pairs, seed: seed),
            gold: nil, echoRate: nil,
            diversity: mean(diversityPerBatch(items, batchSize: batchSize)),
            consistency: nil, cost: nil)
        let withGold = relabeled.compactMap { item in item.gold.map { (item.adjusted!, $0) } }
        if !withGold.isEmpty { card.gold = agreement(withGold, seed: seed) }
        if let example { card.echoRate = rate(relabeled.map { $0.adjusted!.maxAbsoluteDifference(to: example) <= 1e-6 }) }
        if repeats.count >= 2 { card.consistency = consistency(repeats, seed: seed) }
        if let cost, !items.isEmpty {
            let n = Double(items.count)
            let (p50, p95) = Statistics.p50p95(cost.latencies)
            card.cost = Cost(requests: cost.requests, retries: cost.attempts - cost.requests,
                             promptTokensPerItem: Double(cost.usage.promptTokens) / n, completionTokensPerItem: Double(cost.usage.completionTokens) / n,
                             cachedTokensPerItem: Double(cost.usage.cachedTokens) / n, latencyP50: p50, latencyP95: p95)
        }
        return card
    }

    /// Argmax agreement, JSD, JS distance and macro-F1 of (p, target) pairs.
    public static func agreement(_ pairs: [(EmotionDistribution, EmotionDistribution)], seed: UInt64 = 20261128) -> Agreement {
        let jsd = pairs.map { $0.0.jsDivergence(to: $0.1) }
        let f1Point = macroF1(pairs.map(\.0), pairs.map(\.1))
        let f1Interval = Statistics.pairedBootstrap(count: pairs.count, seed: seed) { indices in
            (macroF1(indices.map { pairs[$0].0 }, indices.map { pairs[$0].1 }), 0)
        }
        return Agreement(
            argmaxAgreement: Statistics.wilson(pairs.filter { $0.0.sharesArgmax(with: $0.1) }.count, pairs.count),
            meanJSDivergence: Statistics.bootstrapMean(jsd, seed: seed),
            meanJSDistance: Statistics.bootstrapMean(jsd.map { $0.squareRoot() }, seed: seed),
            macroF1: Estimate(value: f1Point, low: f1Interval.low, high: f1Interval.high, n: pairs.count))
    }

    /// Macro-F1 at 1/C: both sides binarised with a strict `> 1/C`; per class
    /// `F1 = 2TP / (2TP + FP + FN)` (0 when the denominator is 0); the unweighted mean over the
    /// C classes, over the whole corpus.
    public static func macroF1(_ predicted: [EmotionDistribution], _ target: [EmotionDistribution]) -> Double {
        let threshold = 1.0 / Double(Emotion.count)
        var tp = [Double](repeating: 0, count: Emotion.count), fp = tp, fn = tp
        for (p, t) in zip(predicted, target) {
            for c in 0..<Emotion.count {
                let a = p.values[c] > threshold, b = t.values[c] > threshold
                if a && b { tp[c] += 1 } else if a { fp[c] += 1 } else if b { fn[c] += 1 }
            }
        }
        let f1 = (0..<Emotion.count).map { c -> Double in
            let denominator = 2 * tp[c] + fp[c] + fn[c]
            return denominator == 0 ? 0 : 2 * tp[c] / denominator
        }
        return f1.reduce(0, +) / Double(Emotion.count)
    }

    /// Share of distinct adjusted distributions among the relabeled items of each batch
    /// (consecutive groups of `batchSize` items in output order).
    public static func diversityPerBatch(_ items: [ScoredItem], batchSize: Int) -> [Double] {
        stride(from: 0, to: items.count, by: max(1, batchSize)).compactMap { start in
            let batch = items[start..<min(items.count, start + max(1, batchSize))].compactMap(\.adjusted)
            guard !batch.isEmpty else { return nil }
            return Double(Set(batch.map(\.values)).count) / Double(batch.count)
        }
    }

    /// Krippendorff's alpha and mean pairwise JS distance over runs (`runs[run][item]`).
    public static func consistency(_ runs: [[EmotionDistribution?]], seed: UInt64 = 20261128) -> Consistency {
        let units = runs.first?.count ?? 0
        let nominal = Krippendorff.alpha(runs.map { run in run.map { $0.map { Double($0.argmaxSet[0].rawValue) } } }, metric: .nominal)
        let perEmotion = Emotion.allCases.map { e in
            Krippendorff.alpha(runs.map { run in run.map { $0.map { $0[e] } } }, metric: .interval)
        }.filter { !$0.isNaN }
        var pairwise: [Double] = []
        for u in 0..<units {
            let present = runs.compactMap { $0[u] }
            guard present.count >= 2 else { continue }
            var sum = 0.0, count = 0.0
            for i in 0..<present.count { for j in (i + 1)..<present.count { sum += present[i].jsDistance(to: present[j]); count += 1 } }
            pairwise.append(sum / count)
        }
        return Consistency(runs: runs.count, alphaNominal: nominal,
                           alphaInterval: perEmotion.isEmpty ? .nan : perEmotion.reduce(0, +) / Double(perEmotion.count),
                           meanPairwiseJSDistance: Statistics.bootstrapMean(pairwise, seed: seed))
    }
}
