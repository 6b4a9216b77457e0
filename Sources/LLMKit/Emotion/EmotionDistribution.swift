/// A probability distribution over the 8 emotions.
///
/// The invariants hold by construction: exactly 8 finite values, each >= 0, summing to 1
/// (within 1e-12). The only ways in are votes, raw values passed through a
/// ``RenormalizationPolicy``, a one-hot class and label smoothing of an existing distribution.
public struct EmotionDistribution: Sendable, Hashable, CustomStringConvertible {
    /// The probabilities in ``Emotion`` order.
    public let values: [Double]

    private init(unchecked values: [Double]) { self.values = values }

    /// The probability of one emotion.
    public subscript(emotion: Emotion) -> Double { values[emotion.rawValue] }

    /// The vote share of each class. Votes for "other" or "no agreement" are excluded, so
    /// `[A, A, S, S, N]` gives angry 0.4, sad 0.4, neutral 0.2 (REFERENCE.md section 1).
    public init(votes: some Sequence<EmotionLabel>) throws(DistributionError) {
        var counts = [Double](repeating: 0, count: Emotion.count)
        for vote in votes { if let e = vote.emotion { counts[e.rawValue] += 1 } }
        let total = counts.reduce(0, +)
        guard total > 0 else { throw .noVotes }
        self.init(unchecked: counts.map { $0 / total })
    }

    /// All mass on one class.
    public init(oneHot emotion: Emotion) {
        var values = [Double](repeating: 0, count: Emotion.count)
        values[emotion.rawValue] = 1
        self.init(unchecked: values)
    }

    /// Checks raw values and renormalises them to sum 1 under `policy`.
    ///
    /// Values must be finite and >= 0 and sum to more than 0; when `upperBound` is given
    /// (1 for model answers), a value above it is out of range too.
    public static func normalizing(
        _ raw: [Double], policy: RenormalizationPolicy = .default, upperBound: Double? = nil
    ) throws(DistributionError) -> Normalized {
        guard raw.count == Emotion.count else { throw .wrongCount(raw.count) }
        for (i, v) in raw.enumerated() {
            let emotion = Emotion(rawValue: i)!
            guard v.isFinite else { throw .nonFinite(emotion) }
            guard v >= 0 else { throw .outOfRange(emotion, v) }
            if let upperBound, v > upperBound { throw .outOfRange(emotion, v) }
        }
        // Exact, correctly rounded sum: the same whatever the order of the 8 values, so the
        // renormalised values (and every threshold on them) do not depend on it.
        let sum = ExactSum.sum(raw)
        guard sum >= minimumSum else { throw .zeroSum }
        let off = abs(sum - 1) > policy.tolerance
        if off && policy.outOfTolerance == .reject { throw .sumOutOfTolerance(sum: sum, tolerance: policy.tolerance) }
        // Values that already sum to 1 up to rounding are kept as written (0.6 stays 0.6).
        let values = abs(sum - 1) <= 1e-12 ? raw : raw.map { $0 / sum }
        return Normalized(distribution: EmotionDistribution(unchecked: values), raw: raw, sum: sum, sumWasOff: off)
    }

    /// The smallest sum that is renormalised: values that sum to less (`1e-320` and zeros) are
    /// noise, not a distribution, and fail as `zero_sum`.
    public static let minimumSum = 1e-9

    /// The result of ``normalizing(_:policy:upperBound:)``: the distribution and what it came from.
    public struct Normalized: Sendable, Hashable {
        /// The renormalised distribution.
        public var distribution: EmotionDistribution
        /// The values as given.
        public var raw: [Double]
        /// Their sum.
        public var sum: Double
        /// Whether the sum was off by more than the policy's tolerance (and renormalised anyway).
        public var sumWasOff: Bool
    }

    /// Label smoothing `y' = (1 - eps) * y + eps / C` (REFERENCE.md section 3); with eps = 0.05
    /// a one-hot label becomes 0.95625 on its class and 0.00625 elsewhere.
    public func smoothed(_ epsilon: Double) -> EmotionDistribution {
        precondition(epsilon >= 0 && epsilon <= 1, "smoothing epsilon must be in [0, 1]")
        let c = Double(Emotion.count)
        return EmotionDistribution(unchecked: values.map { (1 - epsilon) * $0 + epsilon / c })
    }

    /// The tie tolerance of the argmax: values within 1e-9 of the maximum count as maximal
    /// (REFERENCE.md section 3). The same rounding rule as every threshold
    /// (``thresholdTolerance``), so the two cannot drift apart.
    package static var argmaxTolerance: Double { thresholdTolerance }

    /// Every class whose value is within 1e-9 of the maximum, in ``Emotion`` order.
    public var argmaxSet: [Emotion] {
        let top = values.max()!
        return Emotion.allCases.filter { values[$0.rawValue] >= top - Self.argmaxTolerance }
    }

    /// Whether the two distributions share at least one maximal class (the argmax agreement
    /// rule with ties, REFERENCE.md section 3).
    public func sharesArgmax(with other: EmotionDistribution) -> Bool {
        !Set(argmaxSet).isDisjoint(with: other.argmaxSet)
    }

    /// The 8 values by name, in ``Emotion`` order (`{angry: 0.4, sad: 0.4, ...}`).
    public var description: String {
        "{" + Emotion.allCases.map { "\($0.name): \(JSONSerializer.format(values[$0.rawValue]))" }.joined(separator: ", ") + "}"
    }
}
