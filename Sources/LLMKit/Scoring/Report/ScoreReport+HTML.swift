import Foundation

extension ScoreReport {
    /// A self-contained HTML page: inline CSS and SVG, no scripts, no network.
    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>LLMKit prompt scores</title>
        <style>\(Self.css)</style></head><body>
        \(htmlBody)
        </body></html>
        """
    }

    static let css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:92em;padding:0 2em;color:#1d1d1f;line-height:1.45}
        h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
        h3{font-size:1.05em;margin:1.4em 0 .4em}
        .meta{color:#555;font-size:.92em;max-width:60em}table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
        td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f6;font-weight:600}
        tbody tr:nth-child(even){background:#fafafa}td.num{font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right}
        code{background:#f4f4f6;padding:0 .2em}.scroll{overflow-x:auto}
        svg.chart{display:block;margin:.3em 0 0;max-width:100%;height:auto}
        svg text{font-family:system-ui,-apple-system,"Segoe UI",sans-serif}svg .tick{font-size:12px;fill:#555}
        svg .cat{font-size:12.5px;fill:#222}svg .axis{font-size:12.5px;fill:#444}svg .value{font-size:11px;fill:#222}svg .value.inside{fill:#fff}
        .legend{margin:.2em 0 .6em}.legend span{display:inline-block;margin-right:1.4em;font-size:.9em}
        .swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}
        .notes{font-size:.88em;color:#444;margin:.4em 0 0;padding-left:1.2em}
        .examples td{white-space:normal}.examples td.dist{min-width:11em;font-variant-numeric:tabular-nums}
        .examples td.reason{max-width:26em;overflow-wrap:anywhere}.examples td.words{max-width:16em;overflow-wrap:anywhere}.examples td.id{white-space:nowrap}
        .tag{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.82em;white-space:nowrap}
        .tag.random{background:#e8f0fe}.tag.largest{background:#fde8e8}.tag.unchanged{background:#eee}
        .box{border-radius:6px;padding:.6em 1em;margin:1em 0}.box ul{margin:.3em 0 0 0;padding-left:1.2em}
        .findings{background:#fff8e6;border:1px solid #f0d590}.warnings{background:#fdecec;border:1px solid #f2b8b5}
        table.summary tr.topic th{background:#fff;border-left:0;border-right:0;padding-top:.9em;font-size:.95em;color:#333}
        table.summary tr.sub td{color:#555;font-size:.92em}table.summary tr.sub td:first-child{padding-left:1.6em}
        table.summary tbody tr:nth-child(even){background:none}table.summary tbody tr:nth-child(odd):not(.topic){background:#fafafa}
        table.matrix td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;min-width:3.6em}
        table.matrix .share{font-size:.8em;color:#333}table.matrix td.zero{text-align:center;color:#bbb}table.matrix th.row{text-align:left}
        table.matrix td.diag{outline:2px solid #555;outline-offset:-2px}
        @media (max-width:60em){body{padding:0 1em}table{font-size:.8em}td,th{padding:.25em .35em}table.side td.num{white-space:normal}table.matrix td{min-width:2.2em}}
        table.defs td{border:0;border-bottom:1px solid #eee;padding:.25em .8em .25em 0;font-size:.92em}table.defs td:first-child{white-space:nowrap}
        """

