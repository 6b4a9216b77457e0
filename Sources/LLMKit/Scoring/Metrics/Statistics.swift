import Foundation

/// A point estimate with a 95% interval.
public struct Estimate: Sendable, Hashable {
    /// The point value (NaN when there is nothing to estimate).
    public var value: Double
    /// The lower end of the 95% interval (NaN when there is none).
    public var low: Double
    /// The upper end of the 95% interval (NaN when there is none).
    public var high: Double
    /// How many observations it rests on.
    public var n: Int

    /// An estimate from its parts.
    package init(value: Double, low: Double, high: Double, n: Int) {
        self.value = value
        self.low = low
        self.high = high
        self.n = n
    }

    /// As JSON: `{"value", "low", "high", "n"}` (`null` values when n = 0).
    package var json: JSONValue {
        ["value": .double(value), "low": .double(low), "high": .double(high), "n": .int(n)]
    }
}

/// Interval estimates used by the scores (REFERENCE.md section 3).
package enum Statistics {
    /// z for a two-sided 95% interval.
    package static let z95 = 1.959963984540054

    /// Wilson score interval for k successes out of n:
    /// `(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`. Oracles: 12/100 → (0.06999406,
    /// 0.19812099); 0/10 → (0, 0.27753280).
    package static func wilson(_ k: Int, _ n: Int, z: Double = z95) -> Estimate {
        guard n > 0 else { return Estimate(value: .nan, low: .nan, high: .nan, n: 0) }
        let nn = Double(n), p = Double(k) / nn, z2 = z * z
        let center = p + z2 / (2 * nn)
        let spread = z * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        let denominator = 1 + z2 / nn
        return Estimate(value: p, low: max(0, (center - spread) / denominator), high: min(1, (center + spread) / denominator), n: n)
    }

    /// The mean of `values` with a percentile bootstrap interval (B resamples, seeded).
    package static func bootstrapMean(_ values: [Double], resamples: Int = 1000, seed: UInt64 = 20261128) -> Estimate {
        bootstrapMeans([values], resamples: resamples, seed: seed)[0]
    }

    /// ``bootstrapMean(_:resamples:seed:)`` of several series over the same items (equal
    /// lengths), drawing each resample's indices once for all of them: the same numbers as
    /// separate calls, at a fraction of the cost.
    package static func bootstrapMeans(_ series: [[Double]], resamples: Int = 1000, seed: UInt64 = 20261128) -> [Estimate] {
        let count = series.first?.count ?? 0
        precondition(series.allSatisfy { $0.count == count }, "bootstrapMeans needs series over the same items")
        guard count > 0 else { return series.map { _ in Estimate(value: .nan, low: .nan, high: .nan, n: 0) } }
        return pairedBootstrap(count: count, resamples: resamples, seed: seed,
                               observed: series.map { (ExactSum.mean($0), 0) },
                               statistics: series.map { values in { (resampleMean(values, $0), 0) } })
    }

    /// The mean of `values` at `indices`, summed plainly (for resamples, whose percentiles are
    /// all that is used; the point estimate is summed exactly). A tight loop: it runs 1,000
    /// times per metric over every item.
    static func resampleMean(_ values: [Double], _ indices: [Int]) -> Double {
        guard !indices.isEmpty else { return .nan }
        return values.withUnsafeBufferPointer { v in
            indices.withUnsafeBufferPointer { ix in
                var sum = 0.0
                var k = 0
                while k < ix.count { sum += v[ix[k]]; k += 1 }
                return sum / Double(ix.count)
            }
        }
    }

    /// Paired bootstrap of a statistic difference: resamples item indices with replacement,
    /// computes `statistic(a) - statistic(b)` on the same indices, returns the observed
    /// difference with the percentile interval.
    package static func pairedBootstrap(count: Int, resamples: Int = 1000, seed: UInt64 = 20261128,
                                       statistic: ([Int]) -> (Double, Double)) -> Estimate {
        withoutActuallyEscaping(statistic) { pairedBootstrap(count: count, resamples: resamples, seed: seed, statistics: [$0])[0] }
    }

    /// ``pairedBootstrap(count:resamples:seed:statistic:)`` of several statistics over the same
    /// items, drawing each resample's indices once (the same numbers as separate calls).
    package static func pairedBootstrap(count: Int, resamples: Int = 1000, seed: UInt64 = 20261128,
                                       statistics: [([Int]) -> (Double, Double)]) -> [Estimate] {
        pairedBootstrap(count: count, resamples: resamples, seed: seed, observed: nil, statistics: statistics)
    }

    /// The multi-statistic bootstrap; `observed` gives the point values when they are computed
    /// another way than the resamples (exact sums), else the statistics run on all items.
    static func pairedBootstrap(count: Int, resamples: Int, seed: UInt64, observed: [(Double, Double)]?,
                                statistics: [([Int]) -> (Double, Double)]) -> [Estimate] {
        guard count > 0 else { return statistics.map { _ in Estimate(value: .nan, low: .nan, high: .nan, n: 0) } }
        let observed = observed ?? statistics.map { $0(Array(0..<count)) }
        var rng = SplitMix64(seed: seed)
        var differences = statistics.map { _ in [Double]() }
        var indices = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            for i in 0..<count { indices[i] = Int(rng.next() % UInt64(count)) }
            for (k, statistic) in statistics.enumerated() {
                let (x, y) = statistic(indices)
                differences[k].append(x - y)
            }
        }
        return differences.enumerated().map { k, values in
            let sorted = values.sorted()
            return Estimate(value: observed[k].0 - observed[k].1, low: percentile(sorted, 0.025), high: percentile(sorted, 0.975), n: count)
        }
    }

    /// The q-quantile of sorted values, linear interpolation (numpy's default).
    package static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(sorted.count - 1, lower + 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    /// Exact two-sided McNemar test from the discordant counts b and c:
    /// `p = min(1, 2 * sum_{k <= min(b,c)} C(b+c, k) 0.5^(b+c))`. Oracles: (1, 5) → 0.21875;
    /// (10, 0) → 2/1024; (5, 0) → 0.0625.
    package static func mcnemarExact(b: Int, c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        // Sum binomial probabilities in log space so large n does not overflow.
        var total = 0.0
        var logChoose = 0.0   // log C(n, 0)
        let logHalf = Double(n) * log(0.5)
        for k in 0...min(b, c) {
            if k > 0 { logChoose += log(Double(n - k + 1)) - log(Double(k)) }
            total += exp(logChoose + logHalf)
        }
        return min(1, 2 * total)
    }

    /// Holm's step-down adjustment of p-values (same order as given).
    package static func holm(_ pValues: [Double]) -> [Double] {
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = [Double](repeating: 1, count: pValues.count)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, min(1, Double(pValues.count - rank) * pValues[index]))
            adjusted[index] = running
        }
        return adjusted
    }

    /// Median and 95th percentile (linear interpolation).
    package static func p50p95(_ values: [Double]) -> (p50: Double, p95: Double) {
        let sorted = values.sorted()
        return (percentile(sorted, 0.5), percentile(sorted, 0.95))
    }
}

/// SplitMix64: a small, fast, seedable generator, for reproducible resampling, tests and
/// fault injection.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state.
    package var state: UInt64
    /// A generator started at `seed` (the same seed gives the same sequence).
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
