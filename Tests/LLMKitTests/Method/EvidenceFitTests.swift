import Foundation
import Testing
import TestSupport
@testable import LLMKit

/// The mix's temperature and tie rule computed by hand, and the cross-validated fit finding
/// the w and T of a gold made with known values; the fit over a run's file writes the fit in
/// the header and refuses a line without evidence, naming file, line and field.
@Suite struct EvidenceFitTests {
    static func distribution(_ values: [Double]) -> EmotionDistribution {
        try! EmotionDistribution.normalizing(values).distribution
    }

    @Test func theTemperatureAndTheTieRuleAreComputedAsDocumented() {
        let reference = Self.distribution([0.4, 0.4, 0, 0, 0, 0.2, 0, 0])
        let evidence = [0.64, 0.36, 0, 0, 0, 0, 0, 0]
        // T = 2: the square roots 0.8 and 0.6, renormalised.
        let tempered = EvidenceMix(weight: 1, temperature: 2).tempered(evidence)
        #expect(abs(tempered[0] - 0.8 / 1.4) < 1e-12 && abs(tempered[1] - 0.6 / 1.4) < 1e-12)
        // A plain mix breaks the reference's angry/sad tie toward the evidence ...
        let plain = EvidenceMix(weight: 0.1).apply(reference: reference, evidence: evidence)
        #expect(abs(plain[.angry] - (0.9 * 0.4 + 0.1 * 0.64)) < 1e-12 && plain[.angry] > plain[.sad])
        // ... the tie-preserving mix gives both the mean of their evidence, 0.5, and keeps the tie.
        let kept = EvidenceMix(weight: 0.1, preservesTies: true).apply(reference: reference, evidence: evidence)
        #expect(abs(kept[.angry] - (0.9 * 0.4 + 0.1 * 0.5)) < 1e-12 && abs(kept[.angry] - kept[.sad]) < 1e-12)
        #expect(abs(kept[.neutral] - 0.9 * 0.2) < 1e-12, "classes outside the tie are mixed as usual")
        // Parameters: the defaults leave older runs' parameters as they were.
        #expect(EvidenceMix(weight: 0.25).parameters == ["weight": .double(0.25)])
        #expect(EvidenceMix(weight: 0.1, temperature: 2, preservesTies: true).parameters
                == ["weight": .double(0.1), "evidence_temperature": .double(2), "preserve_ties": true])
    }

    /// Items whose gold is the mix of their reference and evidence at a known (w, T).
    static func constructed(weight: Double, temperature: Double, count: Int = 400) -> [EvidenceFit.Sample] {
        var rng = SplitMix64(seed: 7)
        func random() -> Double { Double(rng.next() % 1_000_000) / 1_000_000 }
        let truth = EvidenceMix(weight: weight, temperature: temperature)
        return (0..<count).map { i in
            let reference = distribution((0..<8).map { k in k > 0 && random() < 0.5 ? 0 : random() + 0.01 })
            let evidence = distribution((0..<8).map { _ in random() * random() + 0.001 }).values
            return EvidenceFit.Sample(id: "item\(i)", reference: reference, evidence: evidence, gold: truth.apply(reference: reference, evidence: evidence))
        }
    }

    @Test(arguments: [(0.2, 1.0), (0.07, 2.0), (0.35, 0.5)])
    func theFitFindsTheWeightAndTemperatureTheGoldWasMadeWith(weight: Double, temperature: Double) {
        let samples = Self.constructed(weight: weight, temperature: temperature)
        let fit = EvidenceFit.fit(samples, folds: 5)
        #expect(abs(fit.weight - weight) < 1e-9 && fit.temperature == temperature, "\(fit.weight) \(fit.temperature)")
        #expect(fit.folds.count == 5 && fit.folds.allSatisfy { abs($0.weight - weight) < 1e-9 && $0.temperature == temperature })
        #expect(fit.folds.map(\.items).reduce(0, +) == samples.count && fit.folds.allSatisfy { $0.items > 40 }, "the folds split the items")
        #expect(fit.crossValidatedJS < 1e-12 && fit.unchangedJS > 1e-3)
        #expect(fit.json["cv_js"]?.doubleValue == fit.crossValidatedJS && fit.json["folds"]?.intValue == 5)
    }

    @Test func aFoldIsAStableHashOfTheID() {
        #expect(EvidenceFit.fold(of: "MSP-PODCAST_0002_0051.wav", folds: 5) == EvidenceFit.fold(of: "MSP-PODCAST_0002_0051.wav", folds: 5))
        let counts = Dictionary(grouping: (0..<1000).map { EvidenceFit.fold(of: "id\($0)", folds: 4) }, by: { $0 }).mapValues(\.count)
        #expect(counts.count == 4 && counts.values.allSatisfy { $0 > 200 })
    }

    @Test func aRunIsRefittedIntoAFileWhoseHeaderRecordsTheFit() throws {
        let dir = TestPaths.temporaryDirectory()
        let samples = Self.constructed(weight: 0.1, temperature: 1, count: 60)
        // The dataset: the samples' references with their gold (project JSONL).
        let dataset = dir.appendingPathComponent("data.jsonl").path
        try samples.map { s in
            "{\"id\":\"\(s.id)\",\"descriptions\":[\"x\"],\"reference\":\(s.reference.jsonObject.description),\"gold\":\(s.gold.jsonObject.description)}"
        }.joined(separator: "\n").write(toFile: dataset, atomically: true, encoding: .utf8)
        // A run at w = 0.25 that recorded its evidence.
        let fingerprint = RunFingerprint(datasetSHA256: "abc", prompt: "logprob-fewshot@1", provider: "llamacpp", model: "m", baseURL: nil, chunkSize: 30,
                                         seed: nil, temperature: 0, maxTokens: nil, policy: .default, method: "logprob",
                                         methodParameters: ["prompt": "logprob-fewshot@1", "weight": .double(0.25), "minimum_mass": .double(0.1)])
        let records = samples.map { s in
            let adjusted = EvidenceMix(weight: 0.25).apply(reference: s.reference, evidence: s.evidence)
            return RelabeledRecord(id: s.id, reference: s.reference,
                                   outcome: .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: "r", sumWasOff: false, evidenceMass: 0.5, evidence: s.evidence)),
                                   promptVersion: "logprob-fewshot@1", provider: "llamacpp", model: "m", method: "logprob")
        }
        let run = dir.appendingPathComponent("run.jsonl").path
        let lines = [RelabelJournal.headerLine(fingerprint, differences: []).description] + records.map(\.jsonLine)
        try (lines.joined(separator: "\n") + "\n").write(toFile: run, atomically: true, encoding: .utf8)
        #expect(try RelabeledRecord.parse(line: records[0].jsonLine, file: run, line: 2) == records[0], "the evidence reads back")

        let data = try Scoring.loadDataset(dataset)
        let out = dir.appendingPathComponent("fitted.jsonl").path
        let fit = try EvidenceFit.fit(run: run, dataset: data, gold: dataset, folds: 3, output: out)
        #expect(abs(fit.result.weight - 0.1) < 1e-9 && fit.fitted == 60)
        let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let header = try #require(JournalHeader(line: String(written[0])))
        let parameters = header.fingerprint.methodParameters
        #expect(parameters["weight"]?.doubleValue == fit.result.weight && parameters["prompt"]?.stringValue == "logprob-fewshot@1")
        #expect(parameters["fitted"]?["folds"]?.intValue == 3 && parameters["fitted"]?["gold"]?.stringValue == dataset)
        #expect(parameters["fitted"]?["cv_js"]?.doubleValue ?? 1 < 1e-12)
        let first = try RelabeledRecord.parse(line: String(written[1]), file: out, line: 2)
        #expect(first.outcome.relabel?.adjusted.jsDivergence(to: samples[0].gold) ?? 1 < 1e-20, "lines are re-mixed with the fitted values")

        // A line without evidence: refused, naming the file, the line and the field.
        let old = records[1].jsonLine.replacingOccurrences(of: #","evidence":\{[^}]*\}"#, with: "", options: .regularExpression)
        try ([lines[0], records[0].jsonLine, old].joined(separator: "\n") + "\n").write(toFile: run, atomically: true, encoding: .utf8)
        #expect { try EvidenceFit.fit(run: run, dataset: data, gold: dataset, folds: 2) } throws: { error in
            (error as? DatasetError)?.description.hasPrefix("\(run):3: field 'evidence': missing") == true
        }
    }
}
