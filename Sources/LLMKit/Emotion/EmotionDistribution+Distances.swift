import Foundation

/// Distances between distributions (REFERENCE.md section 3; natural logarithms throughout).
extension EmotionDistribution {
    /// `max_i |p_i - q_i|`: the quantity the unchanged rate thresholds at tau.
    public func maxAbsoluteDifference(to other: EmotionDistribution) -> Double {
        zip(values, other.values).map { abs($0 - $1) }.max()!
    }

    /// Total variation `0.5 * sum_i |p_i - q_i|`.
    public func totalVariation(to other: EmotionDistribution) -> Double {
        0.5 * zip(values, other.values).reduce(0) { $0 + abs($1.0 - $1.1) }
    }

    /// Jensen-Shannon divergence `0.5 KL(p||m) + 0.5 KL(q||m)`, `m = (p+q)/2`, zero-mass terms
    /// skipped; bounded by ln 2.
    public func jsDivergence(to other: EmotionDistribution) -> Double {
        Self.jsDivergence(values, other.values)
    }

    /// Jensen-Shannon distance `sqrt(JSD)` (what scipy's `jensenshannon` returns).
    public func jsDistance(to other: EmotionDistribution) -> Double {
        jsDivergence(to: other).squareRoot()
    }

    /// Kullback-Leibler divergence `KL(self || other)` after smoothing both sides with
    /// `epsilon` (> 0), since KL is infinite where a zero meets a non-zero.
    public func klDivergence(to other: EmotionDistribution, smoothing epsilon: Double = 0.05) -> Double {
        precondition(epsilon > 0, "KL is only defined on smoothed distributions: epsilon must be > 0")
        let p = smoothed(epsilon).values, q = other.smoothed(epsilon).values
        return zip(p, q).reduce(0) { $0 + $1.0 * log($1.0 / $1.1) }
    }

    /// JSD of two arbitrary probability vectors of equal length (natural log).
    public static func jsDivergence(_ p: [Double], _ q: [Double]) -> Double {
        precondition(p.count == q.count, "distributions must have the same length")
        var sum = 0.0
        for (a, b) in zip(p, q) {
            let m = (a + b) / 2
            if a > 0 { sum += 0.5 * a * log(a / m) }
            if b > 0 { sum += 0.5 * b * log(b / m) }
        }
        return max(0, sum)
    }
}
