import Foundation

extension ScoreReport {
    /// Axis ticks and shares: `20%`, `12.5%`.
    static func percent(_ v: Double) -> String {
        let p = 100 * v
        return abs(p - p.rounded()) < 1e-9 ? String(format: "%.0f%%", p) : String(format: "%.1f%%", p)
    }

    /// Bar labels: `0%`, `<0.1%`, `11.9%`, `100%`.
    static func percentLabel(_ v: Double) -> String {
        if v == 0 || v == 1 { return String(format: "%.0f%%", 100 * v) }
        return v < 0.0005 ? "<0.1%" : String(format: "%.1f%%", 100 * v)
    }

    /// The laziness rates of every column, with Wilson whiskers.
    var lazinessChart: String {
        // "As shown", then one bar per tau of the scorecard: metrics and labels from one list.
        let names = [("as_shown", "as shown")] + Scorecard.taus.map { (Comparison.tauName($0), "tau " + Comparison.tauName($0)) }
        let metrics = names.map { ScoreMetric.named("unchanged." + $0.0)! }
        let categories = names.map(\.1)
        let series = columns.enumerated().map { i, column in
            BarChart.Series(name: column.card.label, color: Self.color(column: i),
                            values: metrics.map { $0.estimate(in: column.card).flatMap { $0.n > 0 ? $0.value : nil } },
                            intervals: metrics.map { $0.estimate(in: column.card).flatMap { $0.n > 0 ? ($0.low, $0.high) : nil } })
        }
        let chart = BarChart(categories: categories, series: series, format: Self.percent, yTitle: "share of relabeled items",
                             xTitle: "unchanged by definition (as shown: n/a without the prompt)", height: 300, valueFormat: Self.percentLabel, cap: 1)
        return chart.svg() + columnLegend
    }

    /// Whether the laziness spike is "as shown" (every column knows its prompt) or tau 1e-6.
    var spikeIsAsShown: Bool { !columns.isEmpty && columns.allSatisfy { $0.card.unchangedAsShown != nil } }

    /// Bin of an edit size: 1 for [0, 0.05], k for (0.05(k-1), 0.05k], with 1e-9 of slack.
    static func editBin(_ tv: Double) -> Int { max(1, Int(((tv - EmotionDistribution.thresholdTolerance) / 0.05).rounded(.up))) }

    /// The edit-size histogram: the laziness spike as its own bar, then bins of 0.05.
    var editChart: String {
        let spikeAsShown = spikeIsAsShown
        let histograms = columns.map { column -> [Double] in
            let relabeled = column.items.filter { $0.adjusted != nil }
            var counts = [Double](repeating: 0, count: 21)
            for item in relabeled {
                let spike = spikeAsShown ? item.isUnchangedAsShown! : item.isUnchanged(tau: 1e-6)!
                counts[spike ? 0 : min(20, Self.editBin(item.totalVariation!))] += 1
            }
            return relabeled.isEmpty ? counts : counts.map { $0 / Double(relabeled.count) }
        }
        let last = max(4, (1...20).last { b in histograms.contains { $0[b] > 0 } } ?? 1)
        let categories = [spikeAsShown ? "as shown" : "tau 1e-06"]
            + (1...last).map { b in b == 1 ? "≤ 0.05" : String(format: "%.2f–%.2f", Double(b - 1) * 0.05, Double(b) * 0.05) }
        let series = columns.enumerated().map { i, column in
            BarChart.Series(name: column.card.label, color: Self.color(column: i), values: Array(histograms[i][0...last]))
        }
        let chart = BarChart(categories: categories, series: series, format: Self.percent, yTitle: "share of relabeled items",
                             xTitle: "left of the dashed line: unchanged (\(spikeAsShown ? "as shown" : "tau 1e-06")); right: total variation 0.5·Σ|p−r|, bins (a, b]",
                             height: 340, dividerAfter: 0, valueFormat: Self.percentLabel, cap: 1)
        return chart.svg() + columnLegend
    }

