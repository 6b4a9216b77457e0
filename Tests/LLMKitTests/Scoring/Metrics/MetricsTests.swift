import Foundation
import Testing
@testable import LLMKit

@Suite struct StatisticsOracleTests {
    @Test func wilsonOracles() {
        let a = Statistics.wilson(12, 100)
        #expect(abs(a.low - 0.06999406) < 1e-8 && abs(a.high - 0.19812099) < 1e-8)
        let b = Statistics.wilson(0, 10)
        #expect(b.low == 0 && abs(b.high - 0.27753280) < 1e-8)
        #expect(Statistics.wilson(0, 0).n == 0)
    }

    @Test func mcnemarOracles() {
        #expect(abs(Statistics.mcnemarExact(b: 1, c: 5) - 0.21875) < 1e-15)
        #expect(abs(Statistics.mcnemarExact(b: 10, c: 0) - 2.0 / 1024) < 1e-15)
        #expect(abs(Statistics.mcnemarExact(b: 5, c: 0) - 0.0625) < 1e-15)
        #expect(Statistics.mcnemarExact(b: 0, c: 0) == 1)
        #expect(Statistics.mcnemarExact(b: 7, c: 7) == 1)
        // Large counts do not overflow: symmetric p for (400, 430) is moderate.
        let p = Statistics.mcnemarExact(b: 400, c: 430)
        #expect(p > 0.2 && p < 0.4)
    }

    @Test func holmStepDown() {
        let adjusted = Statistics.holm([0.01, 0.04, 0.03])
        // Sorted 0.01, 0.03, 0.04 -> 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04)
        #expect(zip(adjusted, [0.03, 0.06, 0.06]).allSatisfy { abs($0 - $1) < 1e-15 })
    }

    @Test func bootstrapIsSeededAndBracketsTheMean() {
        let values = (0..<500).map { Double($0 % 17) / 17 }
        let a = Statistics.bootstrapMean(values), b = Statistics.bootstrapMean(values)
        #expect(a == b)
        #expect(a.low < a.value && a.value < a.high)
        #expect(abs(a.value - values.reduce(0, +) / 500) < 1e-15)
        #expect(Statistics.bootstrapMean(values, seed: 1) != a)
    }

    @Test func krippendorffOracle() {
        // Wikipedia's example (REFERENCE.md section 3): 3 coders x 15 units.
        let n: Double? = nil
        let data: [[Double?]] = [
            [n, n, n, n, n, 3, 4, 1, 2, 1, 1, 3, 3, n, 3],
            [1, n, 2, 1, 3, 3, 4, 3, n, n, n, n, n, n, n],
            [n, n, 2, 1, 3, 4, 4, n, 2, 1, 1, 3, 3, n, 4],
        ]
        #expect(abs(Krippendorff.alpha(data, metric: .nominal) - 0.691358024691358) < 1e-12)
        #expect(abs(Krippendorff.alpha(data, metric: .interval) - 0.8108448928121059) < 1e-12)
        #expect(Krippendorff.alpha([[1, 1], [1, 1]], metric: .nominal).isNaN, "no disagreement possible")
    }

    @Test func macroF1ByHand() {
        let a = EmotionDistribution(oneHot: .angry), s = EmotionDistribution(oneHot: .sad)
        // angry: TP 1, FN 1 -> 2/3; sad: FP 1 -> 0; the other 6 classes have no positives -> 0.
        #expect(abs(Scorecard.macroF1([a, s], [a, a]) - (2.0 / 3) / 8) < 1e-15)
        #expect(Scorecard.macroF1([a, s], [a, s]) == 2.0 / 8)
    }

    @Test func exampleDistributionsAreFoundInPromptText() throws {
        let bundled = try PromptVersion.load(contentsOf: TestPaths.prompt("paper-reason.prompt"))
        #expect(bundled.exampleDistribution?.values == [0, 0.1, 0, 0, 0.2, 0.6, 0.1, 0])
        let plain = PromptVersion(name: "p", systemText: "Generated Labels: {'angry': 0.1, 'sad': 0.2, 'disgust': 0.2, 'contempt': 0.3, 'fear': 0.0, 'neutral': 0.2, 'surprise': 0.0, 'happy': 0.0, \"reason\": \"\"}")
        #expect(plain.exampleDistribution?.values == [0.1, 0.2, 0.2, 0.3, 0, 0.2, 0, 0])
        #expect(PromptVersion(name: "p", systemText: "no example").exampleDistribution == nil)
    }
}

