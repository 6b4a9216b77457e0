import Foundation
import Testing
@testable import LLMKit

/// Every metric of the registry is unchanged when the emotions are permuted (p, r, gold, the
/// shown reference and the prompt's example the same way; class-specific metrics move with
/// their class), when the items come in another order, and when raw values are scaled by a
/// constant before renormalising. Run on ``BoundaryCorpus``, where naive sums and thresholds
/// without tolerance give different answers in different orders.
@Suite struct MetricPropertyTests {
    static let corpus = BoundaryCorpus(count: 150, decimals: 4, seed: 7)

    /// A scorecard of the corpus, with a second run for self-consistency and a gold column.
    static func card(_ items: [ScoredItem], example: EmotionDistribution, chunkSize: Int = 7, repeats: [[EmotionDistribution?]]? = nil) -> Scorecard {
        let second = repeats ?? [items.map(\.adjusted), items.map { $0.shown }]
        return Scorecard.score(label: "c", items: items, example: example, shownDecimals: 4, chunkSize: chunkSize, repeats: second,
                               cost: CostInput(requests: 3, attempts: 4, usage: TokenUsage(), latencies: [0.5, 1]))
    }

    static func same(_ a: Double, _ b: Double, within tolerance: Double = 0) -> Bool {
        (a.isNaN && b.isNaN) || a == b || abs(a - b) <= tolerance
    }

    static func same(_ a: Estimate?, _ b: Estimate?, within tolerance: Double = 0) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.n == b.n && same(a.value, b.value, within: tolerance) && same(a.low, b.low, within: tolerance) && same(a.high, b.high, within: tolerance)
    }

    /// Some permutations, including the reversal and a rotation.
    static let permutations: [[Int]] = {
        var rng = SplitMix64(seed: 3)
        return [Array((0..<8).reversed()), (0..<8).map { ($0 + 3) % 8 }] + (0..<4).map { _ in Array(0..<8).shuffled(using: &rng) }
    }()

    @Test(arguments: permutations)
    func permutingTheEmotionsChangesNoMetric(_ permutation: [Int]) async throws {
        let (base, moved) = try await OffPool.run {
            (Self.card(Self.corpus.items(), example: Self.corpus.example()),
             Self.card(Self.corpus.items(permutation: permutation), example: Self.corpus.example(permutation: permutation)))
        }
        #expect(base.unchangedAsShown!.value > 0.1 && base.echoRate!.value > 0 && base.gold != nil && base.consistency != nil, "the corpus exercises every metric")
        for metric in ScoreMetric.all where metric.section != .byClass {
            #expect(Self.same(metric.estimate(in: base), metric.estimate(in: moved)), "\(metric.key)")
        }
        // Class-specific: the unchanged rate of class c moves to class permutation[c]; tie stays tie.
        func mapped(_ c: ArgmaxClass) -> ArgmaxClass {
            if case .emotion(let e) = c { return .emotion(Emotion(rawValue: permutation[e.rawValue])!) }
            return .tie
        }
        for c in ArgmaxClass.all {
            #expect(Self.same(base.unchangedByClass[c.index], moved.unchangedByClass[mapped(c).index]), "\(c)")
            for d in ArgmaxClass.all {
                #expect(base.transitions.counts[c.index][d.index] == moved.transitions.counts[mapped(c).index][mapped(d).index])
            }
        }
    }

    @Test func itemsInAnotherOrderGiveTheSamePointValues() async throws {
        var rng = SplitMix64(seed: 11)
        let items = Self.corpus.items()
        let order = Array(items.indices).shuffled(using: &rng)
        // One batch, so that diversity does not depend on how items fall into batches.
        let (base, shuffled) = try await OffPool.run {
            (Self.card(items, example: Self.corpus.example(), chunkSize: items.count),
             Self.card(order.map { items[$0] }, example: Self.corpus.example(), chunkSize: items.count,
                       repeats: [order.map { items[$0].adjusted }, order.map { items[$0].shown }]))
        }
        for metric in ScoreMetric.all where metric.key != "self_consistency.alpha_interval" {
            let a = metric.estimate(in: base), b = metric.estimate(in: shuffled)
            #expect(Self.same(a?.value ?? .nan, b?.value ?? .nan), "\(metric.key): \(String(describing: a?.value)) vs \(String(describing: b?.value))")
        }
        // Krippendorff's interval alpha sums over its sorted distinct values: also order-free.
        #expect(Self.same(base.consistency!.alphaInterval, shuffled.consistency!.alphaInterval, within: 1e-12))
    }

    @Test(arguments: [3.0, 0.7, 1e-3, 12.5])
    func scalingRawValuesBeforeRenormalisingChangesNoMetric(_ scale: Double) async throws {
        let (base, scaled) = try await OffPool.run {
            (Self.card(Self.corpus.items(), example: Self.corpus.example()),
             Self.card(Self.corpus.items(scale: scale), example: Self.corpus.example(scale: scale)))
        }
        // "valid" is about the raw sum itself (within the tolerance of 1): scaling changes it by design.
        for metric in ScoreMetric.all where metric.key != "valid" {
            // Rates and counts must be identical (the 1e-9 tolerances absorb the last-bit
            // differences renormalising leaves); means and statistics may move in the last bits.
            let tolerance: Double = switch metric.kind { case .rate, .count: 0; case .mean, .score: 1e-12; case .value: 1e-9 }
            #expect(Self.same(metric.estimate(in: base), metric.estimate(in: scaled), within: tolerance), "\(metric.key) at scale \(scale)")
        }
        #expect(base.transitions == scaled.transitions)
    }

    @Test func withoutToleranceTheCorpusWouldDependOnRounding() {
        // Guard against a corpus too tame to test anything: some answers sit exactly on the
        // thresholds, where the binary value lands a hair on the wrong side.
        let items = Self.corpus.items().filter { $0.adjusted != nil }
        let onTau = items.filter { item in
            let d = item.adjusted!.maxAbsoluteDifference(to: item.reference)
            return d > 0.05 && d <= 0.05 + 1e-9
        }
        #expect(!onTau.isEmpty, "answers 0.05 away in decimal but > 0.05 in binary")
        let atUniform = items.filter { item in item.adjusted!.values.contains { $0 > 0.125 - 1e-9 && $0 <= 0.125 + 1e-9 } }
        #expect(!atUniform.isEmpty, "answers with a value of 1/C")
    }
}
