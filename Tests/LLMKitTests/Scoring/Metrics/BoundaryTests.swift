import Foundation
import Testing
@testable import LLMKit

/// Exact sums and the 1e-9 tolerance at the thresholds (REFERENCE.md section 3).
@Suite struct ExactSumTests {
    @Test func knownSums() {
        #expect(ExactSum.sum(Array(repeating: 0.1, count: 10)) == 1.0)               // naive: 0.9999999999999999
        #expect(Array(repeating: 0.1, count: 10).reduce(0, +) != 1.0, "the naive sum really is off")
        #expect(ExactSum.sum([1e16, 1, -1e16]) == 1)                                    // naive: 0
        #expect(ExactSum.sum([1e-16, 1, 1e16]) == 10000000000000002)                   // fsum's half-even correction
        #expect(ExactSum.sum([]) == 0)
        #expect(ExactSum.sum([0.1, .nan]).isNaN && ExactSum.sum([1, .infinity]) == .infinity)
        #expect(ExactSum.mean([]).isNaN && ExactSum.mean([0.2, 0.4]) == 0.30000000000000004)
    }

    @Test func everyOrderOfTheEightValuesGivesTheSameSum() {
        var rng = SplitMix64(seed: 5)
        var differing = 0, naiveDiffering = 0
        for _ in 0..<300 {
            let values = (0..<8).map { _ in Double(rng.next() % 21) * 0.05 / Double(rng.next() % 3 + 1) }
            let sum = ExactSum.sum(values), naive = values.reduce(0, +)
            for _ in 0..<20 {
                let shuffled = values.shuffled(using: &rng)
                if ExactSum.sum(shuffled) != sum { differing += 1 }
                if shuffled.reduce(0, +) != naive { naiveDiffering += 1 }
            }
        }
        #expect(differing == 0)
        #expect(naiveDiffering > 0, "a plain sum does depend on the order of these values")
    }

    @Test(.enabled(if: PythonCheck.available, "python3 with numpy and scipy not found"))
    func agreesWithPythonsFsumBitForBit() async throws {
        var rng = SplitMix64(seed: 17)
        let rows = (0..<200).map { _ in (0..<8).map { _ in Double(rng.next() % 1000) / Double(rng.next() % 97 + 1) } }
        let path = TestPaths.write(JSONValue.array(rows.map { .array($0.map(JSONValue.double)) }).description, name: "rows.json")
        let output = try await OffPool.run {
            try PythonCheck.run(["-c", "import json, math, sys; print(json.dumps([math.fsum(r) for r in json.load(open(sys.argv[1]))]))", path])
        }
        let sums = try #require(try StrictJSON.parse(output).arrayValue)
        #expect(zip(rows, sums).allSatisfy { ExactSum.sum($0) == $1.doubleValue })
    }
}

@Suite struct ThresholdBoundaryTests {
    /// `0.2,0,0.2,0,0,0.3,0.1,0` (sum 0.8) renormalises to surprise 0.125 = 1/C.
    static let oneOverC: [Double] = [0.2, 0, 0.2, 0, 0, 0.3, 0.1, 0]

    /// Over all 8! orders of the emotions: (orders where surprise counts as above 1/C, orders
    /// where it is not exactly 1/8, orders where a naive left-to-right sum puts it above 1/8).
    static func oneOverCInEveryOrder() throws -> (above: Int, notExact: Int, naiveAbove: Int) {
        var above = 0, notExact = 0, naiveAbove = 0
        var permutation = Array(0..<8)
        // Heap's algorithm.
        func visit() throws {
            var raw = [Double](repeating: 0, count: 8)
            for (i, p) in permutation.enumerated() { raw[p] = Self.oneOverC[i] }
            let d = try EmotionDistribution.normalizing(raw).distribution
            let surprise = Emotion(rawValue: permutation[6])!
            if d.isAboveUniform(surprise) { above += 1 }
            if d[surprise] != 0.125 { notExact += 1 }
            if 0.1 / raw.reduce(0, +) > 0.125 { naiveAbove += 1 }
        }
        var c = [Int](repeating: 0, count: 8)
        try visit()
        var i = 0
        while i < 8 {
            if c[i] < i {
                permutation.swapAt(i % 2 == 0 ? 0 : c[i], i)
                try visit()
                c[i] += 1
                i = 0
            } else {
                c[i] = 0
                i += 1
            }
        }
        return (above, notExact, naiveAbove)
    }

