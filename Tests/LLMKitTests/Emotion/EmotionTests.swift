import Foundation
import Testing
@testable import LLMKit

@Suite struct EmotionLabelTests {
    @Test func classesAreInThePapersOrder() {
        #expect(Emotion.allCases.map(\.name) == ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"])
    }

    @Test(arguments: [
        ("Angry", Emotion.angry), ("A", .angry), ("anger", .angry), ("s", .sad), ("Sad", .sad), ("D", .disgust),
        ("contempt", .contempt), ("C", .contempt), ("FEAR", .fear), ("F", .fear), ("Neutral", .neutral), ("N", .neutral),
        ("Surprise", .surprise), ("U", .surprise), ("surprised", .surprise), ("Happy", .happy), ("H", .happy), (" happy ", .happy),
    ])
    func namesAndCodesParseCaseInsensitively(_ text: String, _ emotion: Emotion) {
        #expect(EmotionLabel(parsing: text) == .emotion(emotion))
    }

    @Test func otherAndNoAgreementAreRecognisedAndExcluded() throws {
        #expect(EmotionLabel(parsing: "Other") == .other)
        #expect(EmotionLabel(parsing: "o") == .other)
        #expect(EmotionLabel(parsing: "No agreement") == .noAgreement)
        #expect(EmotionLabel(parsing: "X") == .noAgreement)
        #expect(EmotionLabel(parsing: "bored") == nil)
        #expect(EmotionLabel(parsing: "") == nil)
        let votes = ["A", "A", "S", "S", "N", "Other", "X"].compactMap(EmotionLabel.init(parsing:))
        #expect(votes.count == 7)
        let d = try EmotionDistribution(votes: votes)
        #expect(d[.angry] == 0.4 && d[.sad] == 0.4 && d[.neutral] == 0.2)
        #expect(throws: DistributionError.noVotes) { try EmotionDistribution(votes: [.other, .noAgreement]) }
    }
}

@Suite struct EmotionDistributionTests {
    static func d(_ values: [Double]) -> EmotionDistribution {
        try! EmotionDistribution.normalizing(values, policy: RenormalizationPolicy(tolerance: 1e-6)).distribution
    }

