import Foundation

/// The scores of one `promptlab score` or `compare` run, rendered as JSON, CSV (long and wide),
/// Markdown, HTML and a terminal table. Every metric comes from ``ScoreMetric/all``.
public struct ScoreReport: Sendable {
    /// One scored column (prompt version × provider × model, or one output file).
    public struct Column: Sendable {
        /// The column's scores.
        public var card: Scorecard
        /// Every dataset item, aligned across columns.
        public var items: [ScoredItem]
        /// The file the column was read from, when it was read from one.
        public var source: String?

        /// A column from its scores and items.
        public init(card: Scorecard, items: [ScoredItem], source: String? = nil) {
            self.card = card
            self.items = items
            self.source = source
        }
    }

    /// The dataset file scored against.
    public var dataset: String
    /// The scored columns, in order (the first is the baseline of the comparisons).
    public var columns: [Column]
    /// Each column after the first compared with the first.
    public var comparisons: [Comparison]
    /// Problems that did not stop scoring (ids that do not fit, unknown prompts), one sentence each.
    public var warnings: [String]
    /// Tables a tool adds (an experiment's ranking and spread over repeats); none for `score`.
    public var sections: [Section] = []
    /// How the dataset's votes were read when it is a table read through a column mapping
    /// (counts or proportions, over the items scored); `nil` for the project's own formats.
    public var votes: ColumnMapping.VoteTally?

    /// A report from its parts (``Scoring/report(dataset:columns:warnings:seed:)`` builds one with the comparisons).
    package init(dataset: String, columns: [Column], comparisons: [Comparison], warnings: [String] = []) {
        self.dataset = dataset
        self.columns = columns
        self.comparisons = comparisons
        self.warnings = warnings
    }

    /// The JSON format written by ``json``.
    package static let format = "llmkit-score/2"

    /// The tie rule, stated wherever argmax numbers are shown.
    package static let tieRule = "argmax agreement: p and the reference share at least one maximal class; values within 1e-9 of the maximum count as maximal"

    /// The tolerance rule, stated wherever thresholded numbers are shown.
    package static let toleranceRule = "every threshold tolerates rounding by 1e-9 (within tau: max|p-r| <= tau + 1e-9; above 1/8: x > 1/8 + 1e-9; "
        + "maximal: within 1e-9 of the maximum); sums are exact, so no number depends on the order of the 8 values"

    /// Which laziness number is which.
    package static let lazinessNote = "unchanged (as shown): the answer equals the reference as the prompt rendered it (at the prompt's decimals, "
        + "renormalised, within 1e-9): what a lazy model copies; unchanged (tau t): max|p-r| <= t + 1e-9 against the exact reference. "
        + "For the logprob and lexicon methods, which mix evidence into the reference, an answer is unchanged only when the item had no "
        + "evidence (no_evidence: no description, or no word in the lexicon) or w = 0; otherwise every answer moves by w times the "
        + "evidence's distance from the reference, so their unchanged rates measure missing evidence, not laziness"

    /// The interval note.
    package static let intervalNote = "rates: Wilson 95%; means and macro-F1: bootstrap 95% (1,000 resamples, seeded)"

    // MARK: JSON

    /// The documented JSON (format `llmkit-score/2`; see <doc:ScoringReference>): definitions, the metric
    /// registry, one object per column (metric keys as dotted paths), comparisons, warnings,
    /// and for a mapped table how its votes were read (`votes`).
    public var json: JSONValue {
        var o: JSONObject = [
            "format": .string(Self.format),
            "dataset": .string(dataset),
            "tie_rule": .string(Self.tieRule),
            "definitions": ["tolerance": .string(Self.toleranceRule), "tie_rule": .string(Self.tieRule),
                            "unchanged": .string(Self.lazinessNote), "intervals": .string(Self.intervalNote),
                            "transitions": .string(Self.transitionNote)],
            "metrics": .array(ScoreMetric.all.map { m in
                ["key": .string(m.key), "label": .string(m.label), "kind": .string(m.kind.rawValue),
                 "section": .string(m.section.rawValue), "definition": .string(m.definition)]
            }),
            "columns": .array(columns.map(Self.json)),
            "comparisons": .array(comparisons.map(Self.json)),
            "warnings": .array(warnings.map(JSONValue.string)),
        ]
        if let votes { o["votes"] = votes.json }
        for section in sections { o[section.key] = section.json }
        return .object(o)
    }

