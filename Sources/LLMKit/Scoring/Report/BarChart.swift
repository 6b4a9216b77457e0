import Foundation

/// A grouped vertical bar chart as inline SVG: a y axis with "nice" ticks, gridlines and an
/// axis title, category labels on the x axis (rotated when there are many), a value label on
/// every bar that has room, optional 95% interval whiskers, and a `<title>` tooltip per bar.
/// The SVG scales to the page width (`width="100%"` with a view box); no scripts.
struct BarChart {
    struct Series {
        var name: String
        var color: String
        /// One value per category; `nil` draws nothing (n/a).
        var values: [Double?]
        /// Optional (low, high) per category, drawn as whiskers.
        var intervals: [(Double, Double)?]? = nil
    }

    var categories: [String]
    var series: [Series]
    /// Formats axis ticks and value labels.
    var format: (Double) -> String
    var yTitle: String
    var xTitle: String? = nil
    var height = 300.0
    /// The axis always reaches at least this far (1 for shares that should read against 100%).
    var minimumTop = 0.0
    /// Draws a dashed divider after this category (the laziness spike before the edit bins).
    var dividerAfter: Int? = nil
    /// Formats value labels on bars (default: ``format``).
    var valueFormat: ((Double) -> String)? = nil
    /// The axis never goes past this (1 for shares: no 125% tick above a 100% bar).
    var cap: Double? = nil

    static let width = 1000.0

    /// Pixels per character of an 11 px value label (a generous estimate, so labels never touch).
    static let labelCharWidth = 7.4
    /// The band an 11 px label takes across its line (a rotated label's width on the x axis).
    static let labelLineHeight = 13.0
    /// Pixels per character of the 12.5 px axis title, and the distance between its lines.
    static let titleCharWidth = 7.2, titleLineHeight = 15.0

    /// A rectangle of the chart: a bar, a whisker or a label.
    struct Box {
        var x0: Double, y0: Double, x1: Double, y1: Double
        /// The bar it belongs to (a label may lie on its own bar and whisker).
        var bar: Int

        func touches(_ o: Box) -> Bool { x0 < o.x1 + 1 && o.x0 < x1 + 1 && y0 < o.y1 + 1 && o.y0 < y1 + 1 }
    }

    /// A value label and the box it covers.
    struct Label {
        var box: Box
        var magnitude: Double
        var svg: String

        /// The labels that fit, placed largest value first: none touches another label, another
        /// bar or whisker, or the chart's edge; the others are left out (their bar's tooltip
        /// keeps the value).
        static func place(_ labels: [Label], shapes: [Box], height: Double) -> [Label] {
            var placed: [Label] = []
            for label in labels.sorted(by: { $0.magnitude > $1.magnitude }) where label.box.y0 >= 1 && label.box.y1 <= height - 1 {
                if shapes.contains(where: { $0.bar != label.box.bar && $0.touches(label.box) }) { continue }
                if !placed.contains(where: { $0.box.touches(label.box) }) { placed.append(label) }
            }
            return placed
        }
    }

