import Foundation

/// Fits the mix of a method's evidence into the reference (``EvidenceMix``: the weight `w` and
/// the temperature `T`) to a gold relabeling, cross-validated: the items are split into `k`
/// folds by a hash of their id; for each fold the (w, T) with the least mean JS divergence to
/// the gold on the other folds is chosen and scored on the fold itself. The held-out figures
/// (``Result/crossValidatedJS``, ``Result/crossValidatedArgmax``) say what the fit is worth on
/// items it did not see; the values to use (``Result/weight``, ``Result/temperature``) are
/// then fitted on all items.
///
/// Only items with evidence and a gold take part (a `no_evidence` item keeps its reference
/// whatever the mix). The fit reads nothing but the evidence recorded in each line
/// (``Relabel/evidence``), so it asks no model: `promptlab fit` runs it over a finished run.
public enum EvidenceFit {
    /// One item: its reference, the method's evidence (8 values summing to 1) and the gold.
    public struct Sample: Sendable {
        /// The item's id (its fold is a hash of it).
        public var id: String
        /// The item's reference distribution.
        public var reference: EmotionDistribution
        /// The method's evidence before the mix (8 values summing to 1, ``Emotion`` order).
        public var evidence: [Double]
        /// The gold relabeling the fit approaches.
        public var gold: EmotionDistribution
        /// A sample.
        public init(id: String, reference: EmotionDistribution, evidence: [Double], gold: EmotionDistribution) {
            self.id = id
            self.reference = reference
            self.evidence = evidence
            self.gold = gold
        }
    }

    /// One fold: the values fitted on the other folds and how they do on this one.
    public struct Fold: Sendable, Equatable {
        /// The fold's number, from 0.
        public var index: Int
        /// Its items.
        public var items: Int
        /// The weight and temperature fitted on the other folds.
        public var weight: Double
        /// See ``weight``.
        public var temperature: Double
        /// Mean JS divergence to the gold on this fold: with the fitted mix, and unchanged (the reference).
        public var js: Double
        /// See ``js``.
        public var jsUnchanged: Double
        /// Share of this fold's items whose answer shares a maximal class with the gold.
        public var argmax: Double
        /// The same for the reference unchanged.
        public var argmaxUnchanged: Double
    }

    /// The fit.
    public struct Result: Sendable, Equatable {
        /// The weight and temperature fitted on all items: the values to use.
        public var weight: Double
        /// See ``weight``.
        public var temperature: Double
        /// Whether the tie-preserving mix was fitted.
        public var preservesTies: Bool
        /// Each fold's values and held-out figures.
        public var folds: [Fold]
        /// Items that took part.
        public var items: Int
        /// Mean JS divergence to the gold of every item, each mixed with the values fitted
        /// without its fold (the cross-validated estimate), and of the reference unchanged.
        public var crossValidatedJS: Double
        /// See ``crossValidatedJS``.
        public var unchangedJS: Double
        /// Argmax agreement with the gold, the same way.
        public var crossValidatedArgmax: Double
        /// See ``crossValidatedArgmax``.
        public var unchangedArgmax: Double

        /// `{"weight", "temperature", "preserve_ties", "folds", "items", "cv_js", "cv_argmax",
        /// "unchanged_js", "unchanged_argmax", "per_fold": [...]}` (the journal header's `fitted`).
        public var json: JSONValue {
            let perFold: [JSONValue] = folds.map {
                ["fold": .int($0.index + 1), "items": .int($0.items), "weight": .double($0.weight), "temperature": .double($0.temperature),
                 "js": .double($0.js), "js_unchanged": .double($0.jsUnchanged), "argmax": .double($0.argmax), "argmax_unchanged": .double($0.argmaxUnchanged)]
            }
            return ["weight": .double(weight), "temperature": .double(temperature), "preserve_ties": .bool(preservesTies),
                    "folds": .int(folds.count), "items": .int(items), "cv_js": .double(crossValidatedJS), "cv_argmax": .double(crossValidatedArgmax),
                    "unchanged_js": .double(unchangedJS), "unchanged_argmax": .double(unchangedArgmax), "per_fold": .array(perFold)]
        }

