import Foundation
import Testing
@testable import LLMKit

/// The registry and what the report writes from it: JSON, long CSV, Markdown, HTML.
@Suite struct ScoreReportTests {
    static let corpus = BoundaryCorpus(count: 120, decimals: 4, seed: 21)

    /// Built once for the suite (three columns with bootstraps), off the cooperative threads.
    static let built = Task { try await OffPool.run { makeReport() } }

    static func report() async throws -> ScoreReport { try await built.value }

    static func makeReport() -> ScoreReport {
        let items = corpus.items()
        let lazy = items.map { item -> ScoredItem in var copy = item; copy.adjusted = item.shown; copy.failure = nil; return copy }
        return Scoring.report(dataset: "corpus.csv", columns: [
            Scoring.column(label: "model", items: items, prompt: corpus.prompt, chunkSize: 7),
            Scoring.column(label: "lazy copy", items: lazy, prompt: corpus.prompt, chunkSize: 7),
            Scoring.column(label: "no prompt", items: items, prompt: nil, chunkSize: 7),
        ])
    }

    @Test func registryKeysAreUniqueAndEveryJSONMetricIsInTheRegistry() async throws {
        #expect(Set(ScoreMetric.all.map(\.key)).count == ScoreMetric.all.count)
        let json = try await Self.report().json
        let column = try #require(json["columns"]?.arrayValue?.first?.objectValue)
        let notMetrics: Set = ["label", "source", "prompt", "shown_decimals", "transitions"]
        for (key, value) in column where !notMetrics.contains(key) {
            if case .object(let members) = value, !(members["value"] != nil && members["n"] != nil) {
                for (member, _) in members { #expect(ScoreMetric.named("\(key).\(member)") != nil, "\(key).\(member)") }
            } else if value == .null, ScoreMetric.all.contains(where: { $0.group == key }) {
                continue   // a group that does not apply to this column (no repeats, no cost)
            } else {
                #expect(ScoreMetric.named(key) != nil, "\(key)")
            }
        }
        // And every registry metric is at its dotted path (null only where it does not apply).
        for metric in ScoreMetric.all {
            let node = metric.group.map { column[$0]?.objectValue?[metric.member] ?? column[$0] } ?? column[metric.key]
            #expect(node != nil, "\(metric.key)")
        }
        #expect(json["format"] == "llmkit-score/2")
        #expect(json["metrics"]?.arrayValue?.count == ScoreMetric.all.count)
        #expect(column["unchanged"]?["as_shown"]?["value"]?.doubleValue != nil && column["shown_decimals"] == 4)
        let noPrompt = try #require(json["columns"]?.arrayValue?[2])
        #expect(noPrompt["unchanged"]?["as_shown"] == .null && noPrompt["echo_rate"] == .null && noPrompt["cost"] == .null)
        #expect(column["transitions"]?["counts"]?.arrayValue?.count == 9)
    }

    /// A small model that writes 0.1 for every emotion: renormalised to a uniform answer that
    /// "agrees" on the argmax with any reference. The findings say both.
    @Test func uniformAndRenormalisedAnswersAreNamedInTheFindings() throws {
        let uniform = try EmotionDistribution.normalizing(Array(repeating: 0.1, count: 8), policy: .default).distribution
        let items = Self.corpus.items().map { item -> ScoredItem in
            var copy = item; copy.adjusted = uniform; copy.sumOff = true; copy.failure = nil; return copy
        }
        let report = Scoring.report(dataset: "corpus.csv", columns: [
            Scoring.column(label: "model", items: Self.corpus.items(), prompt: Self.corpus.prompt, chunkSize: 7),
            Scoring.column(label: "flat", items: items, prompt: Self.corpus.prompt, chunkSize: 7),
        ])
        let flat = report.columns[1].card
        #expect(flat.uniformAnswers == items.count && flat.agreement.argmaxAgreement.value == 1)
        #expect(report.findings.contains { $0.hasPrefix("flat: 100% of the answers give all 8 emotions the same value") })
        #expect(report.findings.contains { $0.hasPrefix("flat: 100% of the answers did not sum to 1") })
        #expect(!report.findings.contains { $0.hasPrefix("model:") && $0.contains("same value") })
    }

    @Test func theLazyCopyIsUnchangedAsShownAndComparedAsSuch() async throws {
        let report = try await Self.report()
        #expect(report.columns[1].card.unchangedAsShown?.value == 1)
        let comparison = try #require(report.comparisons.first)
        #expect(comparison.metrics.map(\.name).contains("unchanged.as_shown"))
        #expect(!report.comparisons[1].metrics.map(\.name).contains("unchanged.as_shown"), "no shown reference in the third column")
        #expect(report.comparisons.allSatisfy { c in c.metrics.allSatisfy { m in m.pValue == nil || m.adjustedPValue! >= m.pValue! } }, "Holm never lowers p")
    }

    @Test func longCSVHasOneRowPerColumnAndMetric() async throws {
        let report = try await Self.report()
        let path = TestPaths.write(report.csv, name: "long.csv")
        let reader = try CSVReader(path: path)
        #expect(try reader.nextRecord() == ["column", "metric", "value", "low", "high", "n"])
        var rows: [[String]] = []
        while let row = try reader.nextRecord() { rows.append(row) }
        let expected = report.columns.reduce(0) { total, c in total + ScoreMetric.all.filter { $0.estimate(in: c.card) != nil }.count }
        #expect(rows.count == expected && rows.allSatisfy { $0.count == 6 })
        #expect(rows.allSatisfy { ScoreMetric.named($0[1]) != nil && Int($0[5]) != nil })
        let lazy = try #require(rows.first { $0[0] == "lazy copy" && $0[1] == "unchanged.as_shown" })
        #expect(lazy[2] == "1" && Double(lazy[3])! < 1 && lazy[4] == "1")
        #expect(rows.contains { $0[1] == "items" && $0[3].isEmpty && $0[4].isEmpty }, "counts have no interval")
        #expect(report.csvWide.hasPrefix("metric,model,lazy copy,no prompt\n"))
    }

    @Test func htmlIsSelfContainedWithAxesTheSpikeTransitionsAndExamples() async throws {
        let page = try await Self.report().html
        #expect(page.hasPrefix("<!DOCTYPE html>") && !page.contains("<script") && !page.contains("http://") && !page.contains("https://"))
        #expect(page.components(separatedBy: "<svg").count - 1 == 4, "laziness, edit sizes, argmax, shift")
        #expect(page.contains("class=\"tick\"") && page.contains("stroke=\"#e3e3e8\""), "ticks and gridlines")
        #expect(page.contains("stroke-dasharray") && page.contains(">as shown</text>"), "the spike stands apart from the bins")
        #expect(page.contains("reference ↓ answer →") && page.contains("<th class=\"row\">tie</th>"))
        for tag in ["random sample", "largest edit", "unchanged"] { #expect(page.contains(">\(tag)</span>")) }
        #expect(page.contains("<td><code>unchanged.as_shown</code></td>"))
        #expect(!page.contains("nan") && !page.contains("NaN"))
    }

    @Test func theEditHistogramKeepsExactStepsInTheirBin() {
        #expect(ScoreReport.editBin(0) == 1 && ScoreReport.editBin(0.05) == 1 && ScoreReport.editBin(0.05000000000000002) == 1)
        #expect(ScoreReport.editBin(0.1) == 2 && ScoreReport.editBin(0.10000000000000003) == 2 && ScoreReport.editBin(0.1000001) == 3)
        #expect(ScoreReport.editBin(1) == 20)
    }

    @Test func examplesAreSeededAndTagged() {
        let items = Self.corpus.items()
        let a = ScoreReport.pickExamples(items), b = ScoreReport.pickExamples(items)
        #expect(a.map(\.1.id) == b.map(\.1.id))
        #expect(a.map(\.0) == [.random, .random, .random, .random, .largest, .largest, .largest, .unchanged, .unchanged])
        #expect(Set(a.map(\.1.id)).count == a.count)
        let largest = a.filter { $0.0 == .largest }.map { $0.1.totalVariation! }
        #expect(largest == largest.sorted(by: >))
        #expect(a.filter { $0.0 == .unchanged }.allSatisfy { ScoreReport.change($0.1) == "No (as shown)" })
    }

    @Test func markdownAndTextCarryTheNotes() async throws {
        let report = try await Self.report()
        #expect(report.markdown.contains("| metric (95% interval) | model | lazy copy | no prompt |"))
        #expect(report.markdown.contains("Argmax transitions, lazy copy"))
        #expect(report.text.contains("unchanged: as shown") && report.text.contains("n/a (prompt unknown: give --prompt)"))
        #expect(report.text.contains("tau + 1e-9") && report.text.contains("1/8 + 1e-9"))
    }
}
