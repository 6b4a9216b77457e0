import Foundation
import Testing
@testable import LLMKit

/// Loading a dataset and an output for scoring: what is an error and what is a warning.
@Suite struct ScoringAlignmentTests {
    static let header = ",angry,sad,disgust,contempt,fear,neutral,surprise,happy"

    static func dataset(_ ids: [String]) -> String {
        TestPaths.write(header + ",words\n" + ids.map { "\($0),0.5,0.5,0,0,0,0,0,0,calm" }.joined(separator: "\n") + "\n", name: "in.csv")
    }

    static func output(_ rows: [(String, String)]) -> String {
        TestPaths.write(header + ",reason\n" + rows.map { "\($0.0),\($0.1),r" }.joined(separator: "\n") + "\n", name: "out.csv")
    }

    static let lazy = "0.5,0.5,0,0,0,0,0,0", happy = "0,0,0,0,0,0,0,1"

    @Test func noIdInCommonNamesBothFiles() throws {
        let input = Self.dataset(["a", "b"]), output = Self.output([("x", Self.lazy), ("y", Self.lazy)])
        let error = try #require(throws: DatasetError.self) { try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output])) }
        #expect(error.description.contains(input) && error.description.contains(output) && error.description.contains("no id in common"))
        let empty = TestPaths.write(Self.header + ",reason\n", name: "empty.csv")
        let none = try #require(throws: DatasetError.self) { try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [empty])) }
        #expect(none.description.contains("no records") && none.description.contains(input))
    }

    @Test func extraDuplicateAndMissingIdsAreCountedAsWarnings() throws {
        let input = Self.dataset(["a", "b", "c", "d"])
        let output = Self.output([("a", Self.happy), ("b", Self.lazy), ("zz", Self.lazy), ("a", Self.lazy), ("yy", Self.lazy)])
        let dataset = try Scoring.loadDataset(input)
        let column = try Scoring.loadColumn(output, dataset: dataset)
        #expect(column.extraIDs == ["zz", "yy"])
        #expect(column.duplicates.count == 1 && column.duplicates[0].id == "a" && column.duplicates[0].lines == [2, 5])
        #expect(column.missing == 2)
        #expect(column.items[0].isUnchanged(tau: 1e-6) == true, "the last record of 'a' (lazy, not happy) is scored")
        #expect(column.items[2].failure == "missing_from_output" && column.items[3].failure == "missing_from_output")
        #expect(column.warnings.count == 3)
        #expect(column.warnings[0].contains("2 records have ids that are not in the dataset") && column.warnings[0].contains("'zz'"))
        #expect(column.warnings[1].contains("'a' on lines 2, 5") && column.warnings[1].contains("last record"))
        #expect(column.warnings[2].contains("2 of 4 dataset items have no record"))
        let report = try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output]))
        #expect(report.warnings.filter { $0.contains(output) }.count == 4, "three misfits and the unknown prompt")
        #expect(report.json["warnings"]?.arrayValue?.count == report.warnings.count)
        #expect(ScoreMetric.named("failures.missing_from_output")!.value(in: report.columns[0].card) == 2)
    }

    @Test func recordsPastTheLimitAreNotStrangers() throws {
        let input = Self.dataset(["a", "b", "c"]), output = Self.output([("a", Self.lazy), ("b", Self.lazy), ("c", Self.lazy)])
        let dataset = try Scoring.loadDataset(input, limit: 2)
        let column = try Scoring.loadColumn(output, dataset: dataset)
        #expect(dataset.items.count == 2 && column.extraIDs.isEmpty && column.warnings.isEmpty)
    }

    @Test func aReferenceThatDiffersFromTheDatasetIsAnErrorNamingTheIdAndLine() throws {
        let input = Self.dataset(["a", "b"])
        func record(_ id: String, _ reference: String) -> String {
            "{\"id\":\"\(id)\",\"status\":\"relabeled\",\"reference\":\(reference),\"adjusted\":{\"happy\":1},\"reason\":\"r\",\"prompt\":\"p@1\",\"provider\":\"f\",\"model\":\"m\"}"
        }
        // 0.5/0.5 written as 0.50000000001/0.49999999999 is the same reference within 1e-9.
        let close = TestPaths.write(record("a", "{\"angry\":0.50000000001,\"sad\":0.49999999999}") + "\n", name: "close.jsonl")
        #expect(throws: Never.self) { try Scoring.loadColumn(close, dataset: try Scoring.loadDataset(input)) }
        let other = TestPaths.write(record("a", "{\"angry\":0.5,\"sad\":0.5}") + "\n" + record("b", "{\"angry\":0.6,\"sad\":0.4}") + "\n", name: "other.jsonl")
        let error = try #require(throws: DatasetError.self) { try Scoring.loadColumn(other, dataset: try Scoring.loadDataset(input)) }
        #expect(error.line == 2 && error.field == "reference" && error.description.contains("'b'") && error.description.contains("another dataset"))
    }

    @Test func aDuplicateIdInTheDatasetNamesBothLines() throws {
        let input = Self.dataset(["a", "b", "c", "b"])
        let error = try #require(throws: DatasetError.self) { try Scoring.loadDataset(input) }
        #expect(error.description.contains("'b' appears on lines 3 and 5"))
        let jsonl = TestPaths.write("{\"id\":\"a\",\"votes\":[\"A\"]}\n\n{\"id\":\"a\",\"votes\":[\"S\"]}\n", name: "d.jsonl")
        let again = try #require(throws: DatasetError.self) { try Scoring.loadDataset(jsonl) }
        #expect(again.description.contains("lines 1 and 3"))
    }

    @Test func anInputCSVIsNotTakenForAnOutput() throws {
        let input = Self.dataset(["a"])
        let error = try #require(throws: DatasetError.self) { try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [input])) }
        #expect(error.description.contains("input CSV"))
    }

    @Test func goldIsMergedAndStrangersAreCounted() throws {
        let input = Self.dataset(["a", "b"])
        let gold = TestPaths.write(Self.header + ",reason\na,0,0,0,0,0,0,0,1,g\nq,0,0,0,0,0,0,0,1,g\n", name: "gold.csv")
        let dataset = try Scoring.loadDataset(input, gold: gold)
        #expect(dataset.items[0].gold == EmotionDistribution(oneHot: .happy) && dataset.items[1].gold == nil)
        #expect(dataset.warnings.count == 1 && dataset.warnings[0].contains("1 gold ids"))
    }

    @Test func labelsMustFitTheColumns() throws {
        let input = Self.dataset(["a"]), output = Self.output([("a", Self.lazy)])
        #expect(throws: ScoringError.self) { try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output], labels: ["x", "y"])) }
        let report = try Scoring.scoreFiles(ScoreFilesRequest(dataset: input, files: [output, output], labels: ["lazy A", "lazy B"]))
        #expect(report.columns.map(\.card.label) == ["lazy A", "lazy B"])
        #expect(report.comparisons.first?.baseline == "lazy A" && report.comparisons.first?.other == "lazy B")
    }
}