        /// The mix to apply.
        public var mix: EvidenceMix { EvidenceMix(weight: weight, temperature: temperature, preservesTies: preservesTies) }
    }

    /// The weights tried: 0 to 0.5 in steps of 0.01.
    public static let defaultWeights: [Double] = (0...50).map { Double($0) / 100 }
    /// The temperatures tried.
    public static let defaultTemperatures: [Double] = [0.5, 0.75, 1, 1.5, 2, 3, 5, 8]

    /// The fold of an item: FNV-1a of its id, modulo `folds` (stable across runs and machines).
    public static func fold(of id: String, folds: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(max(1, folds)))
    }

    /// Fits (w, T) by `folds`-fold cross-validation over the grid `weights` × `temperatures`
    /// (ties to the smaller weight, then the temperature nearer 1). Needs at least `folds`
    /// samples and 2 folds.
    public static func fit(_ samples: [Sample], folds: Int = 5, preservesTies: Bool = false,
                           weights: [Double] = defaultWeights, temperatures: [Double] = defaultTemperatures) -> Result {
        let k = max(2, folds)
        let grid = temperatures.sorted { abs(log($0)) < abs(log($1)) }.flatMap { t in weights.sorted().map { (w: $0, t: t) } }
        let foldOf = samples.map { fold(of: $0.id, folds: k) }
        var foldSizes = [Int](repeating: 0, count: k)
        for f in foldOf { foldSizes[f] += 1 }
        // sums[c][f]: the summed JS divergence of fold f's items under candidate c.
        var sums = [[Double]](repeating: [Double](repeating: 0, count: k), count: grid.count)
        for (c, candidate) in grid.enumerated() {
            let mix = EvidenceMix(weight: candidate.w, temperature: candidate.t, preservesTies: preservesTies)
            for (i, sample) in samples.enumerated() {
                let p = mix.apply(reference: sample.reference, evidence: sample.evidence)
                sums[c][foldOf[i]] += p.jsDivergence(to: sample.gold)
            }
        }
        func best(excluding fold: Int?) -> Int {
            var chosen = 0, least = Double.infinity
            for c in grid.indices {
                let total = sums[c].enumerated().reduce(0) { $0 + ($1.offset == fold ? 0 : $1.element) }
                if total < least - 1e-12 { least = total; chosen = c }
            }
            return chosen
        }
        var results: [Fold] = []
        var js = 0.0, jsUnchanged = 0.0, agree = 0, agreeUnchanged = 0
        for f in 0..<k {
            let c = best(excluding: f)
            let mix = EvidenceMix(weight: grid[c].w, temperature: grid[c].t, preservesTies: preservesTies)
            var fold = Fold(index: f, items: foldSizes[f], weight: grid[c].w, temperature: grid[c].t, js: 0, jsUnchanged: 0, argmax: 0, argmaxUnchanged: 0)
            var a = 0, au = 0
            for (i, sample) in samples.enumerated() where foldOf[i] == f {
                let p = mix.apply(reference: sample.reference, evidence: sample.evidence)
                fold.js += p.jsDivergence(to: sample.gold)
                fold.jsUnchanged += sample.reference.jsDivergence(to: sample.gold)
                if p.sharesArgmax(with: sample.gold) { a += 1 }
                if sample.reference.sharesArgmax(with: sample.gold) { au += 1 }
            }
            js += fold.js
            jsUnchanged += fold.jsUnchanged
            agree += a
            agreeUnchanged += au
            let n = Double(max(1, fold.items))
            fold.js /= n
            fold.jsUnchanged /= n
            fold.argmax = Double(a) / n
            fold.argmaxUnchanged = Double(au) / n
            results.append(fold)
        }
        let all = best(excluding: nil)
        let n = Double(max(1, samples.count))
        return Result(weight: grid[all].w, temperature: grid[all].t, preservesTies: preservesTies, folds: results, items: samples.count,
                      crossValidatedJS: js / n, unchangedJS: jsUnchanged / n,
                      crossValidatedArgmax: Double(agree) / n, unchangedArgmax: Double(agreeUnchanged) / n)
    }
}
