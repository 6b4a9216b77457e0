import Foundation

/// One metric of a ``Scorecard``, named once for every place that shows or checks it: the
/// score JSON, the CSV (long and wide), Markdown, HTML, the terminal table, paired comparisons
/// and `--fail-under`/`--fail-over`.
///
/// The ``key`` is the metric's dotted path in a column of the score JSON: `macro_f1` is
/// `column["macro_f1"]`, `unchanged.0.05` is `column["unchanged"]["0.05"]` (the path splits at
/// the first dot only), `gold.macro_f1` is `column["gold"]["macro_f1"]`. ``all`` lists every
/// metric in table order; ``named(_:)`` finds one by key.
public struct ScoreMetric: Sendable, Hashable, CustomStringConvertible {
    /// What the number is, which decides how it is written and what interval it carries.
    public enum Kind: String, Sendable, Hashable {
        /// A share of items, with a Wilson 95% interval (written as a percentage in tables).
        case rate
        /// A mean over items (or chunks), with a seeded bootstrap 95% interval.
        case mean
        /// A corpus-level statistic with a seeded bootstrap 95% interval (macro-F1).
        case score
        /// A whole number (items, requests, failures of a kind).
        case count
        /// A number without an interval (alpha, tokens per item, seconds).
        case value
    }

    /// Where the metric is shown.
    public enum Section: String, Sendable, Hashable {
        /// The side-by-side table.
        case summary
        /// The per-class table (unchanged rate by the reference's argmax class).
        case byClass = "by_class"
        /// Failure counts by kind (JSON, CSV and thresholds; the table shows one summary row).
        case failures
    }

    /// How two columns are compared on this metric, item by item.
    enum Pairing: Sendable {
        /// A per-item yes/no (exact McNemar test and a bootstrap interval of the difference in rates).
        case binary(@Sendable (ScoredItem) -> Bool?)
        /// A per-item number (bootstrap interval of the difference in means).
        case continuous(@Sendable (ScoredItem) -> Double?)
        /// A corpus statistic: prepared once from the relabeled items, then evaluated on resampled
        /// item indices (bootstrap interval of the difference).
        case corpus(@Sendable ([ScoredItem]) -> @Sendable ([Int]) -> Double)
    }

    /// The dotted path in a column of the score JSON (`unchanged.as_shown`, `gold.macro_f1`).
    public let key: String
    /// The row label in tables.
    public let label: String
    /// What the number is (rate, mean, score, count, value).
    public let kind: Kind
    /// Where the metric is shown.
    public let section: Section
    /// One sentence: what is counted or averaged, over which items, with which tolerance.
    public let definition: String
    /// Decimals in tables, for ``Kind/mean``, ``Kind/score`` and ``Kind/value``.
    public let decimals: Int
    /// What tables show when the value is NaN although the metric applies (alpha with identical runs).
    public let undefinedText: String?
    /// The heading the metric is listed under in reports (`Laziness`, `Agreement with the reference`, ...).
    public internal(set) var topic = ""
    let read: @Sendable (Scorecard) -> Estimate?
    let pairing: Pairing?

    init(_ key: String, _ label: String, _ kind: Kind, section: Section = .summary, decimals: Int = 4, undefinedText: String? = nil,
         pairing: Pairing? = nil, definition: String, read: @escaping @Sendable (Scorecard) -> Estimate?) {
        self.key = key
        self.label = label
        self.kind = kind
        self.section = section
        self.definition = definition
        self.decimals = decimals
        self.undefinedText = undefinedText
        self.read = read
        self.pairing = pairing
    }

    /// The JSON object holding the metric (`unchanged` for `unchanged.0.05`), or `nil` for a top-level key.
    public var group: String? { key.firstIndex(of: ".").map { String(key[..<$0]) } }
    /// The key inside ``group`` (`0.05` for `unchanged.0.05`), or the whole key.
    public var member: String { key.firstIndex(of: ".").map { String(key[key.index(after: $0)...]) } ?? key }
    /// Whether paired comparisons include this metric.
    public var isCompared: Bool { pairing != nil }

    /// The estimate in `card`, or `nil` when the metric does not apply (no prompt, no gold, no repeats, ...).
    public func estimate(in card: Scorecard) -> Estimate? { read(card) }

    /// The point value in `card`, or `nil` when it does not apply or is undefined (no items, NaN).
    public func value(in card: Scorecard) -> Double? {
        guard let e = read(card), e.value.isFinite else { return nil }
        return e.value
    }

    /// The metric as it appears in a column of the score JSON: an `{"value", "low", "high", "n"}`
    /// object for rates, means and scores, an integer for counts, a number for values, `null`
    /// when the metric does not apply.
    package func json(in card: Scorecard) -> JSONValue {
        guard let e = read(card) else { return .null }
        switch kind {
        case .rate, .mean, .score: return e.json
        case .count: return e.value.isFinite ? .int(Int(e.value)) : .null
        case .value: return .double(e.value)
        }
    }

    /// The value as a table cell: `12.6% [11.8, 13.4]`, `0.1564 [0.1534, 0.1598]`, `6602`, or `n/a`.
    package func cell(in card: Scorecard) -> String {
        guard let e = read(card) else { return "n/a" }
        if !e.value.isFinite { return e.n > 0 || kind == .value ? (undefinedText ?? "n/a") : "n/a" }
        switch kind {
        case .rate:
            return String(format: "%.1f%% [%.1f, %.1f]", 100 * e.value, 100 * e.low, 100 * e.high)
        case .mean, .score:
            let d = decimals
            return e.low.isFinite ? String(format: "%.\(d)f [%.\(d)f, %.\(d)f]", e.value, e.low, e.high) : String(format: "%.\(d)f", e.value)
        case .count:
            return String(Int(e.value))
        case .value:
            return String(format: "%.\(decimals)f", e.value)
        }
    }

    /// A paired difference as a table cell: percentage points for rates
    /// (`+1.2 pp [-0.5, +3.0]`), the metric's decimals otherwise.
    package func differenceCell(_ e: Estimate) -> String {
        guard e.value.isFinite else { return "n/a" }
        if kind == .rate { return String(format: "%+.1f pp [%+.1f, %+.1f]", 100 * e.value, 100 * e.low, 100 * e.high) }
        let d = decimals
        return String(format: "%+.\(d)f [%+.\(d)f, %+.\(d)f]", e.value, e.low, e.high)
    }

    /// The key.
    public var description: String { key }
    /// Metrics are the same when their keys are.
    public static func == (a: ScoreMetric, b: ScoreMetric) -> Bool { a.key == b.key }
    /// Hashes the key.
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

extension [ScoreMetric] {
    /// The metrics with their ``ScoreMetric/topic`` set.
    func topic(_ topic: String) -> [ScoreMetric] { map { var m = $0; m.topic = topic; return m } }
}

extension ScoreMetric {
    /// The metric whose key is `key`, or `nil`. Keys of the first JSON format
    /// (`unchanged_0.01`, `unchanged_1e-06`) are accepted for the laziness rates.
    public static func named(_ key: String) -> ScoreMetric? {
        let key = key.trimmingWhitespace()
        if let metric = byKey[key] { return metric }
        if key.hasPrefix("unchanged_") { return byKey["unchanged." + key.dropFirst("unchanged_".count)] }
        return nil
    }

    /// The metrics of one section, in table order.
    public static func section(_ section: Section) -> [ScoreMetric] { all.filter { $0.section == section } }

    private static let byKey: [String: ScoreMetric] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
}
