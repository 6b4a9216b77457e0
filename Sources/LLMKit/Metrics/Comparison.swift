/// A paired comparison of two columns on the items both relabeled: for each metric the
/// difference (B − A) with a paired bootstrap interval, and for per-item binary outcomes the
/// exact McNemar p-value (Holm-adjusted when several columns are compared with one baseline).
public struct Comparison: Sendable {
    public var baseline: String
    public var other: String
    /// Items both columns relabeled.
    public var pairedItems: Int
    public var metrics: [Metric]

    public struct Metric: Sendable {
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
    public static func compare(_ a: [ScoredItem], labelA: String, _ b: [ScoredItem], labelB: String, seed: UInt64 = 20261128) -> Comparison {
        precondition(a.count == b.count, "compare columns over the same items")
        let both = a.indices.filter { a[$0].adjusted != nil && b[$0].adjusted != nil && a[$0].id == b[$0].id }
        let pa = both.map { (a[$0].adjusted!, a[$0].reference) }
        let pb = both.map { (b[$0].adjusted!, b[$0].reference) }

        func binary(_ name: String, _ flag: ((EmotionDistribution, EmotionDistribution)) -> Bool) -> Metric {
            let fa = pa.map(flag), fb = pb.map(flag)
            let aOnly = zip(fa, fb).filter { $0 && !$1 }.count, bOnly = zip(fa, fb).filter { !$0 && $1 }.count
            let difference = Statistics.pairedBootstrap(count: both.count, seed: seed) { indices in
                (rate(indices.map { fb[$0] }), rate(indices.map { fa[$0] }))
            }
            let p = Statistics.mcnemarExact(b: aOnly, c: bOnly)
            return Metric(name: name, difference: difference, pValue: p, adjustedPValue: p, discordant: (aOnly, bOnly))
        }
        func continuous(_ name: String, _ value: @escaping ((EmotionDistribution, EmotionDistribution)) -> Double) -> Metric {
            let va = pa.map(value), vb = pb.map(value)
            let difference = Statistics.pairedBootstrap(count: both.count, seed: seed) { indices in
                (average(indices.map { vb[$0] }), average(indices.map { va[$0] }))
            }
            return Metric(name: name, difference: difference, pValue: nil, adjustedPValue: nil, discordant: nil)
        }
        var metrics = Scorecard.taus.map { tau in binary("unchanged@\(tauName(tau))") { $0.0.maxAbsoluteDifference(to: $0.1) <= tau } }
        metrics.append(binary("argmax_agreement") { $0.0.sharesArgmax(with: $0.1) })
        metrics.append(continuous("mean_total_variation") { $0.0.totalVariation(to: $0.1) })
        metrics.append(continuous("mean_js_divergence") { $0.0.jsDivergence(to: $0.1) })
        let f1 = Statistics.pairedBootstrap(count: both.count, seed: seed) { indices in
            (Scorecard.macroF1(indices.map { pb[$0].0 }, indices.map { pb[$0].1 }), Scorecard.macroF1(indices.map { pa[$0].0 }, indices.map { pa[$0].1 }))
        }
        metrics.append(Metric(name: "macro_f1", difference: f1, pValue: nil, adjustedPValue: nil, discordant: nil))
        return Comparison(baseline: labelA, other: labelB, pairedItems: both.count, metrics: metrics)
    }

    /// Applies Holm's correction across comparisons, metric by metric.
    public static func holmAdjust(_ comparisons: inout [Comparison]) {
        guard comparisons.count > 1, let names = comparisons.first?.metrics.map(\.name) else { return }
        for (m, _) in names.enumerated() {
            let indices = comparisons.indices.filter { comparisons[$0].metrics[m].pValue != nil }
            let adjusted = Statistics.holm(indices.map { comparisons[$0].metrics[m].pValue! })
            for (k, i) in indices.enumerated() { comparisons[i].metrics[m].adjustedPValue = adjusted[k] }
        }
    }

    /// `1e-06`, `0.01`, `0.05`: how taus are named in keys.
    public static func tauName(_ tau: Double) -> String { tau < 1e-3 ? "1e-06" : JSONSerializer.format(tau) }

    static func rate(_ flags: [Bool]) -> Double { flags.isEmpty ? .nan : Double(flags.filter { $0 }.count) / Double(flags.count) }
    static func average(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
}