    /// `text` in lines of at most `width` characters, broken at spaces.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        return lines + (line.isEmpty ? [] : [line])
    }

    func svg() -> String {
        let rotate = categories.count > 10 || categories.contains { $0.count > 14 }
        // Value labels are written across a bar when the widest fits, else along it (rotated).
        let estimatedBar = min(48, ((Self.width - 92) / Double(max(1, categories.count)) * 0.8) / Double(max(1, series.count)))
        let widestLabel = series.flatMap { $0.values.compactMap { $0 } }.map { (valueFormat ?? format)($0).count }.max() ?? 0
        let vertical = Double(widestLabel) * Self.labelCharWidth > estimatedBar - 2
        let extents = series.flatMap { s in s.values.indices.flatMap { i -> [Double] in
            [s.values[i], s.intervals?[i]?.0, s.intervals?[i]?.1].compactMap { $0 }.filter(\.isFinite)
        } }
        // Headroom of 8% on each side that has bars, so value labels never meet the axis labels.
        let lowest = min(0, extents.min() ?? 0), highest = max(extents.max() ?? 0, 1e-9)
        let pad = 0.08 * (highest - lowest)
        var wanted = max(minimumTop, highest + pad)
        if let cap { wanted = min(wanted, max(cap, highest)) }
        let ticks = Self.niceTicks(low: lowest < 0 ? lowest - pad : 0, high: wanted)
        let low = ticks.first!, high = ticks.last!
        // The y axis title sits left of the widest tick label, on as many lines as the plot's
        // height needs (it is never cut off).
        let tickWidth = Double(ticks.map { format($0).count }.max() ?? 3) * 7.2
        let top = 22.0, bottom = (rotate ? 86.0 : 40.0) + (xTitle == nil ? 0 : 18)
        let titleLines = Self.wrap(yTitle, width: max(8, Int((height - top - bottom) / Self.titleCharWidth)))
        let left = 34 + Double(titleLines.count - 1) * Self.titleLineHeight + tickWidth + 10, right = 12.0
        let plotWidth = Self.width - left - right, plotHeight = height - top - bottom
        func y(_ v: Double) -> Double { top + (high - v) / (high - low) * plotHeight }
        var svg = "<svg viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" width=\"100%\" role=\"img\" class=\"chart\">\n"
        for t in ticks {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(t)))\" x2=\"\(f(Self.width - right))\" y2=\"\(f(y(t)))\" stroke=\"\(t == 0 ? "#777" : "#e3e3e8")\"/>"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y(t) + 4))\" class=\"tick\" text-anchor=\"end\">\(ScoreReport.escape(format(t)))</text>\n"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"#777\"/>\n"
        svg += "<text transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" class=\"axis\" text-anchor=\"middle\">"
            + titleLines.enumerated().map { i, line in "<tspan x=\"0\" dy=\"\(i == 0 ? 0 : Self.titleLineHeight)\">\(ScoreReport.escape(line))</tspan>" }.joined()
            + "</text>\n"
        let group = plotWidth / Double(max(1, categories.count))
        let bar = min(48, (group * 0.8) / Double(max(1, series.count)))
        var labels: [Label] = [], shapes: [Box] = []
        for (c, category) in categories.enumerated() {
            let x0 = left + Double(c) * group + (group - bar * Double(series.count)) / 2
            for (s, serie) in series.enumerated() {
                guard let v = serie.values[c], v.isFinite else { continue }
                let drawn = bars(x: x0 + Double(s) * bar, width: bar, value: v, interval: serie.intervals?[c] ?? nil, y: y, serie: serie,
                                 category: category, vertical: vertical, index: shapes.count)
                svg += drawn.svg
                shapes += drawn.shapes
                if let label = drawn.label { labels.append(label) }
            }
            let cx = left + (Double(c) + 0.5) * group, ly = top + plotHeight + 16
            svg += rotate
                ? "<text transform=\"translate(\(f(cx + 4)) \(f(ly - 4))) rotate(-35)\" class=\"cat\" text-anchor=\"end\">\(ScoreReport.escape(category))</text>\n"
                : "<text x=\"\(f(cx))\" y=\"\(f(ly))\" class=\"cat\" text-anchor=\"middle\">\(ScoreReport.escape(category))</text>\n"
        }
        svg += Label.place(labels, shapes: shapes, height: height).map(\.svg).joined(separator: "\n") + "\n"
        if let divider = dividerAfter, divider + 1 < categories.count {
            let x = left + Double(divider + 1) * group
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
        }
        if let xTitle {
            svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 6))\" class=\"axis\" text-anchor=\"middle\">\(ScoreReport.escape(xTitle))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// One bar with its whisker, value label and tooltip. With `vertical` labels, the label runs
    /// along the bar: inside it (white) when the bar is long and wide enough, else beyond its
    /// end; zero bars get no label then (the axis says 0). A label that would touch another or
    /// leave the chart is left out; the tooltip keeps the value.
    private func bars(x: Double, width: Double, value v: Double, interval: (Double, Double)?, y: (Double) -> Double,
                      serie: Series, category: String, vertical: Bool, index: Int) -> (svg: String, shapes: [Box], label: Label?) {
        let top = min(y(v), y(0)), h = max(abs(y(v) - y(0)), v == 0 ? 0 : 0.8)
        var tip = "\(serie.name) · \(category): \(format(v))"
        if let (lo, hi) = interval { tip += " [\(format(lo)), \(format(hi))]" }
        var out = "<rect x=\"\(f(x + 1))\" y=\"\(f(top))\" width=\"\(f(max(1, width - 2)))\" height=\"\(f(h))\" fill=\"\(serie.color)\"><title>\(ScoreReport.escape(tip))</title></rect>"
        var shapes = [Box(x0: x + 1, y0: top, x1: x + max(2, width - 1), y1: top + h, bar: index)]
        var labelY = v >= 0 ? y(v) - 4 : y(v) + 12
        if let (lo, hi) = interval, lo.isFinite, hi.isFinite {
            let cx = x + width / 2
            shapes.append(Box(x0: cx - 4, y0: min(y(lo), y(hi)), x1: cx + 4, y1: max(y(lo), y(hi)), bar: index))
            out += "<path d=\"M\(f(cx)) \(f(y(lo)))V\(f(y(hi)))M\(f(cx - 4)) \(f(y(lo)))h8M\(f(cx - 4)) \(f(y(hi)))h8\" stroke=\"#333\" fill=\"none\"/>"
            labelY = v >= 0 ? min(labelY, y(hi) - 4) : max(labelY, y(lo) + 12)
        }
        let label = (valueFormat ?? format)(v)
        let length = Double(label.count) * Self.labelCharWidth
        if !vertical {
            let cx = x + width / 2
            return (out + "\n", shapes, Label(box: Box(x0: cx - length / 2, y0: labelY - 10, x1: cx + length / 2, y1: labelY + 2, bar: index), magnitude: abs(v),
                                     svg: "<text x=\"\(f(cx))\" y=\"\(f(labelY))\" class=\"value\" text-anchor=\"middle\">\(ScoreReport.escape(label))</text>"))
        } else if v != 0 {
            let cx = x + width / 2 + 4
            let inside = h >= length + 8 && width >= Self.labelLineHeight
            // Rotated -90°: text-anchor end puts the label's end at the anchor, reading upwards.
            let anchorY = v >= 0 ? (inside ? y(v) + 4 : labelY) : (inside ? y(v) - 4 : y(v) + 4)
            let anchor = (v >= 0) == inside ? "end" : "start"
            // The rotated glyphs stand left of the anchor's x, along the text's length.
            let (y0, y1) = anchor == "start" ? (anchorY - length, anchorY) : (anchorY, anchorY + length)
            return (out + "\n", shapes, Label(box: Box(x0: cx - 10, y0: y0, x1: cx + 3, y1: y1, bar: index), magnitude: abs(v),
                                     svg: "<text transform=\"translate(\(f(cx)) \(f(anchorY))) rotate(-90)\" class=\"value\(inside ? " inside" : "")\" text-anchor=\"\(anchor)\">\(ScoreReport.escape(label))</text>"))
        }
        return (out + "\n", shapes, nil)
    }

    /// Ticks at 1, 2 or 5 × 10^k covering [low, high], about 5 of them, including 0.
    static func niceTicks(low: Double, high: Double) -> [Double] {
        let span = max(high - low, 1e-12)
        let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(low / step + 1e-9) * step, last = ceil(high / step - 1e-9) * step
        return stride(from: first, through: last + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
