import Foundation
import LLMKit

/// The summary printed after a run.
enum SummaryTable {
    static func render(_ report: RelabelReport, prompt: String, provider: String, model: String) -> String {
        let s = report.summary
        guard report.itemsToDo > 0 else {
            return "nothing to do: \(report.output) already holds all \(report.datasetItems) items (\(report.relabeledInOutput) relabeled)"
        }
        func rate(_ n: Int, of d: Int) -> String { d == 0 ? "n/a" : String(format: "%.1f%%", 100 * Double(n) / Double(d)) }
        func list<K: CustomStringConvertible>(_ d: [K: Int]) -> String {
            d.map { ($0.key.description, $0.value) }.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        }
        let rows: [[String]] = [
            ["prompt", prompt], ["provider", "\(provider) (\(model))"],
            ["items", String(s.items)],
            ["relabeled", "\(s.relabeled) (\(rate(s.relabeled, of: s.items)))"],
            ["failed", s.failed == 0 ? "0" : "\(s.failed) (\(list(s.failedByKind)))"],
            ["provider errors", s.providerErrors.isEmpty ? "none" : list(s.providerErrors) + " (items)"],
            ["unchanged", "\(rate(s.unchangedExact, of: s.relabeled)) within 1e-6, \(rate(s.unchangedWithin001, of: s.relabeled)) within 0.01 (of relabeled)"],
            ["sum off", "\(s.sumOff) renormalised and flagged"],
            ["reasons cut", "\(s.reasonsCut) longer than the prompt's limit"],
            ["requests", "\(s.requests) (\(ProgressDisplay.count(s.attempts, "HTTP attempt", "HTTP attempts")), \(s.cacheHits) from the cache; "
                + "\(s.reasked) items re-asked, \(s.strayEntries) stray entries, \(s.answersWithStrippedText) answers with text around the JSON)"],
            ["token budget", "\(s.requestsAtBudget) of \(s.requests) requests used their whole budget (\(rate(s.requestsAtBudget, of: s.requests))); "
                + "largest answer \(s.largestCompletion) tokens, \(s.requestsOverBudget) over budget"],
            ["tokens", "\(s.usage.promptTokens) prompt (\(s.usage.cachedTokens) cached), \(s.usage.completionTokens) completion; "
                + String(format: "%.0f per item, %.1f completion per item", s.items == 0 ? 0 : Double(s.usage.totalTokens) / Double(s.items), s.completionTokensPerItem)],
            ["wall time", String(format: "%.1f s (journal sync %.2f s on its own thread, %.2f s waited for it)", report.seconds, report.syncSeconds, report.syncWaitSeconds)],
            ["output", report.output],
        ]
        return Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n")
    }

    /// The line printed when a run resumed an output.
    static func resumeLine(_ report: RelabelReport) -> String {
        let r = report.resumed
        var line = "resumed \(report.output): \(r.done.count) items were done, \(r.retrying) failed items asked again"
        if r.droppedTornLine { line += "; a torn last line was dropped" }
        if !r.acceptedDifferences.isEmpty { line += "; continued despite: " + r.acceptedDifferences.joined(separator: "; ") }
        return line + "\n"
    }
}

/// A plain text table with left-aligned columns.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
