/// A paired comparison of two columns on the items both relabeled: for each compared
/// ``ScoreMetric`` the difference (B − A) with a paired bootstrap interval, and for per-item
/// binary outcomes the exact McNemar p-value (Holm-adjusted when several columns are compared
/// with one baseline).
public struct Comparison: Sendable {
    /// The label of the column compared with (A).
    public var baseline: String
    /// The label of the column compared (B).
    public var other: String
    /// Items both columns relabeled.
    public var pairedItems: Int
    /// One entry per compared metric, in registry order.
    public var metrics: [Metric]

    /// One metric's paired difference.
    public struct Metric: Sendable {
        /// The ``ScoreMetric/key`` (`unchanged.0.05`, `macro_f1`).
        public var name: String
        /// B − A on the paired items, with the paired bootstrap 95% interval.
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
    /// where both columns have it; it is left out when there are none). All metrics share the
    /// bootstrap's resampled indices (one seeded draw per resample).
    package static func compare(_ a: [ScoredItem], labelA: String, _ b: [ScoredItem], labelB: String, seed: UInt64 = 20261128) -> Comparison {
        precondition(a.count == b.count, "compare columns over the same items")
        let both = a.indices.filter { a[$0].adjusted != nil && b[$0].adjusted != nil && a[$0].id == b[$0].id }
        let pa = both.map { a[$0] }, pb = both.map { b[$0] }
        let prepared = ScoreMetric.all.compactMap { metric in metric.pairing.flatMap { prepare(metric.key, $0, pa, pb) } }
        // Metrics over all paired items share one bootstrap; one over fewer items gets its own.
        var differences: [String: Estimate] = [:]
        let shared = prepared.filter { $0.count == both.count }
        let estimates = Statistics.pairedBootstrap(count: both.count, resamples: 1000, seed: seed, observed: shared.map(\.observed),
                                                   statistics: shared.map(\.statistic))
        for (metric, estimate) in zip(shared, estimates) { differences[metric.name] = estimate }
        for metric in prepared where metric.count != both.count {
            differences[metric.name] = Statistics.pairedBootstrap(count: metric.count, resamples: 1000, seed: seed, observed: [metric.observed],
                                                                  statistics: [metric.statistic])[0]
        }
        let metrics = prepared.map { m in
            Metric(name: m.name, difference: differences[m.name]!, pValue: m.pValue, adjustedPValue: m.pValue, discordant: m.discordant)
        }
        return Comparison(baseline: labelA, other: labelB, pairedItems: both.count, metrics: metrics)
    }

    /// A metric ready for the bootstrap: its statistic over resampled indices of its paired items.
    struct Prepared {
        var name: String
        var count: Int
        /// The point values (B, A) over all paired items.
        var observed: (Double, Double)
        /// The values (B, A) over resampled indices.
        var statistic: ([Int]) -> (Double, Double)
        var pValue: Double?
        var discordant: (aOnly: Int, bOnly: Int)?
    }

    /// One metric over paired items; `nil` when no item has the outcome on both sides.
    static func prepare(_ name: String, _ pairing: ScoreMetric.Pairing, _ a: [ScoredItem], _ b: [ScoredItem]) -> Prepared? {
        switch pairing {
        case .binary(let outcome):
            let pairs = zip(a.map(outcome), b.map(outcome)).compactMap { x, y in x.flatMap { x in y.map { (x, $0) } } }
            guard !pairs.isEmpty else { return nil }
            let aOnly = pairs.filter { $0.0 && !$0.1 }.count, bOnly = pairs.filter { !$0.0 && $0.1 }.count
            // Per item: +1 when only B has the outcome, -1 when only A has it; the difference of
            // the two rates is the mean of these.
            let delta = pairs.map { Double(($0.1 ? 1 : 0) - ($0.0 ? 1 : 0)) }
            return Prepared(name: name, count: pairs.count, observed: (ExactSum.mean(delta), 0), statistic: { (Statistics.resampleMean(delta, $0), 0) },
                            pValue: Statistics.mcnemarExact(b: aOnly, c: bOnly), discordant: (aOnly, bOnly))
        case .continuous(let value):
            let pairs = zip(a.map(value), b.map(value)).compactMap { x, y in x.flatMap { x in y.map { (x, $0) } } }
            guard !pairs.isEmpty else { return nil }
            let va = pairs.map(\.0), vb = pairs.map(\.1)
            return Prepared(name: name, count: pairs.count, observed: (ExactSum.mean(vb), ExactSum.mean(va)),
                            statistic: { (Statistics.resampleMean(vb, $0), Statistics.resampleMean(va, $0)) }, pValue: nil, discordant: nil)
        case .corpus(let prepare):
            guard !a.isEmpty else { return nil }
            let sa = prepare(a), sb = prepare(b)
            let all = Array(a.indices)
            return Prepared(name: name, count: a.count, observed: (sb(all), sa(all)), statistic: { (sb($0), sa($0)) }, pValue: nil, discordant: nil)
        }
    }

    /// Applies Holm's correction across comparisons, metric by metric (matched by name).
    package static func holmAdjust(_ comparisons: inout [Comparison]) {
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
    package static func tauName(_ tau: Double) -> String { tau < 1e-3 ? "1e-06" : JSONSerializer.format(tau) }
}