/// `--fail-under` / `--fail-over`.
@Suite struct ScoreThresholdTests {
    @Test func everyMetricOfTheRegistryIsAcceptedIncludingGold() throws {
        for metric in ScoreMetric.all {
            #expect(try ScoreThreshold(parsing: "\(metric.key)=0.5", direction: .under).metric == metric)
        }
        #expect(try ScoreThreshold(parsing: "gold.macro_f1=0.6", direction: .under).metric.key == "gold.macro_f1")
        #expect(try ScoreThreshold(parsing: "unchanged_0.01=0.5", direction: .over).metric.key == "unchanged.0.01", "first-format names still work")
    }

    @Test func nonFiniteBoundsAndUnknownNamesAreRefusedInOneLine() {
        for bad in ["macro_f1=nan", "macro_f1=inf", "macro_f1=-infinity", "macro_f1=", "macro_f1=0.6x"] {
            let error = #expect(throws: ScoringError.self) { try ScoreThreshold(parsing: bad, direction: .under) }
            #expect(error?.message.contains("finite number") == true && error?.message.contains("\n") == false, "\(bad)")
        }
        let unknown = #expect(throws: ScoringError.self) { try ScoreThreshold(parsing: "speed=1", direction: .under) }
        #expect(unknown?.message.contains("not a known metric") == true && unknown?.message.contains("unchanged.as_shown") == true)
        #expect(throws: ScoringError.self) { try ScoreThreshold(parsing: "macro_f1", direction: .under) }
    }

    @Test func crossedAndUncheckedThresholds() throws {
        let r = EmotionDistribution(oneHot: .neutral)
        let items = (0..<10).map { ScoredItem(id: "\($0)", descriptions: [], reference: r, adjusted: $0 < 7 ? r : EmotionDistribution(oneHot: .happy)) }
        let report = Scoring.report(dataset: "d", columns: [Scoring.column(label: "c", items: items, prompt: nil, chunkSize: 30)])
        let outcome = ScoreThreshold.check([
            try ScoreThreshold(parsing: "unchanged.0.01=0.5", direction: .over),
            try ScoreThreshold(parsing: "unchanged.0.01=0.7", direction: .over),
            try ScoreThreshold(parsing: "unchanged.as_shown=0.5", direction: .over),
        ], on: report)
        #expect(outcome.failures == ["c: unchanged.0.01 = 0.7 is above 0.5"], "0.7 is not above 0.7")
        #expect(outcome.unchecked.count == 1 && outcome.unchecked[0].contains("unchanged.as_shown is n/a"))
        #expect(!outcome.passed)
    }
}
