/// What to do with raw emotion values whose sum is not 1.
///
/// Values must be finite and non-negative with a positive sum, whatever the policy. A sum
/// within ``tolerance`` of 1 is renormalised silently; beyond it ``outOfTolerance`` decides.
/// The default tolerance, 0.02, absorbs rounding of printed decimals (eight values printed
/// with two decimals are off by at most 0.04 in the worst case, typically much less) while
/// catching answers like 0.9 or 1.25 (DESIGN.md "The output contract").
public struct RenormalizationPolicy: Sendable, Hashable {
    /// What happens beyond the tolerance.
    public enum OutOfTolerance: String, Sendable, Hashable, CaseIterable {
        /// Renormalise and mark the result (`sumWasOff`).
        case flag
        /// Refuse the values.
        case reject
    }

    /// The largest `|sum - 1|` that is renormalised silently.
    public var tolerance: Double
    /// What to do beyond ``tolerance``.
    public var outOfTolerance: OutOfTolerance

    /// A policy; `tolerance` must be finite and >= 0.
    public init(tolerance: Double = 0.02, outOfTolerance: OutOfTolerance = .flag) {
        precondition(tolerance >= 0 && tolerance.isFinite, "tolerance must be finite and >= 0")
        self.tolerance = tolerance
        self.outOfTolerance = outOfTolerance
    }

    /// Tolerance 0.02, renormalise and flag beyond it.
    public static let `default` = RenormalizationPolicy()
    /// Tolerance 0.02, reject beyond it.
    public static let strict = RenormalizationPolicy(outOfTolerance: .reject)
}

/// Why raw values could not become a distribution.
public enum DistributionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not exactly 8 values.
    case wrongCount(Int)
    /// A value is NaN or infinite.
    case nonFinite(Emotion)
    /// A value is below 0 (or above 1 where the caller bounds it).
    case outOfRange(Emotion, Double)
    /// All values are 0.
    case zeroSum
    /// The sum is off by more than the tolerance and the policy rejects it.
    case sumOutOfTolerance(sum: Double, tolerance: Double)
    /// A vote list with no vote for any of the 8 classes.
    case noVotes

    /// What is wrong, for messages (`expected 8 values, found 7`).
    public var description: String {
        switch self {
        case .wrongCount(let n): "expected 8 values, found \(n)"
        case .nonFinite(let e): "value for '\(e)' is not a finite number"
        case .outOfRange(let e, let v): "value for '\(e)' is \(JSONSerializer.format(v)), outside [0, 1]"
        case .zeroSum: "all 8 values are 0 (or sum to less than 1e-9)"
        case .sumOutOfTolerance(let sum, let tolerance):
            "values sum to \(JSONSerializer.format(sum)), more than \(JSONSerializer.format(tolerance)) away from 1"
        case .noVotes: "no vote for any of the 8 emotions"
        }
    }
}