    /// How the transition matrix is built.
    package static let transitionNote = "rows: the reference's argmax class, columns: the answer's; 'tie' when two or more classes "
        + "are within 1e-9 of the maximum; over relabeled items"

    static func json(_ column: Column) -> JSONValue {
        let c = column.card
        var o: JSONObject = ["label": .string(c.label)]
        o["source"] = column.source.map(JSONValue.string) ?? .null
        o["prompt"] = c.prompt.map(JSONValue.string) ?? .null
        o["shown_decimals"] = c.shownDecimals.map(JSONValue.int) ?? .null
        var groups: [String: JSONObject] = [:]
        for metric in ScoreMetric.all {
            let value = metric.json(in: c)
            guard let group = metric.group else { o[metric.key] = value; continue }
            if groups[group] == nil { o[group] = .null }   // keeps the group's place in the order
            groups[group, default: JSONObject()][metric.member] = value
        }
        for (kind, count) in c.failures.sorted(by: { $0.key < $1.key }) where groups["failures"]?[kind] == nil {
            groups["failures", default: JSONObject()][kind] = .int(count)
        }
        for (name, members) in groups {
            o[name] = members.allSatisfy({ $0.value == .null }) ? .null : .object(members)
        }
        o["transitions"] = c.transitions.json
        return .object(o)
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

    // MARK: Files

    /// Where ``write(_:)`` puts the report; `nil` skips a format.
    public struct Outputs: Sendable, Hashable {
        /// The JSON (``ScoreReport/json``).
        public var json: String?
        /// Long CSV (`column,metric,value,low,high,n`).
        public var csv: String?
        /// Wide CSV (one row per metric, one column per scored column, point values).
        public var csvWide: String?
        /// Markdown tables.
        public var markdown: String?
        /// The self-contained HTML page.
        public var html: String?

        /// The paths asked for, in the order they are written.
        public var paths: [String] { [json, csv, csvWide, markdown, html].compactMap { $0 } }

        /// Refuses, before any scoring, outputs that would replace one another or one of
        /// `inputs` (by any name: path, hard link or symbolic link), and outputs that cannot be
        /// written (a directory, a folder without write access); creates their folders.
        package func check(against inputs: [String]) throws(DatasetError) {
            try FileChecks.requireDistinct(outputs: paths)
            for path in paths {
                try FileChecks.requireDistinct(output: path, from: inputs)
                try FileChecks.prepareOutput(path)
            }
        }

        /// Paths for the formats to write.
        public init(json: String? = nil, csv: String? = nil, csvWide: String? = nil, markdown: String? = nil, html: String? = nil) {
            self.json = json
            self.csv = csv
            self.csvWide = csvWide
            self.markdown = markdown
            self.html = html
        }
    }

    /// Writes each requested format atomically (folders are created); returns the paths written.
    /// Two formats asked for in one file are refused before anything is written.
    public func write(_ outputs: Outputs) throws -> [String] {
        try FileChecks.requireDistinct(outputs: outputs.paths)
        var written: [String] = []
        func write(_ path: String?, _ text: () -> String) throws {
            guard let path else { return }
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var body = text()
            while body.hasSuffix("\n") { body.removeLast() }
            let writer = try AtomicFileWriter(path: path)
            try writer.writeLine(body)
            try writer.commit()
            written.append(path)
        }
        try write(outputs.json) { JSONSerializer.string(json, style: .pretty) }
        try write(outputs.csv) { csv }
        try write(outputs.csvWide) { csvWide }
        try write(outputs.markdown) { markdown }
        try write(outputs.html) { html }
        return written
    }
}
