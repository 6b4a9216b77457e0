/// A limit a column's metric must respect (`--fail-under macro_f1=0.6`, `--fail-over unchanged.0.01=0.5`).
public struct ScoreThreshold: Sendable, Hashable, CustomStringConvertible {
    /// Which side of the bound fails.
    public enum Direction: String, Sendable, Hashable {
        /// Fail when the value is below the bound.
        case under
        /// Fail when the value is above the bound.
        case over
    }

    /// The metric checked.
    public var metric: ScoreMetric
    /// The bound (finite).
    public var bound: Double
    /// Which side of the bound fails.
    public var direction: Direction

    /// A threshold from its parts.
    public init(metric: ScoreMetric, bound: Double, direction: Direction) {
        self.metric = metric
        self.bound = bound
        self.direction = direction
    }

    /// Parses `METRIC=VALUE`. Every key of the score JSON is a metric (``ScoreMetric/all``:
    /// `macro_f1`, `unchanged.0.05`, `unchanged.as_shown`, `gold.macro_f1`, `failures.not_json`,
    /// ...); the value must be a finite number. Errors are one line: an unknown name lists the
    /// known ones.
    public init(parsing rule: String, direction: Direction) throws(ScoringError) {
        let parts = rule.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ScoringError("'\(rule)' is not METRIC=VALUE (e.g. macro_f1=0.6)")
        }
        guard let metric = ScoreMetric.named(parts[0]) else {
            throw ScoringError("'\(parts[0])' in '\(rule)' is not a known metric; known metrics: \(ScoreMetric.all.map(\.key).joined(separator: ", "))")
        }
        guard let bound = Double(parts[1]), bound.isFinite else {
            throw ScoringError("the bound in '\(rule)' must be a finite number, not '\(parts[1])'")
        }
        self.init(metric: metric, bound: bound, direction: direction)
    }

    /// The threshold as the option that sets it.
    public var description: String { "--fail-\(direction.rawValue) \(metric.key)=\(LabelExport.formatValue(bound))" }

    /// What checking thresholds found.
    public struct Outcome: Sendable, Hashable {
        /// One line per column × threshold crossed: `label: macro_f1 = 0.55 is below 0.6`.
        public var failures: [String]
        /// One line per column × threshold that could not be checked (the metric is n/a there).
        public var unchecked: [String]
        /// Whether no threshold was crossed.
        public var passed: Bool { failures.isEmpty }
    }

    /// Checks every threshold on every column of `report`.
    public static func check(_ thresholds: [ScoreThreshold], on report: ScoreReport) -> Outcome {
        var outcome = Outcome(failures: [], unchecked: [])
        for threshold in thresholds {
            for column in report.columns {
                let label = column.card.label, key = threshold.metric.key
                guard let value = threshold.metric.value(in: column.card) else {
                    outcome.unchecked.append("\(label): \(key) is n/a, so \(threshold) was not checked")
                    continue
                }
                let crossed = threshold.direction == .under ? value < threshold.bound : value > threshold.bound
                if crossed {
                    outcome.failures.append("\(label): \(key) = \(LabelExport.formatValue(value)) is \(threshold.direction == .under ? "below" : "above") \(LabelExport.formatValue(threshold.bound))")
                }
            }
        }
        return outcome
    }
}
