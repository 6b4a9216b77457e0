import Foundation
public import LLMKit

extension ExperimentFile {
    /// The report of one dataset: one column per dataset × method × prompt × model (its first
    /// run's answers, all its runs for self-consistency) and one per ensemble, scored with the
    /// `score` code; the columns in ranking order when the file names a metric, every column
    /// compared with the first (paired bootstrap, exact McNemar, Holm across the grid); and two
    /// sections: the ranking (which neighbours and which cells the best are separated from by
    /// the paired tests) and the standard deviation of each metric over a cell's runs.
    /// Cells not done are left out, with a warning.
    public func report(dataset name: String) throws -> ScoreReport {
        guard let dataset = datasets.first(where: { $0.name == name }) else { throw ExperimentError(file: path, key: "datasets", "no dataset named '\(name)'") }
        let opened = try open(dataset, hash: false)
        let manifest = try ExperimentManifest.read(folder: output)
        let policy = sampling.policy
        let data = try reading(dataset, opened: opened) {
            try Scoring.loadDataset(opened.path, format: opened.format, mapping: opened.mapping, policy: policy, limit: opened.limit, gold: dataset.gold)
        }
        var warnings = data.warnings
        var columns: [ScoreReport.Column] = []
        var spread: [(label: String, runs: [Scorecard])] = []
        var arms: [String] = []
        var byArm: [String: [ExperimentCell]] = [:]
        for cell in cells where cell.dataset.name == name {
            if byArm[cell.armID] == nil { arms.append(cell.armID) }
            byArm[cell.armID, default: []].append(cell)
        }
        for arm in arms {
            let runs = byArm[arm]!
            let done = runs.filter { manifest?.cells[$0.id]?.state == "done" && FileManager.default.fileExists(atPath: $0.journal(in: output)) }
            if done.count < runs.count { warnings.append("\(arm): \(runs.count - done.count) of \(runs.count) runs are not done and are left out") }
            guard let first = done.first else { continue }
            let label = String(arm.dropFirst(name.count + 1))
            let prompt = first.method.usesPrompt ? first.prompt : nil
            let chunk = sampling.itemsPerRequest ?? first.prompt.chunkSize
            let items = try done.map { try Scoring.loadColumn($0.journal(in: output), dataset: data, policy: policy).items }
            columns.append(Scoring.column(label: label, items: items[0], prompt: prompt, chunkSize: chunk,
                                          repeats: items.count > 1 ? items.map { $0.map(\.adjusted) } : [], source: first.journal(in: output)))
            if items.count > 1 {
                spread.append((label, items.map { Scoring.column(label: label, items: $0, prompt: prompt, chunkSize: chunk).card }))
            }
        }
        for ensemble in ensembles {
            let members = try self.members(of: ensemble)
            guard members[0].dataset.name == name else { continue }
            let file = ensembleFile(ensemble)
            guard FileManager.default.fileExists(atPath: file) else {
                warnings.append("ensemble \(ensemble.name) is not written yet (its members are not all done)")
                continue
            }
            let items = try Scoring.loadColumn(file, dataset: data, policy: policy).items
            columns.append(Scoring.column(label: "ensemble:\(ensemble.name)", items: items, prompt: nil, chunkSize: 1, source: file))
        }
        guard !columns.isEmpty else { throw ExperimentError(file: path, "no cell of dataset '\(name)' is done: run 'promptlab experiment run' first") }
        if let rank {
            let metric = ScoreMetric.named(rank.metric)!
            let value = { (c: ScoreReport.Column) in metric.value(in: c.card) }
            // Stable: ties and columns without the metric keep file order, the latter last.
            columns = columns.enumerated().sorted { a, b in
                switch (value(a.element), value(b.element)) {
                case let (x?, y?) where x != y: return rank.higherIsBetter ? x > y : x < y
                case (nil, _?): return false
                case (_?, nil): return true
                default: return a.offset < b.offset
                }
            }.map(\.element)
        }
        var report = Scoring.report(dataset: opened.path, columns: columns, warnings: warnings)
        if let rank { report.sections.append(ranking(report, rank: rank)) }
        if !spread.isEmpty { report.sections.append(Self.spread(spread)) }
        return report
    }

