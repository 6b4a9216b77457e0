import Foundation

/// The scores of one `promptlab score` run, rendered as JSON, CSV, Markdown and HTML.
public struct ScoreReport: Sendable {
    /// One scored column (prompt version × provider × model).
    public struct Column: Sendable {
        public var card: Scorecard
        public var items: [ScoredItem]
        public init(card: Scorecard, items: [ScoredItem]) {
            self.card = card
            self.items = items
        }
    }

    public var dataset: String
    public var columns: [Column]
    public var comparisons: [Comparison]

    public init(dataset: String, columns: [Column], comparisons: [Comparison]) {
        self.dataset = dataset
        self.columns = columns
        self.comparisons = comparisons
    }

    /// The tie rule, stated wherever argmax numbers are shown.
    public static let tieRule = "argmax agreement: p and the reference share at least one maximal class; values within 1e-9 of the maximum count as maximal"

    // MARK: JSON

    /// The documented JSON (format `llmkit-score/1`).
    public var json: JSONValue {
        [
            "format": "llmkit-score/1",
            "dataset": .string(dataset),
            "tie_rule": .string(Self.tieRule),
            "columns": .array(columns.map { Self.json($0.card) }),
            "comparisons": .array(comparisons.map(Self.json)),
        ]
    }

    static func json(_ c: Scorecard) -> JSONValue {
        var o = JSONObject()
        o["label"] = .string(c.label)
        o["items"] = .int(c.items)
        o["relabeled"] = c.relabeled.json
        o["valid"] = c.valid.json
        o["failures"] = .object(JSONObject(c.failures.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) }))
        o["unchanged"] = .object(JSONObject(zip(Scorecard.taus, c.unchanged).map { (Comparison.tauName($0), $1.json) }))
        o["argmax_unchanged"] = c.argmaxUnchanged.json
        o["mean_total_variation"] = c.meanTotalVariation.json
        for (key, value) in agreementJSON(c.agreement) { o[key] = value }
        o["gold"] = c.gold.map { .object(JSONObject(agreementJSON($0))) } ?? .null
        o["echo_rate"] = c.echoRate?.json ?? .null
        o["diversity"] = c.diversity.json
        o["self_consistency"] = c.consistency.map { s in
            ["runs": .int(s.runs), "alpha_nominal": .double(s.alphaNominal), "alpha_interval": .double(s.alphaInterval),
             "mean_pairwise_js_distance": s.meanPairwiseJSDistance.json]
        } ?? .null
        o["cost"] = c.cost.map { k in
            ["requests": .int(k.requests), "retries": .int(k.retries), "prompt_tokens_per_item": .double(k.promptTokensPerItem),
             "completion_tokens_per_item": .double(k.completionTokensPerItem), "cached_tokens_per_item": .double(k.cachedTokensPerItem),
             "latency_p50_seconds": .double(k.latencyP50), "latency_p95_seconds": .double(k.latencyP95)]
        } ?? .null
        return .object(o)
    }

    static func agreementJSON(_ a: Scorecard.Agreement) -> [(String, JSONValue)] {
        [("argmax_agreement", a.argmaxAgreement.json), ("mean_js_divergence", a.meanJSDivergence.json),
         ("mean_js_distance", a.meanJSDistance.json), ("macro_f1", a.macroF1.json)]
    }

    static func json(_ c: Comparison) -> JSONValue {
        [
            "baseline": .string(c.baseline), "other": .string(c.other), "paired_items": .int(c.pairedItems),
            "metrics": .array(c.metrics.map { m in
                var o: JSONObject = ["name": .string(m.name), "difference": m.difference.json]
                o["p_value"] = m.pValue.map(JSONValue.double) ?? .null
                o["p_value_holm"] = m.adjustedPValue.map(JSONValue.double) ?? .null
                if let d = m.discordant { o["discordant"] = ["baseline_only": .int(d.aOnly), "other_only": .int(d.bOnly)] }
                return .object(o)
            }),
        ]
    }

    // MARK: Table

    /// Rows of the side-by-side table: (metric, one cell per column).
    public var rows: [(String, [String])] {
        func pct(_ e: Estimate) -> String { e.n == 0 ? "n/a" : String(format: "%.1f%% [%.1f, %.1f]", 100 * e.value, 100 * e.low, 100 * e.high) }
        func num(_ e: Estimate) -> String { e.n == 0 ? "n/a" : String(format: "%.4f [%.4f, %.4f]", e.value, e.low, e.high) }
        func each(_ f: (Scorecard) -> String) -> [String] { columns.map { f($0.card) } }
        var rows: [(String, [String])] = [
            ("items", each { String($0.items) }),
            ("relabeled", each { pct($0.relabeled) }),
            ("valid (sum within tolerance)", each { pct($0.valid) }),
        ]
        for (i, tau) in Scorecard.taus.enumerated() { rows.append(("unchanged (tau \(Comparison.tauName(tau)))", each { pct($0.unchanged[i]) })) }
        rows += [
            ("argmax unchanged", each { pct($0.argmaxUnchanged) }),
            ("mean total variation", each { num($0.meanTotalVariation) }),
            ("argmax agreement (ties: any shared max)", each { pct($0.agreement.argmaxAgreement) }),
            ("mean JS divergence", each { num($0.agreement.meanJSDivergence) }),
            ("mean JS distance", each { num($0.agreement.meanJSDistance) }),
            ("macro-F1 at 1/8", each { num($0.agreement.macroF1) }),
        ]
        if columns.contains(where: { $0.card.gold != nil }) {
            rows += [
                ("gold: argmax agreement", each { $0.gold.map { pct($0.argmaxAgreement) } ?? "n/a" }),
                ("gold: mean JS divergence", each { $0.gold.map { num($0.meanJSDivergence) } ?? "n/a" }),
                ("gold: macro-F1 at 1/8", each { $0.gold.map { num($0.macroF1) } ?? "n/a" }),
            ]
        }
        rows.append(("echo rate (= the prompt's example)", each { $0.echoRate.map(pct) ?? "n/a" }))
        rows.append(("diversity within a batch", each { num($0.diversity) }))
        if columns.contains(where: { $0.card.consistency != nil }) {
            rows += [
                ("self-consistency: runs", each { $0.consistency.map { String($0.runs) } ?? "n/a" }),
                ("alpha nominal (argmax)", each { $0.consistency.map { Self.alpha($0.alphaNominal) } ?? "n/a" }),
                ("alpha interval (per emotion)", each { $0.consistency.map { Self.alpha($0.alphaInterval) } ?? "n/a" }),
                ("mean pairwise JS distance", each { $0.consistency.map { num($0.meanPairwiseJSDistance) } ?? "n/a" }),
            ]
        }
        if columns.contains(where: { $0.card.cost != nil }) {
            rows += [
                ("requests (retries)", each { $0.cost.map { "\($0.requests) (\($0.retries))" } ?? "n/a" }),
                ("tokens per item: prompt / completion / cached", each { $0.cost.map { String(format: "%.0f / %.0f / %.0f", $0.promptTokensPerItem, $0.completionTokensPerItem, $0.cachedTokensPerItem) } ?? "n/a" }),
                ("latency p50 / p95 (s)", each { $0.cost.map { String(format: "%.2f / %.2f", $0.latencyP50, $0.latencyP95) } ?? "n/a" }),
            ]
        }
        return rows
    }

    /// Alpha is undefined when every run gave the same value (no disagreement is possible).
    static func alpha(_ value: Double) -> String { value.isNaN ? "undefined (runs identical)" : String(format: "%.4f", value) }

    /// The comparison rows: (comparison, metric, difference with interval, p-values).
    public var comparisonRows: [[String]] {
        comparisons.flatMap { c in
            c.metrics.map { m in
                let d = String(format: "%+.4f [%+.4f, %+.4f]", m.difference.value, m.difference.low, m.difference.high)
                let p = m.pValue.map { String(format: "%.4g", $0) } ?? ""
                let holm = (m.adjustedPValue != nil && comparisons.count > 1) ? String(format: "%.4g", m.adjustedPValue!) : ""
                return ["\(c.other) − \(c.baseline)", m.name, d, p, holm]
            }
        }
    }

    /// A plain-text table for terminals.
    public var text: String {
        let header = ["metric (95% interval)"] + columns.map(\.card.label)
        var out = Self.align([header] + rows.map { [$0.0] + $0.1 })
        if !comparisons.isEmpty {
            out += "\n\npaired differences (bootstrap 95% interval; exact McNemar p for binary outcomes" + (comparisons.count > 1 ? ", Holm-adjusted" : "") + ")\n"
            out += Self.align([["comparison", "metric", "difference", "p", comparisons.count > 1 ? "p (Holm)" : ""]] + comparisonRows)
        }
        return out + "\n\n" + Self.tieRule + "; rates: Wilson 95%; means: bootstrap 95% (1,000 resamples, seeded)."
    }

    static func align(_ table: [[String]]) -> String {
        let widths = (0..<(table.first?.count ?? 0)).map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Markdown (for papers and issues).
    public var markdown: String {
        var out = "| metric (95% interval) | " + columns.map(\.card.label).joined(separator: " | ") + " |\n"
        out += "|---|" + columns.map { _ in "---|" }.joined() + "\n"
        for (name, cells) in rows { out += "| \(name) | " + cells.joined(separator: " | ") + " |\n" }
        if !comparisons.isEmpty {
            out += "\n| comparison | metric | difference [95%] | McNemar p | Holm p |\n|---|---|---|---|---|\n"
            for row in comparisonRows { out += "| " + row.joined(separator: " | ") + " |\n" }
        }
        return out + "\n" + Self.tieRule + ". Rates: Wilson 95%; means: bootstrap 95% (1,000 resamples, seeded).\n"
    }

    /// CSV: one row per metric, one column per scored column (point values).
    public var csv: String {
        var out = "metric," + columns.map { LabelExport.csvField($0.card.label) }.joined(separator: ",") + "\n"
        func value(_ e: Estimate?) -> String { e.map { $0.n == 0 ? "" : LabelExport.formatValue($0.value) } ?? "" }
        let metrics: [(String, (Scorecard) -> Estimate?)] = [
            ("relabeled", { $0.relabeled }), ("valid", { $0.valid }),
            ("unchanged_1e-06", { $0.unchanged[0] }), ("unchanged_0.01", { $0.unchanged[1] }), ("unchanged_0.05", { $0.unchanged[2] }),
            ("argmax_unchanged", { $0.argmaxUnchanged }), ("mean_total_variation", { $0.meanTotalVariation }),
            ("argmax_agreement", { $0.agreement.argmaxAgreement }), ("mean_js_divergence", { $0.agreement.meanJSDivergence }),
            ("mean_js_distance", { $0.agreement.meanJSDistance }), ("macro_f1", { $0.agreement.macroF1 }),
            ("echo_rate", { $0.echoRate }), ("diversity", { $0.diversity }),
        ]
        out += "items," + columns.map { String($0.card.items) }.joined(separator: ",") + "\n"
        for (name, get) in metrics { out += name + "," + columns.map { value(get($0.card)) }.joined(separator: ",") + "\n" }
        return out
    }
}