@Suite struct ScorecardTests {
    static func item(_ id: Int, _ r: EmotionDistribution, _ p: EmotionDistribution?) -> ScoredItem {
        ScoredItem(id: "u\(id)", descriptions: [], reference: r, adjusted: p, failure: p == nil ? "missing_index" : nil)
    }

    @Test func lazinessEchoAndDiversity() throws {
        let neutral = EmotionDistribution(oneHot: .neutral)
        let example = try EmotionDistribution.normalizing([0, 0.1, 0, 0, 0.2, 0.6, 0.1, 0]).distribution
        let nearly = try EmotionDistribution.normalizing([0.005, 0, 0, 0, 0, 0.995, 0, 0]).distribution
        let items = [Self.item(1, neutral, neutral), Self.item(2, neutral, nearly), Self.item(3, neutral, example),
                     Self.item(4, neutral, example), Self.item(5, neutral, nil)]
        let card = Scorecard.score(label: "t", items: items, example: example, chunkSize: 2)
        #expect(card.items == 5 && card.relabeled.value == 0.8)
        #expect(card.unchanged.map(\.value) == [0.25, 0.5, 0.5])
        #expect(card.echoRate?.value == 0.5)
        // Batches of 2: {neutral, nearly} 2 distinct of 2; {example, example} 1 of 2; {failed} none.
        #expect(card.diversity.value == 0.75)
        #expect(card.failures == ["missing_index": 1])
        #expect(card.argmaxUnchanged.value == 1)
        #expect(abs(card.meanTotalVariation.value - (0 + 0.005 + 0.4 + 0.4) / 4) < 1e-12)
    }

    @Test func pairedComparisonCountsDiscordantPairs() {
        let r = EmotionDistribution(oneHot: .neutral), moved = EmotionDistribution(oneHot: .happy)
        let a = (0..<10).map { Self.item($0, r, r) }                          // lazy: all unchanged
        let b = (0..<10).map { Self.item($0, r, $0 < 6 ? moved : r) }         // edits 6
        let c = Comparison.compare(a, labelA: "A", b, labelB: "B")
        let unchanged = c.metrics.first { $0.name == "unchanged.1e-06" }!
        #expect(unchanged.discordant?.aOnly == 6 && unchanged.discordant?.bOnly == 0)
        #expect(abs(unchanged.pValue! - Statistics.mcnemarExact(b: 6, c: 0)) < 1e-15)
        #expect(abs(unchanged.difference.value - (-0.6)) < 1e-12)
        #expect(c.pairedItems == 10)
    }

    @Test func consistencyOverIdenticalAndDifferentRuns() {
        let h = EmotionDistribution(oneHot: .happy), s = EmotionDistribution(oneHot: .sad)
        let same = Scorecard.consistency([[h, s, h], [h, s, h]])
        #expect(same.alphaNominal == 1 && same.meanPairwiseJSDistance.value == 0)
        let opposite = Scorecard.consistency([[h, s, h, s], [s, h, s, h]])
        #expect(opposite.alphaNominal < 0)
        #expect(abs(opposite.meanPairwiseJSDistance.value - log(2).squareRoot()) < 1e-12)
    }

    @Test(.enabled(if: PythonCheck.available, "python3 with numpy and scipy not found"))
    func krippendorffAgreesWithAnIndependentImplementation() throws {
        var rng = SplitMix64(seed: 99)
        let data: [[Double?]] = (0..<4).map { _ in
            (0..<40).map { _ -> Double? in rng.next() % 7 == 0 ? nil : Double(rng.next() % 5) }
        }
        let path = TestPaths.write(JSONValue.array(data.map { .array($0.map { $0.map(JSONValue.double) ?? .null }) }).description, name: "runs.json")
        let output = try PythonCheck.run(["scripts/check_scores.py", "--alpha", path])
        let parsed = try StrictJSON.parse(output)
        #expect(abs(Krippendorff.alpha(data, metric: .nominal) - parsed["nominal"]!.doubleValue!) < 1e-9)
        #expect(abs(Krippendorff.alpha(data, metric: .interval) - parsed["interval"]!.doubleValue!) < 1e-9)
    }
}

/// Runs the independent Python checks (numpy/scipy) when they are installed.
enum PythonCheck {
    static let available: Bool = {
        let ok = (try? run(["-c", "import numpy, scipy"])) != nil
        if !ok { FileHandle.standardError.write(Data("!!! python3 with numpy and scipy not found: the independent metric checks are SKIPPED\n".utf8)) }
        return ok
    }()

    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = TestPaths.repository
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return String(decoding: data, as: UTF8.self)
    }
}
