import Foundation
import Testing
@testable import LLMKit

/// The report's bar charts: value labels never touch each other, another bar or the chart's
/// edge, and the y axis title is never cut off (the demo report at 1300 and 800 px had both).
@Suite struct BarChartTests {
    typealias Box = BarChart.Box

    static func label(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, bar: Int, value: Double) -> BarChart.Label {
        BarChart.Label(box: Box(x0: x0, y0: y0, x1: x1, y1: y1, bar: bar), magnitude: value, svg: "\(value)")
    }

    @Test func labelsArePlacedLargestFirstAndNeverTouch() {
        let labels = [
            Self.label(10, 50, 23, 90, bar: 0, value: 0.1),
            Self.label(18, 40, 31, 80, bar: 1, value: 0.4),   // overlaps the first: the larger wins
            Self.label(40, -5, 53, 30, bar: 2, value: 0.9),   // above the chart's top: left out
            Self.label(60, 50, 73, 90, bar: 3, value: 0.2),   // on bar 4's rectangle: left out
            Self.label(80, 50, 93, 90, bar: 4, value: 0.05),  // on its own bar: kept
        ]
        let shapes = [Box(x0: 70, y0: 60, x1: 78, y1: 200, bar: 4), Box(x0: 80, y0: 40, x1: 90, y1: 200, bar: 4)]
        let placed = BarChart.Label.place(labels, shapes: shapes, height: 300).map(\.svg)
        #expect(placed == ["0.4", "0.05"])
    }

    @Test func aDenseChartDropsLabelsRatherThanOverlapThemAndWrapsALongAxisTitle() {
        let values: [[Double?]] = (0..<4).map { (s: Int) -> [Double?] in
            (0..<21).map { (c: Int) -> Double? in Double((c * 7 + s * 3) % 11) / 40 }
        }
        let chart = BarChart(categories: (0..<21).map { "bin \($0)" },
                             series: values.enumerated().map { BarChart.Series(name: "s\($0)", color: "#000", values: $1) },
                             format: ScoreReport.percent, yTitle: "share of items (reference: all; answers: relabeled)", height: 300,
                             valueFormat: ScoreReport.percentLabel, cap: 1)
        let svg = chart.svg()
        let bars = svg.components(separatedBy: "<rect").count - 1
        let labels = svg.components(separatedBy: "class=\"value").count - 1
        #expect(bars == values.joined().filter { $0 != nil }.count)
        #expect(labels > 10 && labels < bars, "\(labels) labels for \(bars) bars of 8 px")
        #expect(svg.contains(">25.0%</text>"), "the largest value keeps its label")
        // The title: two lines, each no longer than the plot is high (300 - 22 - 86 px).
        let lines = svg.components(separatedBy: "<tspan").dropFirst().map { $0.split(separator: ">")[1].split(separator: "<")[0] }
        #expect(lines.count == 2 && lines.joined(separator: " ") == "share of items (reference: all; answers: relabeled)")
        #expect(lines.allSatisfy { Double($0.count) * BarChart.titleCharWidth <= 300 - 22 - 86 })
    }
}