    /// The ranking section: each column's value of the rank metric, its difference from the
    /// best with the paired test (from the report's comparisons: Holm across the grid), and
    /// whether it is separated from the next column (paired tests of neighbours, Holm across
    /// the neighbour pairs). Separated: Holm p < 0.05 for a binary metric, else a 95%
    /// bootstrap interval of the difference that excludes 0.
    func ranking(_ report: ScoreReport, rank: Rank) -> ScoreReport.Section {
        let metric = ScoreMetric.named(rank.metric)!
        let columns = report.columns
        var neighbours: [Comparison] = []
        for k in columns.indices.dropLast() {
            neighbours.append(Comparison.compare(columns[k].items, labelA: columns[k].card.label, columns[k + 1].items, labelB: columns[k + 1].card.label))
        }
        Comparison.holmAdjust(&neighbours)
        func test(_ c: Comparison?) -> (cell: String, separated: Bool?) {
            guard let m = c?.metrics.first(where: { $0.name == rank.metric }) else { return ("n/a", nil) }
            let separated = m.adjustedPValue.map { $0 < 0.05 } ?? (m.difference.low > 0 || m.difference.high < 0)
            let p = m.adjustedPValue.map { String(format: ", Holm p %.3g", $0) } ?? ""
            return (metric.differenceCell(m.difference) + p, separated)
        }
        func yesNo(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "not tested" }
        var rows: [[String]] = []
        var json: [JSONValue] = []
        for (k, column) in columns.enumerated() {
            let best = k == 0 ? ("baseline", nil) : test(report.comparisons.first { $0.other == column.card.label })
            let next = k + 1 < columns.count ? test(neighbours[k]) : ("", nil)
            rows.append(["\(k + 1)", column.card.label, metric.cell(in: column.card), best.0, k == 0 ? "" : yesNo(best.1), next.0,
                         k + 1 < columns.count ? yesNo(next.1) : ""])
            json.append(["rank": .int(k + 1), "column": .string(column.card.label), "value": metric.value(in: column.card).map(JSONValue.double) ?? .null,
                         "separated_from_best": best.1.map(JSONValue.bool) ?? .null, "separated_from_next": next.1.map(JSONValue.bool) ?? .null])
        }
        let order = rank.higherIsBetter ? "higher is better" : "lower is better"
        return ScoreReport.Section(
            key: "ranking", title: "Ranking on \(rank.metric)",
            note: "\(order); separated: Holm-adjusted exact McNemar p < 0.05 for a binary outcome, else a paired bootstrap 95% interval of the difference that excludes 0; "
                + "'from best' uses the comparisons with the first column (Holm across the grid), 'from next' the neighbour pairs (Holm across them)",
            header: ["rank", "column", rank.metric, "difference from best", "separated from best", "difference from next", "separated from next"],
            rows: rows, json: ["metric": .string(rank.metric), "higher_is_better": .bool(rank.higherIsBetter), "columns": .array(json)])
    }

    /// The standard deviation of each metric over a column's runs (sample SD, n − 1).
    static func spread(_ arms: [(label: String, runs: [Scorecard])]) -> ScoreReport.Section {
        var rows: [[String]] = [], csv: [[String]] = [], json: [JSONValue] = []
        for arm in arms {
            var metrics = JSONObject()
            for metric in ScoreMetric.all where metric.section == .summary && metric.key != "items" && metric.group != "cost" && metric.group != "self_consistency" {
                let values = arm.runs.compactMap { metric.value(in: $0) }
                guard values.count == arm.runs.count, values.count > 1 else { continue }
                let mean = ExactSum.mean(values)
                let sd = (ExactSum.sum(values.map { ($0 - mean) * ($0 - mean) }) / Double(values.count - 1)).squareRoot()
                rows.append([arm.label, metric.key, String(format: "%.4f", mean), String(format: "%.4f", sd), "\(values.count)"])
                csv.append([arm.label, metric.key + ".sd_over_runs", LabelExport.formatValue(sd), "", "", "\(values.count)"])
                metrics[metric.key] = ["mean": .double(mean), "sd": .double(sd), "runs": .int(values.count)]
            }
            json.append(["column": .string(arm.label), "metrics": .object(metrics)])
        }
        return ScoreReport.Section(key: "spread", title: "Run-to-run spread",
                                   note: "each metric over a cell's runs (repeats with their seeds): mean and sample standard deviation",
                                   header: ["column", "metric", "mean over runs", "sd over runs", "runs"], rows: rows, json: .array(json), csvRows: csv)
    }
}