    @Test func aValueOfOneOverCIsNotAboveItInAnyOrder() async throws {
        let counts = try await OffPool.run { try Self.oneOverCInEveryOrder() }
        #expect(counts.above == 0)
        #expect(counts.notExact == 0, "the exact sum makes it exactly 1/8 in every order")
        #expect(counts.naiveAbove > 0, "with a naive left-to-right sum some orders put surprise above 1/8")
        // And so macro-F1 does not count it: the reference's surprise (1/8 too) is not a positive either.
        let p = try EmotionDistribution.normalizing(Self.oneOverC).distribution
        let r = try EmotionDistribution.normalizing([0.25, 0, 0.25, 0, 0, 0.375, 0.125, 0]).distribution
        #expect(Scorecard.macroF1([p], [r]) == 3.0 / 8)
    }

    @Test func exactDecimalStepsOfPointZeroFiveAreWithinPointZeroFive() throws {
        // |0.2 - 0.15| is 0.05000000000000002 in binary; |0.45 - 0.4| is 0.04999999999999999.
        let r = try EmotionDistribution.normalizing([0.2, 0.8, 0, 0, 0, 0, 0, 0]).distribution
        let p = try EmotionDistribution.normalizing([0.15, 0.85, 0, 0, 0, 0, 0, 0]).distribution
        #expect(p.maxAbsoluteDifference(to: r) > 0.05, "the binary difference is above 0.05")
        #expect(p.isWithin(0.05, of: r))
        #expect(!p.isWithin(0.01, of: r))
        let q = try EmotionDistribution.normalizing([0.1, 0.9, 0, 0, 0, 0, 0, 0]).distribution
        #expect(!q.isWithin(0.05, of: r), "0.1 away is not within 0.05")
        let item = ScoredItem(id: "x", descriptions: [], reference: r, adjusted: p)
        #expect(item.isUnchanged(tau: 0.05) == true && item.isUnchanged(tau: 1e-6) == false)
    }

    @Test func maximalMeansWithinOneEMinusNineOfTheMaximum() throws {
        let tie = try EmotionDistribution.normalizing([1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0, 0, 0]).distribution
        let written = try EmotionDistribution.normalizing([0.333333333, 0.333333334, 0.333333333, 0, 0, 0, 0, 0]).distribution
        #expect(ArgmaxClass(tie) == .tie && ArgmaxClass(written) == .tie)
        #expect(Set(tie.argmaxSet) == Set(written.argmaxSet))
        let clear = try EmotionDistribution.normalizing([0.33, 0.34, 0.33, 0, 0, 0, 0, 0]).distribution
        #expect(ArgmaxClass(clear) == .emotion(.sad))
    }

    @Test func jsDivergenceIsNeverNegativeAndItsDistanceNeverNaN() throws {
        // p and q equal up to the last bit: the exact sum of the terms may come out a hair below 0.
        var rng = SplitMix64(seed: 9)
        var bad = 0, largest = 0.0
        for _ in 0..<2000 {
            let raw = (0..<8).map { _ in Double(rng.next() % 7) / 3 }
            guard raw.contains(where: { $0 > 0 }) else { continue }
            let p = try EmotionDistribution.normalizing(raw).distribution
            let q = try EmotionDistribution.normalizing(raw.map { $0 * 7 }).distribution
            if p.jsDivergence(to: q) < 0 || p.jsDistance(to: q).isNaN { bad += 1 }
            largest = max(largest, p.jsDistance(to: q))
        }
        #expect(bad == 0)
        #expect(largest < 1e-12, "equal up to the last bit: the distance is tiny, not sqrt(rounding noise) ~ 3e-9: \(largest)")
        // scipy's oracle (REFERENCE.md): jensenshannon([1, 0], [0.5, 0.5]) = 0.46450140402245893.
        #expect(abs(EmotionDistribution.jsDivergence([1, 0], [0.5, 0.5]).squareRoot() - 0.46450140402245893) < 1e-15)
    }

    @Test func diversityTreatsAnswersWithinOneEMinusNineAsTheSame() throws {
        let a = try EmotionDistribution.normalizing([0.3333, 0.3333, 0.3334, 0, 0, 0, 0, 0]).distribution
        let b = try EmotionDistribution.normalizing([0.3333, 0.3333, 0.3334, 0, 0, 0, 0, 0].map { $0 * 3 }).distribution
        let c = EmotionDistribution(oneHot: .happy)
        let items = [a, b, c].enumerated().map { ScoredItem(id: "\($0)", descriptions: [], reference: c, adjusted: $1) }
        #expect(Scorecard.diversityPerChunk(items, chunkSize: 3) == [2.0 / 3])
    }
}
