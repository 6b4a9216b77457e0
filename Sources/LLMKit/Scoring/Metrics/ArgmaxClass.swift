/// The class a distribution points to: its single maximal emotion, or a tie.
///
/// Values within 1e-9 of the maximum count as maximal (``EmotionDistribution/argmaxSet``), so
/// `0.4, 0.4, 0.2` is a tie between angry and sad. About a quarter of MSP-Podcast references
/// have tied maxima; they get their own row and column rather than being forced onto the first
/// tied class (which would make the numbers depend on the order of the emotions).
public enum ArgmaxClass: Sendable, Hashable, CustomStringConvertible {
    /// A single maximal emotion.
    case emotion(Emotion)
    /// Two or more classes share the maximum.
    case tie

    /// The 8 emotions in order, then `tie`: the rows and columns of a ``ClassTransitions``.
    public static let all: [ArgmaxClass] = Emotion.allCases.map { .emotion($0) } + [.tie]

    /// The class of `distribution`.
    public init(_ distribution: EmotionDistribution) {
        let set = distribution.argmaxSet
        self = set.count == 1 ? .emotion(set[0]) : .tie
    }

    /// Position in ``all`` (0...8).
    public var index: Int {
        switch self {
        case .emotion(let e): e.rawValue
        case .tie: Emotion.count
        }
    }

    /// `angry`, ..., `happy`, `tie` (the key used in JSON).
    public var name: String {
        switch self {
        case .emotion(let e): e.name
        case .tie: "tie"
        }
    }

    /// The name.
    public var description: String { name }
}

/// Counts of (argmax of the reference → argmax of the answer) over relabeled items, with the
/// tie class on both sides (REFERENCE.md section 3's tie rule).
public struct ClassTransitions: Sendable, Hashable {
    /// `counts[from.index][to.index]`, 9 × 9 (the 8 emotions, then `tie`).
    public var counts: [[Int]]

    /// An empty matrix.
    package init() {
        counts = Array(repeating: Array(repeating: 0, count: ArgmaxClass.all.count), count: ArgmaxClass.all.count)
    }

    /// The matrix of `(adjusted, reference)` pairs.
    package init<S: Sequence>(pairs: S) where S.Element == (EmotionDistribution, EmotionDistribution) {
        self.init()
        for (adjusted, reference) in pairs { counts[ArgmaxClass(reference).index][ArgmaxClass(adjusted).index] += 1 }
    }

    /// Items whose reference points to `from`.
    public func rowTotal(_ from: ArgmaxClass) -> Int { counts[from.index].reduce(0, +) }

    /// The share of `from`'s items that the answer points to `to` (NaN for an empty row).
    public func rowShare(from: ArgmaxClass, to: ArgmaxClass) -> Double {
        let total = rowTotal(from)
        return total == 0 ? .nan : Double(counts[from.index][to.index]) / Double(total)
    }

    /// Items whose answer points to `to`.
    public func columnTotal(_ to: ArgmaxClass) -> Int { counts.reduce(0) { $0 + $1[to.index] } }

    /// All items counted.
    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

    /// As JSON: `{"classes": [...9 names], "counts": [[...9]...9]}` (rows: the reference).
    package var json: JSONValue {
        ["classes": .array(ArgmaxClass.all.map { .string($0.name) }),
         "counts": .array(counts.map { .array($0.map(JSONValue.int)) })]
    }
}
