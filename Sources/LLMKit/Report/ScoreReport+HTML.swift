import Foundation

extension ScoreReport {
    /// A self-contained HTML page: inline CSS and SVG, no scripts, no network.
    public var html: String {
        var body = "<h1>Prompt scores</h1>\n<p class=\"meta\">Dataset: <code>\(Self.escape(dataset))</code> · \(columns.first?.card.items ?? 0) items · \(Self.escape(Self.tieRule)). Rates: Wilson 95% intervals; means: bootstrap 95% (1,000 resamples, seeded).</p>\n"
        let notes = findings
        if !notes.isEmpty { body += "<div class=\"findings\"><strong>What stands out</strong><ul>" + notes.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul></div>\n" }
        body += "<h2>Side by side</h2>\n<table><thead><tr><th>metric</th>" + columns.map { "<th>\(Self.escape($0.card.label))</th>" }.joined() + "</tr></thead><tbody>\n"
        for (name, cells) in rows { body += "<tr><td>\(Self.escape(name))</td>" + cells.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n" }
        body += "</tbody></table>\n"
        if !comparisons.isEmpty {
            body += "<h2>Paired differences</h2>\n<p class=\"meta\">Other minus baseline on the items both relabeled; bootstrap 95% interval; exact McNemar p for binary outcomes\(comparisons.count > 1 ? ", Holm-adjusted across comparisons" : "").</p>\n"
            let holm = comparisons.count > 1
            body += "<table><thead><tr><th>comparison</th><th>metric</th><th>difference [95%]</th><th>McNemar p</th>\(holm ? "<th>Holm p</th>" : "")</tr></thead><tbody>\n"
            for row in comparisonRows { body += "<tr>" + (holm ? row : Array(row.dropLast())).map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n" }
            body += "</tbody></table>\n"
        }
        body += "<h2>Argmax class before and after relabeling</h2>\n<p class=\"meta\">Share of items whose maximal class is each emotion (ties split evenly between the tied classes), as in the paper's Figure 3.</p>\n" + argmaxChart
        body += "<h2>Mean shift per class</h2>\n<p class=\"meta\">Mean of adjusted minus reference, per emotion, over relabeled items.</p>\n" + shiftChart
        body += "<h2>Edit sizes</h2>\n<p class=\"meta\">Histogram of the total variation between adjusted and reference (0: unchanged, the laziness spike).</p>\n" + editChart
        body += "<h2>Examples</h2>\n<p class=\"meta\">The largest edits of each column (as in the paper's Table III).</p>\n" + examples
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>LLMKit prompt scores</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;padding:0 1.5em;color:#1d1d1f;line-height:1.4}
            h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
            .meta{color:#555;font-size:.9em}table{border-collapse:collapse;font-size:.88em;margin:.5em 0}
            td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f6}
            tbody tr:nth-child(even){background:#fafafa}td:not(:first-child){font-variant-numeric:tabular-nums;white-space:nowrap}
            code{background:#f4f4f6;padding:0 .2em}svg{display:block;margin:.5em 0}.legend span{display:inline-block;margin-right:1.2em;font-size:.85em}
            .swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}
            .examples td{white-space:normal;max-width:28em}
            .findings{background:#fff8e6;border:1px solid #f0d590;border-radius:6px;padding:.6em 1em;margin:1em 0}.findings ul{margin:.3em 0 0 0;padding-left:1.2em}
            </style></head><body>
            \(body)
            </body></html>
            """
    }

    /// Plain-language warnings about degenerate answers, laziness and failures.
    var findings: [String] {
        var notes: [String] = []
        for c in columns.map(\.card) {
            if let echo = c.echoRate, echo.n > 0, echo.value >= 0.5 {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * echo.value)) of the answers are the prompt's example distribution copied: the model is echoing, not relabeling.")
            }
            if c.unchanged[1].n > 0, c.unchanged[1].value >= 0.5 {
                notes.append("\(c.label): \(String(format: "%.0f%%", 100 * c.unchanged[1].value)) of the answers return the reference unchanged (within 0.01): lazy.")
            }
            if c.diversity.n > 0, c.diversity.value < 0.3 {
                notes.append("\(c.label): batches hold few distinct answers (diversity \(String(format: "%.2f", c.diversity.value))).")
            }
            if c.relabeled.n > 0, c.relabeled.value < 0.9 {
                notes.append("\(c.label): only \(String(format: "%.0f%%", 100 * c.relabeled.value)) of the items were relabeled; see the failures in the JSON.")
            }
        }
        return notes
    }

    static let palette = ["#8e8e93", "#0a84ff", "#ff9f0a", "#30d158", "#bf5af2", "#ff375f"]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func legend(_ names: [String], colorOffset: Int = 0) -> String {
        "<p class=\"legend\">" + names.enumerated().map { i, name in
            "<span><span class=\"swatch\" style=\"background:\(Self.palette[(i + colorOffset) % Self.palette.count])\"></span>\(Self.escape(name))</span>"
        }.joined() + "</p>\n"
    }

    /// Grouped bars: one group per emotion, one bar per series (values may be negative).
    /// `colorOffset` keeps each column's color the same across charts (0 is the reference's gray).
    func barChart(series: [[Double]], names: [String], colorOffset: Int = 0, format: (Double) -> String) -> String {
        let width = 860.0, height = 260.0, left = 50.0, bottom = 30.0, top = 16.0
        let all = series.flatMap { $0 }
        let maxValue = max(all.max() ?? 0, 0), minValue = min(all.min() ?? 0, 0)
        let span = max(maxValue - minValue, 1e-9)
        let plotHeight = height - bottom - top
        func y(_ v: Double) -> Double { top + (maxValue - v) / span * plotHeight }
        let group = (width - left) / Double(Emotion.count)
        let bar = (group - 10) / Double(max(1, series.count))
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        svg += "<line x1=\"\(left)\" y1=\"\(y(0))\" x2=\"\(width)\" y2=\"\(y(0))\" stroke=\"#999\"/>\n"
        for (e, emotion) in Emotion.allCases.enumerated() {
            let x0 = left + Double(e) * group + 5
            for (s, values) in series.enumerated() {
                let v = values[e]
                let top = min(y(v), y(0)), h = max(abs(y(v) - y(0)), 0.5)
                svg += "<rect x=\"\(String(format: "%.1f", x0 + Double(s) * bar))\" y=\"\(String(format: "%.1f", top))\" width=\"\(String(format: "%.1f", bar - 1))\" height=\"\(String(format: "%.1f", h))\" fill=\"\(Self.palette[(s + colorOffset) % Self.palette.count])\"><title>\(Self.escape(names[s])) · \(emotion.name): \(format(v))</title></rect>\n"
            }
            svg += "<text x=\"\(String(format: "%.1f", x0 + (group - 10) / 2))\" y=\"\(height - 10)\" font-size=\"12\" text-anchor=\"middle\">\(emotion.name)</text>\n"
        }
        for v in [minValue, maxValue] where v != 0 {
            svg += "<text x=\"\(left - 6)\" y=\"\(String(format: "%.1f", y(v) + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">\(format(v))</text>\n"
        }
        svg += "<text x=\"\(left - 6)\" y=\"\(String(format: "%.1f", y(0) + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">0</text>\n"
        return svg + "</svg>\n" + legend(names, colorOffset: colorOffset)
    }

    /// Argmax shares, ties split evenly.
    static func argmaxShares(_ distributions: [EmotionDistribution]) -> [Double] {
        var shares = [Double](repeating: 0, count: Emotion.count)
        for d in distributions {
            let set = d.argmaxSet
            for e in set { shares[e.rawValue] += 1 / Double(set.count) }
        }
        return distributions.isEmpty ? shares : shares.map { $0 / Double(distributions.count) }
    }

    var argmaxChart: String {
        guard let first = columns.first else { return "" }
        let reference = Self.argmaxShares(first.items.map(\.reference))
        let series = [reference] + columns.map { Self.argmaxShares($0.items.compactMap(\.adjusted)) }
        return barChart(series: series, names: ["reference (original)"] + columns.map(\.card.label)) { String(format: "%.1f%%", 100 * $0) }
    }

    var shiftChart: String {
        let series = columns.map { column -> [Double] in
            let pairs = column.items.compactMap { item in item.adjusted.map { ($0, item.reference) } }
            guard !pairs.isEmpty else { return [Double](repeating: 0, count: Emotion.count) }
            return (0..<Emotion.count).map { c in pairs.reduce(0) { $0 + $1.0.values[c] - $1.1.values[c] } / Double(pairs.count) }
        }
        return barChart(series: series, names: columns.map(\.card.label), colorOffset: 1) { String(format: "%+.3f", $0) }
    }

    var editChart: String {
        let bins = 20
        let width = 860.0, height = 220.0, left = 50.0, bottom = 30.0, top = 12.0
        let histograms = columns.map { column -> [Double] in
            let tvs = column.items.compactMap { item in item.adjusted.map { $0.totalVariation(to: item.reference) } }
            var counts = [Double](repeating: 0, count: bins)
            for tv in tvs { counts[min(bins - 1, Int(tv * Double(bins)))] += 1 }
            return tvs.isEmpty ? counts : counts.map { $0 / Double(tvs.count) }
        }
        let maxShare = max(histograms.flatMap { $0 }.max() ?? 0, 1e-9)
        let binWidth = (width - left) / Double(bins)
        let bar = (binWidth - 2) / Double(max(1, histograms.count))
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        let plot = height - bottom - top
        for (s, counts) in histograms.enumerated() {
            for (b, share) in counts.enumerated() where share > 0 {
                let h = share / maxShare * plot
                svg += "<rect x=\"\(String(format: "%.1f", left + Double(b) * binWidth + Double(s) * bar))\" y=\"\(String(format: "%.1f", top + plot - h))\" width=\"\(String(format: "%.1f", bar))\" height=\"\(String(format: "%.1f", h))\" fill=\"\(Self.palette[(s + 1) % Self.palette.count])\"><title>\(Self.escape(columns[s].card.label)) · TV \(String(format: "%.2f–%.2f", Double(b) / Double(bins), Double(b + 1) / Double(bins))): \(String(format: "%.1f%%", 100 * share))</title></rect>\n"
            }
        }
        for tick in stride(from: 0, through: bins, by: 4) {
            svg += "<text x=\"\(String(format: "%.1f", left + Double(tick) * binWidth))\" y=\"\(height - 10)\" font-size=\"11\" text-anchor=\"middle\">\(String(format: "%.1f", Double(tick) / Double(bins)))</text>\n"
        }
        svg += "<text x=\"\(left - 6)\" y=\"\(top + 8)\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">\(String(format: "%.0f%%", 100 * maxShare))</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plot)\" x2=\"\(width)\" y2=\"\(top + plot)\" stroke=\"#999\"/>\n"
        return svg + "</svg>\n" + "<p class=\"legend\">" + columns.enumerated().map { i, c in
            "<span><span class=\"swatch\" style=\"background:\(Self.palette[(i + 1) % Self.palette.count])\"></span>\(Self.escape(c.card.label))</span>"
        }.joined() + " <span>(x: total variation, bins of 0.05; y: share of relabeled items)</span></p>\n"
    }

    var examples: String {
        func show(_ d: EmotionDistribution) -> String {
            Emotion.allCases.filter { d[$0] > 0.0005 }.map { "\($0.name) \(String(format: "%.2f", d[$0]))" }.joined(separator: ", ")
        }
        var out = ""
        for column in columns {
            let picked = column.items.filter { $0.adjusted != nil }
                .sorted { $0.adjusted!.totalVariation(to: $0.reference) > $1.adjusted!.totalVariation(to: $1.reference) }.prefix(5)
            out += "<h3>\(Self.escape(column.card.label))</h3>\n<table class=\"examples\"><thead><tr><th>id</th><th>descriptions</th><th>reference</th><th>adjusted</th><th>reason</th></tr></thead><tbody>\n"
            for item in picked {
                out += "<tr><td>\(Self.escape(item.id))</td><td>\(Self.escape(item.descriptions.joined(separator: "; ")))</td><td>\(Self.escape(show(item.reference)))</td><td>\(Self.escape(show(item.adjusted!)))</td><td>\(Self.escape(item.reason ?? "—"))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        return out
    }
}