    @Test func renormalisationPolicy() throws {
        let within = try EmotionDistribution.normalizing([0.5, 0.49, 0, 0, 0, 0, 0, 0])
        #expect(!within.sumWasOff)
        #expect(abs(within.distribution.values.reduce(0, +) - 1) < 1e-12)
        #expect(within.raw == [0.5, 0.49, 0, 0, 0, 0, 0, 0])

        let off = try EmotionDistribution.normalizing([0.5, 0.75, 0, 0, 0, 0, 0, 0])
        #expect(off.sumWasOff)
        #expect(off.sum == 1.25)
        #expect(off.distribution[.angry] == 0.4)

        #expect(throws: DistributionError.sumOutOfTolerance(sum: 0.9, tolerance: 0.02)) {
            try EmotionDistribution.normalizing([0.9, 0, 0, 0, 0, 0, 0, 0], policy: .strict)
        }
        #expect(throws: DistributionError.zeroSum) { try EmotionDistribution.normalizing([0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: DistributionError.outOfRange(.sad, -0.1)) { try EmotionDistribution.normalizing([1.1, -0.1, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: DistributionError.outOfRange(.angry, 1.2)) { try EmotionDistribution.normalizing([1.2, 0, 0, 0, 0, 0, 0, 0], upperBound: 1) }
        #expect(throws: DistributionError.nonFinite(.fear)) { try EmotionDistribution.normalizing([0.5, 0, 0, 0, .nan, 0.5, 0, 0]) }
        #expect(throws: DistributionError.nonFinite(.happy)) { try EmotionDistribution.normalizing([0.5, 0, 0, 0, 0, 0.5, 0, .infinity]) }
        #expect(throws: DistributionError.wrongCount(7)) { try EmotionDistribution.normalizing([1, 0, 0, 0, 0, 0, 0]) }
    }

    @Test func toleranceBoundaryIsInclusive() throws {
        let policy = RenormalizationPolicy(tolerance: 0.25, outOfTolerance: .reject)
        #expect(try !EmotionDistribution.normalizing([1.25, 0, 0, 0, 0, 0, 0, 0], policy: policy).sumWasOff)
        #expect(throws: DistributionError.self) { try EmotionDistribution.normalizing([1.5, 0, 0, 0, 0, 0, 0, 0], policy: policy) }
    }

    @Test func labelSmoothingOracle() {
        let smoothed = EmotionDistribution(oneHot: .happy).smoothed(0.05)
        #expect(abs(smoothed[.happy] - 0.95625) < 1e-15)
        for e in Emotion.allCases where e != .happy { #expect(abs(smoothed[e] - 0.00625) < 1e-15) }
    }

    @Test func argmaxTieRule() {
        let tie = Self.d([0.4, 0.4, 0, 0, 0, 0.2, 0, 0])
        #expect(tie.argmaxSet == [.angry, .sad])
        let nearTie = Self.d([0.3, 0.3 - 5e-10, 0, 0, 0, 0.4 - 5e-10 + 5e-10, 0, 0])
        #expect(nearTie.argmaxSet == [.neutral])
        let withinTolerance = Self.d([0.5, 0.5 - 1e-10, 1e-10, 0, 0, 0, 0, 0])
        #expect(withinTolerance.argmaxSet == [.angry, .sad])
        let beyondTolerance = Self.d([0.5, 0.5 - 1e-8, 1e-8, 0, 0, 0, 0, 0])
        #expect(beyondTolerance.argmaxSet == [.angry])
        #expect(tie.sharesArgmax(with: EmotionDistribution(oneHot: .sad)))
        #expect(!tie.sharesArgmax(with: EmotionDistribution(oneHot: .neutral)))
    }

    @Test func jensenShannonOracles() {
        // scipy.spatial.distance.jensenshannon([1,0],[0.5,0.5]) = 0.46450140402245893 (REFERENCE.md 3)
        let p = EmotionDistribution(oneHot: .angry)
        let q = Self.d([0.5, 0.5, 0, 0, 0, 0, 0, 0])
        #expect(abs(p.jsDistance(to: q) - 0.46450140402245893) < 1e-15)
        // base 2: ([1,0,0],[0,1,0]) -> 1.0, i.e. JSD = ln 2 in nats
        let a = EmotionDistribution(oneHot: .angry), b = EmotionDistribution(oneHot: .sad)
        #expect(abs(a.jsDivergence(to: b) - log(2)) < 1e-15)
        #expect(abs((a.jsDivergence(to: b) / log(2)).squareRoot() - 1.0) < 1e-15)
        #expect(a.jsDivergence(to: a) == 0)
    }

    @Test func distancesAgreeWithAnIndependentComputation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let raw1 = (0..<8).map { _ in Bool.random(using: &generator) ? Double.random(in: 0...1, using: &generator) : 0 } + []
            let raw2 = (0..<8).map { _ in Double.random(in: 0...1, using: &generator) }
            guard raw1.reduce(0, +) > 0 else { continue }
            let p = Self.d(raw1.map { $0 / raw1.reduce(0, +) }), q = Self.d(raw2.map { $0 / raw2.reduce(0, +) })
            let pv = p.values, qv = q.values
            // TV as half the L1 norm; JSD via entropies: H(m) - (H(p)+H(q))/2.
            let tv = (0..<8).map { abs(pv[$0] - qv[$0]) }.reduce(0, +) / 2
            func entropy(_ x: [Double]) -> Double { -x.filter { $0 > 0 }.map { $0 * log($0) }.reduce(0, +) }
            let m = (0..<8).map { (pv[$0] + qv[$0]) / 2 }
            let jsd = entropy(m) - (entropy(pv) + entropy(qv)) / 2
            #expect(abs(p.totalVariation(to: q) - tv) < 1e-12)
            #expect(abs(p.jsDivergence(to: q) - jsd) < 1e-12)
            #expect(p.jsDivergence(to: q) <= log(2) + 1e-15)
            #expect(p.maxAbsoluteDifference(to: q) == (0..<8).map { abs(pv[$0] - qv[$0]) }.max()!)
            // KL on smoothed values: cross-entropy minus entropy.
            let ps = pv.map { 0.95 * $0 + 0.05 / 8 }, qs = qv.map { 0.95 * $0 + 0.05 / 8 }
            let kl = -(0..<8).map { ps[$0] * log(qs[$0]) }.reduce(0, +) - entropy(ps)
            #expect(abs(p.klDivergence(to: q) - kl) < 1e-12)
        }
    }
}