    /// Argmax class shares (ties as their own class), reference first.
    var argmaxChart: String {
        guard let first = columns.first else { return "" }
        func shares(_ distributions: [EmotionDistribution]) -> [Double?] {
            var counts = [Double](repeating: 0, count: ArgmaxClass.all.count)
            for d in distributions { counts[ArgmaxClass(d).index] += 1 }
            return counts.map { distributions.isEmpty ? nil : $0 / Double(distributions.count) }
        }
        let series = [BarChart.Series(name: "reference", color: Self.palette[0], values: shares(first.items.map(\.reference)))]
            + columns.enumerated().map { i, column in
                BarChart.Series(name: column.card.label, color: Self.color(column: i), values: shares(column.items.compactMap(\.adjusted)))
            }
        let chart = BarChart(categories: ArgmaxClass.all.map(\.name), series: series, format: Self.percent,
                             yTitle: "share of items (reference: all; answers: relabeled)",
                             height: 300, valueFormat: Self.percentLabel, cap: 1)
        return chart.svg() + Self.legend([("reference (original)", Self.palette[0])] + columns.enumerated().map { ($1.card.label, Self.color(column: $0)) })
    }

    /// Mean (answer − reference) per emotion.
    var shiftChart: String {
        let series = columns.enumerated().map { i, column -> BarChart.Series in
            let pairs = column.items.compactMap { item in item.adjusted.map { ($0, item.reference) } }
            let values = Emotion.allCases.map { e -> Double? in
                pairs.isEmpty ? nil : ExactSum.mean(pairs.map { $0.0[e] - $0.1[e] })
            }
            return BarChart.Series(name: column.card.label, color: Self.color(column: i), values: values)
        }
        let chart = BarChart(categories: Emotion.allCases.map(\.name), series: series, format: { $0 == 0 ? "0" : String(format: "%+.2f", $0) },
                             yTitle: "mean of p − r", height: 300, valueFormat: { String(format: "%+.3f", $0) })
        return chart.svg() + columnLegend
    }

    /// One transition matrix per column, as a heat-map table with counts, row shares and the
    /// per-class unchanged rate.
    var transitionTables: String {
        columns.map { column -> String in
            let t = column.card.transitions
            var out = "<h3>\(Self.escape(column.card.label))</h3>\n<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>reference ↓ answer →</th>"
                + ArgmaxClass.all.map { "<th>\($0.name)</th>" }.joined() + "<th>items</th><th>unchanged (tau 0.01)</th></tr></thead><tbody>\n"
            for from in ArgmaxClass.all where t.rowTotal(from) > 0 {
                out += "<tr><th class=\"row\">\(from.name)</th>"
                for to in ArgmaxClass.all {
                    let n = t.counts[from.index][to.index], share = t.rowShare(from: from, to: to)
                    let shade = n == 0 ? "" : " style=\"background:rgba(10,132,255,\(String(format: "%.2f", 0.08 + 0.6 * share)))\""
                    let diag = from == to ? " diag" : ""
                    out += n == 0 ? "<td class=\"zero\(diag)\">·</td>"
                        : "<td class=\"\(diag)\"\(shade)>\(n)<br><span class=\"share\">\(Self.percent(share))</span></td>"
                }
                let u = column.card.unchangedByClass[from.index]
                out += "<td>\(t.rowTotal(from))</td><td>\(String(format: "%.1f%% [%.1f, %.1f]", 100 * u.value, 100 * u.low, 100 * u.high))</td></tr>\n"
            }
            out += "<tr><th class=\"row\">all</th>" + ArgmaxClass.all.map { "<td>\(t.columnTotal($0))</td>" }.joined() + "<td>\(t.total)</td><td></td></tr>\n"
            return out + "</tbody></table></div>\n"
        }.joined()
    }
}
