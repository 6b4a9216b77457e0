import Foundation
import Testing
@testable import LLMKit

@Suite struct ImportExportTests {
    @Test func importingTheBundledAnnotationsGivesTheSampleBack() throws {
        let imported = try AnnotationImport().read(path: TestPaths.fixture("sample/annotations.csv"))
        let sample = try DatasetReader(path: TestPaths.fixture("sample/sample.jsonl")).readAll()
        #expect(imported.items.count == sample.count)
        #expect(imported.rows == sample.reduce(0) { $0 + ($1.votes?.count ?? 0) })
        #expect(imported.withoutEmotionVotes.isEmpty)
        for (a, b) in zip(imported.items, sample) {
            #expect(a.id == b.id)
            #expect(a.votes == b.votes)
            #expect(a.descriptions == b.descriptions)
            #expect(a.reference == b.reference)
        }
        // Written as JSONL and read back: the same items.
        let path = TestPaths.temporaryDirectory().appendingPathComponent("imported.jsonl").path
        let writer = try AtomicFileWriter(path: path)
        for item in imported.items { try writer.writeLine(item.json.description) }
        try writer.commit()
        #expect(try DatasetReader(path: path).readAll() == imported.items)
    }

    @Test func otherAnswersCarryTypedTextAndAreExcludedFromVotes() throws {
        let path = TestPaths.write("""
            FileName,WorkerID,EmoClass,Typed
            u1,w1,Angry,
            u1,w2,Other-Slightly Angry,
            u1,w3,O,"Concerned, calm "
            u1,w4,X,
            u2,w1,Other,bored
            """, name: "msp.csv")
        var importer = AnnotationImport()
        importer.utteranceColumn = "FileName"
        importer.annotatorColumn = "WorkerID"
        importer.labelColumn = "EmoClass"
        importer.textColumn = "Typed"
        let result = try importer.read(path: path)
        #expect(result.items.count == 1)
        #expect(result.withoutEmotionVotes == ["u2"])
        let u1 = result.items[0]
        #expect(u1.votes == [.emotion(.angry), .other, .other, .noAgreement])
        #expect(u1.descriptions == ["Slightly Angry", "Concerned, calm "])
        #expect(u1.reference == EmotionDistribution(oneHot: .angry))
    }

    @Test(arguments: [
        ("utterance,annotator,primary\nu1,w1,Angry\nu1,w1,Sad\n", 3, "already labeled 'u1' on line 2"),
        ("utterance,annotator,primary\nu1,w1,Bored\n", 2, "'Bored' is not an emotion"),
        ("utterance,annotator,label\nu1,w1,A\n", 1, "no such column"),
        ("utterance,annotator,primary\n,w1,A\n", 2, "empty utterance id"),
    ])
    func badAnnotationsNameLineAndColumn(_ text: String, _ line: Int, _ fragment: String) {
        let path = TestPaths.write(text, name: "bad.csv")
        do {
            _ = try AnnotationImport().read(path: path)
            Issue.record("accepted")
        } catch {
            #expect(error.line == line)
            #expect(error.description.contains(fragment), "\(error)")
        }
    }

    static func records() -> [RelabeledRecord] {
        let reference = try! EmotionDistribution.normalizing([2, 1, 0, 0, 0, 1, 0, 0]).distribution
        let adjusted = try! EmotionDistribution.normalizing([0.5, 0.2, 0, 0, 0.1, 0.2, 0, 0]).distribution
        return [
            RelabeledRecord(id: "a,1", reference: reference, outcome: .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: nil, sumWasOff: false)),
                            promptVersion: "p@1", provider: "x", model: "m"),
            RelabeledRecord(id: "b", reference: reference, outcome: .failed(ItemFailure(.missingIndex, "gone")), promptVersion: "p@1", provider: "x", model: "m"),
        ]
    }

    @Test func exportVariantsAndSmoothingFollowTheFormula() throws {
        let dir = TestPaths.temporaryDirectory()
        let input = dir.appendingPathComponent("in.jsonl").path
        let writer = try AtomicFileWriter(path: input)
        for r in Self.records() { try writer.writeLine(r.jsonLine) }
        try writer.commit()

        func export(_ variant: LabelExport.Variant, _ eps: Double) throws -> [(id: String, values: [Double])] {
            let out = dir.appendingPathComponent("\(variant)-\(eps).csv").path
            _ = try LabelExport.export(input: input, output: out, variant: variant, smoothing: eps, columns: .eightColumns)
            let reader = try EmoSuperbCSVReader(path: out)
            #expect(reader.textColumn == nil)
            var rows: [(String, [Double])] = []
            while let row = try reader.nextRow() { rows.append((row.id, row.values)) }
            return rows
        }
        let (reference, adjusted) = (Self.records()[0].reference.values, Self.records()[0].outcome.relabel!.adjusted.values)
        #expect(try export(.llm, 0).map(\.id) == ["a,1"])
        #expect(try export(.replace, 0).map(\.values) == [adjusted, reference])
        #expect(try export(.add, 0).map(\.id) == ["a,1", "a,1@llm", "b"])
        #expect(try export(.reference, 0).map(\.values) == [reference, reference])
        // y' = (1 - eps) y + eps / C with eps = 0.05, C = 8 (REFERENCE.md section 3), computed here independently.
        let smoothed = try export(.replace, 0.05)
        for (row, original) in zip(smoothed, [adjusted, reference]) {
            for (v, y) in zip(row.values, original) { #expect(abs(v - (0.95 * y + 0.05 / 8)) < 1e-15) }
            #expect(abs(row.values.reduce(0, +) - 1) < 1e-12)
        }
        let oneHot = RelabeledRecord(id: "c", reference: EmotionDistribution(oneHot: .happy), outcome: .failed(ItemFailure(.zeroSum, "z")), promptVersion: "p", provider: "x", model: "m")
        #expect(LabelExport.rows(for: oneHot, variant: .reference, smoothing: 0.05) == ["c,0.00625,0.00625,0.00625,0.00625,0.00625,0.00625,0.00625,0.95625"])
    }

    /// A journal interrupted after a final pass holds an earlier failed line and a later line
    /// for the same id: the export writes the id once, from its last line.
    @Test func anIdWithSeveralLinesIsExportedOnceFromItsLastLine() throws {
        let dir = TestPaths.temporaryDirectory()
        let input = dir.appendingPathComponent("in.jsonl").path
        let records = Self.records()
        let retried = RelabeledRecord(id: "b", reference: records[1].reference, outcome: records[0].outcome, promptVersion: "p@1", provider: "x", model: "m")
        let writer = try AtomicFileWriter(path: input)
        for r in records + [retried] { try writer.writeLine(r.jsonLine) }
        try writer.commit()
        let out = dir.appendingPathComponent("out.csv").path
        let result = try LabelExport.export(input: input, output: out, variant: .llm, smoothing: 0, columns: .eightColumns)
        #expect(result.records == 2 && result.rows == 2 && result.superseded == 1)
        let reader = try EmoSuperbCSVReader(path: out)
        var ids: [String] = []
        while let row = try reader.nextRow() { ids.append(row.id) }
        #expect(ids == ["a,1", "b"])
    }
}
