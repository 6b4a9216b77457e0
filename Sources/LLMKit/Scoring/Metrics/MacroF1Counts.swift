/// Macro-F1 at 1/C prepared for resampling: each item is reduced once to the pair of class sets
/// above 1/C (predicted, target), and a resample only counts how often each distinct pair
/// occurs, so 1,000 bootstrap resamples of a corpus cost little more than counting indices.
struct MacroF1Counts {
    /// For each item, the index of its (predicted, target) pair in ``pairs``.
    private let pairOfItem: [Int]
    /// The distinct (predicted, target) bit masks (bit c: class c is above 1/C + 1e-9).
    private let pairs: [(predicted: UInt8, target: UInt8)]

    init(_ predicted: [EmotionDistribution], _ target: [EmotionDistribution]) {
        func mask(_ d: EmotionDistribution) -> UInt8 {
            Emotion.allCases.reduce(0) { $0 | (d.isAboveUniform($1) ? UInt8(1) << $1.rawValue : 0) }
        }
        var index: [UInt16: Int] = [:]
        var pairs: [(predicted: UInt8, target: UInt8)] = []
        pairOfItem = zip(predicted, target).map { p, t in
            let (a, b) = (mask(p), mask(t))
            let key = UInt16(a) << 8 | UInt16(b)
            if let i = index[key] { return i }
            pairs.append((a, b))
            index[key] = pairs.count - 1
            return pairs.count - 1
        }
        self.pairs = pairs
    }

    /// Items prepared.
    var count: Int { pairOfItem.count }

    /// Macro-F1 over the items at `indices` (repeats count again).
    func value(over indices: [Int]) -> Double {
        var occurrences = [Int](repeating: 0, count: pairs.count)
        occurrences.withUnsafeMutableBufferPointer { counts in
            pairOfItem.withUnsafeBufferPointer { pair in
                indices.withUnsafeBufferPointer { ix in
                    var k = 0
                    while k < ix.count { counts[pair[ix[k]]] += 1; k += 1 }
                }
            }
        }
        return value(occurrences)
    }

    /// Macro-F1 over every item.
    var value: Double { value(over: Array(0..<count)) }

    private func value(_ occurrences: [Int]) -> Double {
        var tp = [Double](repeating: 0, count: Emotion.count), fp = tp, fn = tp
        for (k, (a, b)) in pairs.enumerated() where occurrences[k] > 0 {
            let n = Double(occurrences[k])
            for c in 0..<Emotion.count {
                let x = a & (1 << c) != 0, y = b & (1 << c) != 0
                if x && y { tp[c] += n } else if x { fp[c] += n } else if y { fn[c] += n }
            }
        }
        let f1 = (0..<Emotion.count).map { c -> Double in
            let denominator = 2 * tp[c] + fp[c] + fn[c]
            return denominator == 0 ? 0 : 2 * tp[c] / denominator
        }
        return ExactSum.sum(f1) / Double(Emotion.count)
    }
}
