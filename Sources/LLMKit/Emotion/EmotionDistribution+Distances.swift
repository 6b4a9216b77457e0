import Foundation

/// Distances and threshold tests between distributions (REFERENCE.md section 3; natural
/// logarithms throughout).
///
/// Every sum here is exact (correctly rounded, independent of the order of the classes), and
/// every comparison with a threshold tolerates rounding by 1e-9: "within tau" is
/// `d <= tau + 1e-9`, "above 1/C" is `x > 1/C + 1e-9`.
extension EmotionDistribution {
    /// The slack every threshold comparison allows for rounding (REFERENCE.md section 3): GPT-4
    /// moves mass in steps of exactly 0.05, which in binary land on either side of 0.05.
    package static let thresholdTolerance = 1e-9

    /// 1/C, the threshold of the macro-F1 binarisation.
    package static let uniformShare = 1.0 / Double(Emotion.count)

    /// `max_i |p_i - q_i|`: the quantity the unchanged rate thresholds at tau.
    public func maxAbsoluteDifference(to other: EmotionDistribution) -> Double {
        var largest = 0.0
        for i in 0..<Emotion.count { largest = max(largest, abs(values[i] - other.values[i])) }
        return largest
    }

    /// Whether `max_i |p_i - q_i| <= tau + 1e-9` ("unchanged at tau", the laziness test).
    public func isWithin(_ tau: Double, of other: EmotionDistribution) -> Bool {
        maxAbsoluteDifference(to: other) <= tau + Self.thresholdTolerance
    }

    /// Whether the class's value is above 1/C, i.e. `> 1/C + 1e-9` (the macro-F1 binarisation).
    /// `0.2,0,0.2,0,0,0.3,0.1,0` renormalises to surprise 0.125 = 1/8: not above.
    public func isAboveUniform(_ emotion: Emotion) -> Bool {
        values[emotion.rawValue] > Self.uniformShare + Self.thresholdTolerance
    }

    /// Total variation `0.5 * sum_i |p_i - q_i|`.
    public func totalVariation(to other: EmotionDistribution) -> Double {
        0.5 * ExactSum.sum(zip(values, other.values).map { abs($0 - $1) })
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
        return ExactSum.sum(zip(p, q).map { $0 * log($0 / $1) })
    }

    /// JSD of two arbitrary probability vectors of equal length (natural log).
    ///
    /// Per class, with `m = (a+b)/2` and `d = (a-b)/(a+b)`, the two terms
    /// `0.5 a log(a/m) + 0.5 b log(b/m)` are computed together as
    /// `0.5 m [(1+d) log1p(d) + (1-d) log1p(-d)]`: mathematically the same, but its rounding
    /// error shrinks with `d`, so distributions equal up to the last bit give a divergence near
    /// 1e-32 instead of rounding noise near 1e-17 (whose square root, 3e-9, would make the JS
    /// distance depend on how the values were renormalised). A class with zero mass on one side
    /// contributes `0.5 x ln 2`. Each class term is >= 0 (clipped), the terms are summed exactly,
    /// so the distance is never NaN and does not depend on the order of the classes.
    package static func jsDivergence(_ p: [Double], _ q: [Double]) -> Double {
        precondition(p.count == q.count, "distributions must have the same length")
        var terms: [Double] = []
        terms.reserveCapacity(p.count)
        for (a, b) in zip(p, q) where a > 0 || b > 0 {
            if a == 0 || b == 0 { terms.append(0.5 * (a + b) * log(2.0)); continue }
            let m = (a + b) / 2, d = (a - b) / (a + b)
            terms.append(max(0, 0.5 * m * ((1 + d) * log1p(d) + (1 - d) * log1p(-d))))
        }
        return ExactSum.sum(terms)
    }
}
