import Foundation

extension ScoreReport {
    /// Summary metrics shown in tables: every ``ScoreMetric/Section/summary`` metric, leaving out
    /// the optional groups (gold, self-consistency, cost) that no column has.
    package var tableMetrics: [ScoreMetric] {
        ScoreMetric.section(.summary).filter { metric in
            guard let group = metric.group, ["gold", "self_consistency", "cost"].contains(group) else { return true }
            return columns.contains { metric.estimate(in: $0.card) != nil }
        }
    }

    /// Rows of the side-by-side table: (label, one cell per column). The registry's summary
    /// metrics, with two rows that are not metrics, their labels indented: the failures by kind
    /// (under "valid") and the decimals the references were shown at (under "unchanged: as shown").
    package var rows: [(String, [String])] { topicRows.flatMap(\.1) }

    /// ``rows`` under their topics (``ScoreMetric/topic``), in order.
    package var topicRows: [(String, [(String, [String])])] {
        var groups: [(String, [(String, [String])])] = []
        for metric in tableMetrics {
            var rows = [(metric.label, columns.map { metric.cell(in: $0.card) })]
            if metric.key == "valid" { rows.append(("  failed (by kind)", columns.map { Self.failureSummary($0.card) })) }
            if metric.key == "unchanged.as_shown" { rows.append(("  reference shown at", columns.map { Self.shownAt($0.card) })) }
            if groups.last?.0 == metric.topic { groups[groups.count - 1].1 += rows } else { groups.append((metric.topic, rows)) }
        }
        return groups
    }