    /// The page content, section by section.
    var htmlBody: String {
        let items = columns.first?.card.items ?? 0
        var body = "<h1>Prompt scores</h1>\n<p class=\"meta\">Dataset <code>\(Self.escape(dataset))</code> · \(items) items · "
            + "\(columns.count) column\(columns.count == 1 ? "" : "s"): " + columns.map { "<strong>\(Self.escape($0.card.label))</strong>" }.joined(separator: ", ") + "</p>\n"
        if !warnings.isEmpty { body += Self.box("warnings", "Warnings", warnings) }
        if !findings.isEmpty { body += Self.box("findings", "What stands out", findings) }
        body += "<h2>Side by side</h2>\n" + summaryTable + notesList + sectionsHTML
        body += "<h2>Laziness</h2>\n<p class=\"meta\">Share of relabeled items returned unchanged, by definition; whiskers: Wilson 95% intervals. "
            + "<em>As shown</em> compares with the reference as the prompt rendered it (what a lazy model copies); the tau rates compare with the exact reference.</p>\n"
            + lazinessChart
        body += "<h2>Edit sizes</h2>\n<p class=\"meta\">Total variation between answer and reference. The first bar is the laziness spike (answers equal to the reference "
            + "\(spikeIsAsShown ? "as shown" : "within 1e-6"), counted once and kept out of the bins); every other answer falls in a bin (a, b] of width 0.05, "
            + "with 1e-9 of slack so GPT-4's exact 0.05 steps land in their own bin.</p>\n" + editChart
        body += "<h2>Argmax class before and after relabeling</h2>\n<p class=\"meta\">Share of items whose maximal class is each emotion; items with tied maxima "
            + "(within 1e-9) are counted as <em>tie</em>, not split.</p>\n" + argmaxChart
        body += "<h2>Where answers move the argmax</h2>\n<p class=\"meta\">Rows: the reference's argmax class; columns: the answer's; count and share of the row "
            + "(the diagonal is outlined). Last column: unchanged rate (tau 0.01) of the row's items, Wilson 95%.</p>\n" + transitionTables
        body += "<h2>Mean shift per class</h2>\n<p class=\"meta\">Mean of answer minus reference, per emotion, over relabeled items.</p>\n" + shiftChart
        if !comparisons.isEmpty { body += comparisonSection }
        if columns.count >= 2 {
            body += "<h2 id=\"across\">One item across the columns</h2>\n<p class=\"meta\">The paper's Table III widened: each item once, with every column's answer "
                + "and its reason or evidence. Items whose descriptions name one class (a class word such as <em>angry</em> or <em>sad</em>) come first, "
                + "then random ones.</p>\n" + acrossMethods
        }
        body += "<h2>Examples</h2>\n<p class=\"meta\">Laid out as the paper's Table III: per column a seeded random sample, the largest edits and a few "
            + "unchanged answers, each tagged. Distributions list the non-zero classes.</p>\n" + examples
        body += "<h2>Definitions</h2>\n" + definitionList
        return body
    }

    static func box(_ kind: String, _ title: String, _ lines: [String]) -> String {
        "<div class=\"box \(kind)\"><strong>\(title)</strong><ul>" + lines.map { "<li>\(escape($0))</li>" }.joined() + "</ul></div>\n"
    }

