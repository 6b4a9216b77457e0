/// A paired comparison of two columns on the items both relabeled: for each compared
/// ``ScoreMetric`` the difference (B − A) with a paired bootstrap interval, and for per-item
/// binary outcomes the exact McNemar p-value (Holm-adjusted when several columns are compared
/// with one baseline).
public struct Comparison: Sendable {
    public var baseline: String
    public var other: String
    /// Items both columns relabeled.
    public var pairedItems: Int
    public var metrics: [Metric]

    /// One metric's paired difference.
    public struct Metric: Sendable {
        /// The ``ScoreMetric/key`` (`unchanged.0.05`, `macro_f1`).
        public var name: String
        public var difference: Estimate
        /// Exact McNemar p-value, for binary per-item outcomes.
        public var pValue: Double?
        /// Holm-adjusted p-value (equal to `pValue` when only one comparison is made).
        public var adjustedPValue: Double?
        /// Discordant counts (A only, B only) for binary outcomes.
        public var discordant: (aOnly: Int, bOnly: Int)?
    }

    /// Compares `b` with `a`; both are aligned with the same items (same ids in the same order).
    /// Every metric with a pairing in ``ScoreMetric/all`` is compared, on the items both
    /// columns relabeled (a metric that needs more, such as the shown reference, on the items
    /// where both columns have it; it is left out when there are none).
    public static func compare(_ a: [ScoredItem], labelA: String, _ b: [ScoredItem], labelB: String, seed: UInt64 = 20261128) -> Comparison {
        precondition(a.count == b.count, "compare columns over the same items")
        let both = a.indices.filter { a[$0].adjusted != nil && b[$0].adjusted != nil && a[$0].id == b[$0].id }
        let metrics = ScoreMetric.all.compactMap { metric -> Metric? in
            guard let pairing = metric.pairing else { return nil }
            return compare(metric.key, pairing, both.map { a[$0] }, both.map { b[$0] }, seed: seed)
        }
        return Comparison(baseline: labelA, other: labelB, pairedItems: both.count, metrics: metrics)
    }

    /// One metric over paired items; `nil` when no item has the outcome on both sides.
    static func compare(_ name: String, _ pairing: ScoreMetric.Pairing, _ a: [ScoredItem], _ b: [ScoredItem], seed: UInt64) -> Metric? {
        switch pairing {
        case .binary(let outcome):
            let pairs = zip(a.map(outcome), b.map(outcome)).compactMap { x, y in x.flatMap { x in y.map { (x, $0) } } }
            guard !pairs.isEmpty else { return nil }
            let aOnly = pairs.filter { $0.0 && !$0.1 }.count, bOnly = pairs.filter { !$0.0 && $0.1 }.count
            let difference = Statistics.pairedBootstrap(count: pairs.count, seed: seed) { indices in
                (rate(indices.map { pairs[$0].1 }), rate(indices.map { pairs[$0].0 }))
            }
            let p = Statistics.mcnemarExact(b: aOnly, c: bOnly)
            return Metric(name: name, difference: difference, pValue: p, adjustedPValue: p, discordant: (aOnly, bOnly))
        case .continuous(let value):
            let pairs = zip(a.map(value), b.map(value)).compactMap { x, y in x.flatMap { x in y.map { (x, $0) } } }
            guard !pairs.isEmpty else { return nil }
            let difference = Statistics.pairedBootstrap(count: pairs.count, seed: seed) { indices in
                (average(indices.map { pairs[$0].1 }), average(indices.map { pairs[$0].0 }))
            }
            return Metric(name: name, difference: difference, pValue: nil, adjustedPValue: nil, discordant: nil)
        case .corpus(let statistic):
            guard !a.isEmpty else { return nil }
            let pa = a.map { ($0.adjusted!, $0.reference) }, pb = b.map { ($0.adjusted!, $0.reference) }
            let difference = Statistics.pairedBootstrap(count: a.count, seed: seed) { indices in
                (statistic(indices.map { pb[$0] }), statistic(indices.map { pa[$0] }))
            }
            return Metric(name: name, difference: difference, pValue: nil, adjustedPValue: nil, discordant: nil)
        }
    }

    /// Applies Holm's correction across comparisons, metric by metric (matched by name).
    public static func holmAdjust(_ comparisons: inout [Comparison]) {
        guard comparisons.count > 1 else { return }
        let names = comparisons.flatMap { $0.metrics.map(\.name) }
        let distinct = names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for name in distinct {
            var slots: [(Int, Int)] = []
            for (c, comparison) in comparisons.enumerated() {
                if let m = comparison.metrics.firstIndex(where: { $0.name == name && $0.pValue != nil }) { slots.append((c, m)) }
            }
            let adjusted = Statistics.holm(slots.map { comparisons[$0.0].metrics[$0.1].pValue! })
            for (k, slot) in slots.enumerated() { comparisons[slot.0].metrics[slot.1].adjustedPValue = adjusted[k] }
        }
    }

    /// `1e-06`, `0.01`, `0.05`: how taus are named in keys.
    public static func tauName(_ tau: Double) -> String { tau < 1e-3 ? "1e-06" : JSONSerializer.format(tau) }

    static func rate(_ flags: [Bool]) -> Double { flags.isEmpty ? .nan : Double(flags.filter { $0 }.count) / Double(flags.count) }
    static func average(_ values: [Double]) -> Double { ExactSum.mean(values) }
}