    /// `none`, or `missing_index 3, not_json 1`.
    static func failureSummary(_ card: Scorecard) -> String {
        let failures = card.failures.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        return failures.isEmpty ? "none" : failures.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// `4 decimals (paper-reason@1a2b3c4d)`, or why as-shown is n/a.
    static func shownAt(_ card: Scorecard) -> String {
        guard let decimals = card.shownDecimals else { return "n/a (prompt unknown: give --prompt)" }
        return "\(decimals) decimals" + (card.prompt.map { " (\($0))" } ?? "")
    }

    /// Rows of the per-class table: (class, one cell per column: the unchanged rate at tau 0.01
    /// among items whose reference points to that class, and how many there are).
    package var classRows: [(String, [String])] {
        ScoreMetric.section(.byClass).map { metric in
            (metric.label, columns.map { metric.cell(in: $0.card) + " (n \(metric.estimate(in: $0.card)?.n ?? 0))" })
        }
    }

    /// The comparison rows: (comparison, metric, difference with interval, p, Holm p). Rate
    /// differences are in percentage points.
    package var comparisonRows: [[String]] {
        comparisons.flatMap { c in
            c.metrics.map { m in
                let d = ScoreMetric.named(m.name)?.differenceCell(m.difference) ?? String(format: "%+.4f", m.difference.value)
                let p = m.pValue.map { String(format: "%.4g", $0) } ?? ""
                let holm = (m.adjustedPValue != nil && comparisons.count > 1) ? String(format: "%.4g", m.adjustedPValue!) : ""
                return ["\(c.other) − \(c.baseline)", m.name, d, p, holm]
            }
        }
    }

    /// The paired differences whose 95% interval excludes 0 (`comparison: metric difference
    /// [low, high]`): what the data can tell apart at this size.
    package var separatingDifferences: [String] {
        comparisons.flatMap { c in
            c.metrics.compactMap { m -> String? in
                let d = m.difference
                guard d.n > 0, d.low.isFinite, d.high.isFinite, d.low > 0 || d.high < 0 else { return nil }
                let cell = ScoreMetric.named(m.name)?.differenceCell(d) ?? String(format: "%+.4f", d.value)
                return "\(c.other) − \(c.baseline): \(m.name) \(cell)"
            }
        }
    }

    /// One line saying which paired differences exclude 0, or that none does.
    package var separationLine: String? {
        guard !comparisons.isEmpty else { return nil }
        let found = separatingDifferences
        if found.isEmpty { return "no paired difference has a 95% interval that excludes 0: at this size, the columns cannot be told apart" }
        return "paired differences whose 95% interval excludes 0 (\(found.count)): " + found.joined(separator: "; ")
    }

    /// The notes under every table: which laziness number is which, the tolerance, the tie rule, the intervals.
    package var notes: [String] { [Self.lazinessNote, Self.toleranceRule, Self.tieRule, Self.intervalNote] }

    /// A plain-text table for terminals.
    public var text: String {
        let header = ["metric (95% interval)"] + columns.map(\.card.label)
        var out = Self.align([header] + rows.map { [$0.0] + $0.1 }) + sectionsText
        if !comparisons.isEmpty {
            out += "\n\npaired differences (other − baseline; bootstrap 95% interval; exact McNemar p for binary outcomes" + (comparisons.count > 1 ? ", Holm-adjusted" : "") + ")\n"
            let holm = comparisons.count > 1
            out += Self.align([["comparison", "metric", "difference", "p"] + (holm ? ["p (Holm)"] : [])] + comparisonRows.map { holm ? $0 : Array($0.dropLast()) })
            if let separationLine { out += "\n\n" + separationLine }
        }
        if !columnFindings.isEmpty { out += "\n\nwhat stands out:\n" + columnFindings.map { "- " + $0 }.joined(separator: "\n") }
        return out + "\n\n" + notes.map { "- " + $0 }.joined(separator: "\n")
    }

    static func align(_ table: [[String]]) -> String {
        let widths = (0..<(table.first?.count ?? 0)).map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Markdown (for papers and issues): the summary, the unchanged rate by class, the
    /// transition matrices, the paired differences and the notes.
    public var markdown: String {
        func table(_ header: [String], _ body: [[String]]) -> String {
            "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
                + body.map { "| " + $0.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }.joined()
        }
        let labels = columns.map(\.card.label)
        var body: [[String]] = []
        for (topic, rows) in topicRows {
            body.append(["**\(topic)**"] + labels.map { _ in "" })
            body += rows.map { [$0.0.trimmingCharacters(in: .whitespaces)] + $0.1 }
        }
        var out = table(["metric (95% interval)"] + labels, body) + sectionsMarkdown
        out += "\n**Unchanged (tau 0.01) by the reference's argmax class**\n\n" + table(["reference class"] + labels, classRows.map { [$0.0] + $0.1 })
        for column in columns {
            out += "\n**Argmax transitions, \(column.card.label)** (rows: reference, columns: answer; count and row share)\n\n"
            out += table(["reference \\ answer"] + ArgmaxClass.all.map(\.name), Self.transitionCells(column.card.transitions))
        }
        if !comparisons.isEmpty {
            out += "\n" + table(["comparison", "metric", "difference [95%]", "McNemar p", "Holm p"], comparisonRows)
        }
        out += acrossMethodsMarkdown
        return out + "\n" + notes.map { "- " + $0 + "\n" }.joined()
    }

    /// Cells of a transition matrix: `count (share%)`, empty rows left out.
    static func transitionCells(_ t: ClassTransitions) -> [[String]] {
        ArgmaxClass.all.filter { t.rowTotal($0) > 0 }.map { from in
            [from.name] + ArgmaxClass.all.map { to in
                let n = t.counts[from.index][to.index]
                return n == 0 ? "0" : String(format: "%d (%.0f%%)", n, 100 * t.rowShare(from: from, to: to))
            }
        }
    }

    /// Long CSV, one row per column × metric: `column,metric,value,low,high,n` (metric: the
    /// ``ScoreMetric/key``; empty low/high when the metric has no interval; metrics that do not
    /// apply are left out). `pandas.read_csv` reads it as is.
    public var csv: String {
        var out = "column,metric,value,low,high,n\n"
        for column in columns {
            for metric in ScoreMetric.all {
                guard let e = metric.estimate(in: column.card) else { continue }
                let fields = [column.card.label, metric.key, Self.number(e.value), Self.number(e.low), Self.number(e.high), String(e.n)]
                out += fields.map(LabelExport.csvField).joined(separator: ",") + "\n"
            }
        }
        return out + sectionsCSV
    }

    /// Wide CSV: one row per metric, one column per scored column (point values; empty when n/a).
    public var csvWide: String {
        var out = "metric," + columns.map { LabelExport.csvField($0.card.label) }.joined(separator: ",") + "\n"
        for metric in ScoreMetric.all {
            out += metric.key + "," + columns.map { metric.value(in: $0.card).map(Self.number) ?? "" }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A number as CSV writes it (empty when not finite).
    static func number(_ value: Double) -> String { value.isFinite ? LabelExport.formatValue(value) : "" }
}