    var summaryTable: String {
        var out = "<div class=\"scroll\"><table class=\"summary side\"><thead><tr><th>metric (95% interval)</th>" + columns.map { "<th>\(Self.escape($0.card.label))</th>" }.joined() + "</tr></thead>\n"
        for (topic, rows) in topicRows {
            out += "<tbody><tr class=\"topic\"><th colspan=\"\(columns.count + 1)\">\(Self.escape(topic))</th></tr>\n"
            for (name, cells) in rows {
                let sub = name.hasPrefix(" ")
                out += "<tr\(sub ? " class=\"sub\"" : "")><td>\(Self.escape(name.trimmingCharacters(in: .whitespaces)))</td>"
                    + cells.map { "<td class=\"num\">\(Self.escape($0))</td>" }.joined() + "</tr>\n"
            }
            out += "</tbody>"
        }
        return out + "</table></div>\n"
    }

    var notesList: String { "<ul class=\"notes\">" + notes.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul>\n" }

    var comparisonSection: String {
        let holm = comparisons.count > 1
        var out = "<h2>Paired differences</h2>\n<p class=\"meta\">Other minus baseline on the items both relabeled (rates in percentage points); bootstrap 95% "
            + "interval; exact McNemar p for binary outcomes\(holm ? ", Holm-adjusted across comparisons" : "").</p>\n"
        out += "<div class=\"scroll\"><table class=\"summary\"><thead><tr><th>metric</th><th>difference [95%]</th><th>McNemar p</th>\(holm ? "<th>Holm p</th>" : "")</tr></thead>\n"
        var current = ""
        for row in comparisonRows {
            if row[0] != current {
                current = row[0]
                out += "<tbody><tr class=\"topic\"><th colspan=\"\(holm ? 4 : 3)\">\(Self.escape(current))</th></tr>\n"
            }
            let label = ScoreMetric.named(row[1]).map { "\($0.label) (\($0.key))" } ?? row[1]
            out += "<tr>" + ([label] + Array(row[2...])).prefix(holm ? 4 : 3).enumerated().map { "<td\($0 >= 1 ? " class=\"num\"" : "")>\(Self.escape($1))</td>" }.joined() + "</tr>\n"
        }
        return out + "</tbody></table></div>\n"
    }

    /// The registry's definitions as a two-column table (per-class and failure metrics in one row each).
    var definitionList: String {
        var rows = ScoreMetric.section(.summary).map { ($0.key, $0.definition) }
        rows.append(("unchanged_by_class.CLASS", "Unchanged rate at tau 0.01 among relabeled items whose reference's single maximum is CLASS "
            + "(one of the 8 emotions), or whose reference has tied maxima (CLASS = tie)."))
        rows.append(("unchanged (logprob, lexicon)", "A method that mixes evidence into the reference (p = (1 − w)·reference + w·evidence) returns "
            + "the reference only when the item had no evidence (no_evidence: no description, or no word in the lexicon) or w = 0; every other answer "
            + "moves. Its unchanged rates count missing evidence, not laziness."))
        rows.append(("failures.KIND", "Items that failed with that kind (" + ScoreMetric.failureKinds.joined(separator: ", ") + ")."))
        return "<table class=\"defs\"><tbody>" + rows.map { "<tr><td><code>\(Self.escape($0))</code></td><td>\(Self.escape($1))</td></tr>" }.joined()
            + "</tbody></table>\n"
    }

    /// Plain-language warnings about degenerate answers, laziness and failures, then which
    /// paired differences exclude 0.
    var findings: [String] {
        columnFindings + (separationLine.map { [$0.prefix(1).uppercased() + $0.dropFirst() + "."] } ?? [])
    }

    /// Plain-language warnings about each column's answers: echoes, laziness, sums, uniform
    /// answers, failures, rambling.
    var columnFindings: [String] {
        var notes: [String] = []
        for c in columns.map(\.card) {
            if let echo = c.echoRate, echo.n > 0, echo.value >= 0.5 {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * echo.value)) of the answers are the prompt's example distribution copied: the model is echoing, not relabeling.")
            }
            let lazy = c.unchangedAsShown ?? c.unchanged[1]
            if lazy.n > 0, lazy.value >= 0.5 {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * lazy.value)) of the answers return the reference unchanged (\(c.unchangedAsShown != nil ? "as shown" : "within 0.01")): lazy.")
            }
            if c.diversity.n > 0, c.diversity.value < 0.3 {
                notes.append("\(c.label): chunks (the items of one request) hold few distinct answers (diversity \(String(format: "%.2f", c.diversity.value))).")
            }
            let answered = Double(c.relabeled.n) * c.relabeled.value
            if answered > 0, c.valid.value * Double(c.valid.n) < 0.5 * answered {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * (1 - c.valid.value * Double(c.valid.n) / answered))) of the answers did not sum to 1 within the tolerance and were renormalised (flagged sum_off).")
            }
            if answered > 0, Double(c.uniformAnswers) >= 0.2 * answered {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * Double(c.uniformAnswers) / answered)) of the answers give all 8 emotions the same value; argmax agreement counts each of them as agreeing with any reference, so read macro-F1 and the JS divergence instead.")
            }
            if c.relabeled.n > 0, c.relabeled.value < 0.9 {
                notes.append("\(c.label): only \(String(format: "%.0f%%", 100 * c.relabeled.value)) of the items were relabeled (failed: \(Self.failureSummary(c))).")
            }
            if let cost = c.cost, cost.shareAtBudget >= 0.1 {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * cost.shareAtBudget)) of the requests used their whole token budget: the model rambles with this prompt.")
            }
        }
        return notes
    }

    /// Column colours: gray for the reference, then one colour per column, the same in every chart.
    static let palette = ["#8e8e93", "#0a84ff", "#ff9f0a", "#30d158", "#bf5af2", "#ff375f", "#64d2ff"]
    static func color(column: Int) -> String { palette[1 + column % (palette.count - 1)] }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func legend(_ entries: [(String, String)]) -> String {
        "<p class=\"legend\">" + entries.map { "<span><span class=\"swatch\" style=\"background:\($1)\"></span>\(escape($0))</span>" }.joined() + "</p>\n"
    }

    var columnLegend: String { Self.legend(columns.enumerated().map { ($1.card.label, Self.color(column: $0)) }) }
}
