import Foundation

/// Scoring relabeled outputs against their dataset: the whole `promptlab score --relabeled` /
/// `compare` path in one call (``scoreFiles(_:)``: loading and aligning the files, one
/// ``Scorecard`` per column, paired comparisons with Holm's correction), or from items already
/// in memory: one column (``column(label:items:prompt:chunkSize:repeats:cost:source:seed:)``)
/// and a report comparing columns (``report(dataset:columns:warnings:seed:)``).
public enum Scoring {
    /// The seed of every bootstrap interval unless one is given.
    public static let defaultSeed: UInt64 = 20261128
}

/// What ``Scoring/scoreFiles(_:)`` scores: existing outputs against their dataset.
public struct ScoreFilesRequest: Sendable {
    /// The dataset file (project JSONL or EMO-SUPERB CSV).
    public var dataset: String
    /// The dataset's format (default: from the extension).
    public var format: DatasetFormat?
    /// The lab's column mapping the dataset is read by, if any.
    public var mapping: ColumnMapping?
    /// How raw values that do not sum to 1 are treated.
    public var policy: RenormalizationPolicy
    /// Score only the first N items.
    public var limit: Int?
    /// A gold relabeling to score against too.
    public var gold: String?
    /// The outputs, one column each (relabeled JSONL or EMO-SUPERB CSV with a reason column).
    public var files: [String]
    /// One label per file, in order (default: the file names).
    public var labels: [String]
    /// The prompt the outputs were made with (its decimals and example); when `nil`, the prompt
    /// named in each file's records, looked up in ``library``; otherwise unknown (as shown and
    /// echo rate n/a).
    public var prompt: PromptVersion?
    /// Where prompt versions named in the records are looked up.
    public var library: PromptLibrary
    /// Items per chunk in the outputs (diversity); default: the prompt's, else 30.
    public var chunkSize: Int?
    /// The seed of the bootstrap intervals.
    public var seed: UInt64

    /// A request; only the dataset and the files are required.
    public init(dataset: String, files: [String], format: DatasetFormat? = nil, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy = .default,
                limit: Int? = nil, gold: String? = nil, labels: [String] = [], prompt: PromptVersion? = nil,
                library: PromptLibrary = PromptLibrary(directories: []), chunkSize: Int? = nil, seed: UInt64 = Scoring.defaultSeed) {
        self.dataset = dataset
        self.files = files
        self.format = format
        self.mapping = mapping
        self.policy = policy
        self.limit = limit
        self.gold = gold
        self.labels = labels
        self.prompt = prompt
        self.library = library
        self.chunkSize = chunkSize
        self.seed = seed
    }
}

extension Scoring {
    /// Loads the dataset and every output, aligns them, scores each column and compares each
    /// with the first. Warnings (misfit ids, unknown prompts) are in ``ScoreReport/warnings``.
    public static func scoreFiles(_ request: ScoreFilesRequest) throws -> ScoreReport {
        guard !request.files.isEmpty else { throw ScoringError("no output to score: give at least one file") }
        try checkLabels(request.labels, columns: request.files.count)
        let dataset = try loadDataset(request.dataset, format: request.format, mapping: request.mapping, policy: request.policy, limit: request.limit, gold: request.gold)
        var warnings = dataset.warnings
        var columns: [ScoreReport.Column] = []
        for (i, file) in request.files.enumerated() {
            let loaded = try loadColumn(file, dataset: dataset, policy: request.policy)
            let prompt = resolvePrompt(for: loaded, explicit: request.prompt, library: request.library)
            warnings += loaded.warnings + (prompt.warning.map { [$0] } ?? [])
            let label = i < request.labels.count ? request.labels[i] : URL(fileURLWithPath: file).lastPathComponent
            let chunkSize = request.chunkSize ?? prompt.version?.chunkSize ?? PromptVersion.defaultChunkSize
            columns.append(column(label: label, items: loaded.items, prompt: prompt.version, chunkSize: chunkSize, source: file, seed: request.seed))
        }
        var scored = report(dataset: dataset.path, columns: columns, warnings: warnings, seed: request.seed)
        scored.votes = dataset.votes
        return scored
    }

    /// The prompt a column's scores use: `explicit` when given (with a warning when the records
    /// name another version), else the version the records name when `library` resolves it,
    /// else none (with a warning saying what is n/a and how to fix it).
    package static func resolvePrompt(for column: LoadedColumn, explicit: PromptVersion?, library: PromptLibrary) -> (version: PromptVersion?, warning: String?) {
        let file = column.path
        let several = column.promptIDs.count > 1 ? " (the records name \(column.promptIDs.count) prompt versions: \(column.promptIDs.joined(separator: ", ")))" : ""
        if let explicit {
            if let named = column.promptIDs.first, named != explicit.id {
                return (explicit, "\(file): the records were made with \(named) but the prompt given is \(explicit.id); its decimals and example are used\(several)")
            }
            return (explicit, nil)
        }
        guard let named = column.promptIDs.first else {
            return (nil, "\(file): the prompt is unknown (no prompt in the records); unchanged (as shown) and the echo rate are n/a: give --prompt")
        }
        guard let version = try? library.resolve(named) else {
            return (nil, "\(file): the prompt \(named) named in the records is not in the prompt folders or was edited since; "
                + "unchanged (as shown) and the echo rate are n/a: give --prompt")
        }
        return (version, several.isEmpty ? nil : "\(file): using \(named)\(several)")
    }

    /// A scored column: sets each item's shown reference from `prompt` (none when `prompt` is
    /// `nil`: the prompt decides what was shown) and scores it.
    /// This is the call a run of prompt versions makes for each prompt × provider.
    public static func column(label: String, items: [ScoredItem], prompt: PromptVersion?, chunkSize: Int,
                              repeats: [[EmotionDistribution?]] = [], cost: CostInput? = nil, source: String? = nil,
                              seed: UInt64 = defaultSeed) -> ScoreReport.Column {
        var items = items
        for i in items.indices { items[i].shown = prompt?.shownReference(items[i].reference) }
        let card = Scorecard.score(label: label, items: items, example: prompt?.exampleDistribution, shownDecimals: prompt?.decimals,
                                   prompt: prompt?.id, chunkSize: chunkSize, repeats: repeats, cost: cost, seed: seed)
        return ScoreReport.Column(card: card, items: items, source: source)
    }

    /// The report of scored columns: each column after the first is compared with the first
    /// (paired bootstrap, exact McNemar), Holm-adjusted when there are two or more comparisons.
    public static func report(dataset: String, columns: [ScoreReport.Column], warnings: [String] = [], seed: UInt64 = defaultSeed) -> ScoreReport {
        var comparisons: [Comparison] = []
        if let baseline = columns.first {
            for column in columns.dropFirst() {
                comparisons.append(Comparison.compare(baseline.items, labelA: baseline.card.label, column.items, labelB: column.card.label, seed: seed))
            }
            Comparison.holmAdjust(&comparisons)
        }
        return ScoreReport(dataset: dataset, columns: columns, comparisons: comparisons, warnings: warnings + columns.compactMap(decimalsWarning))
    }

    /// A warning when answers equal the exact reference (tau 1e-6) but not the reference as
    /// shown: the model saw more decimals than the prompt version says (GPT-4's published
    /// relabels copy 9-decimal references such as 0.333333333; a plain-text prompt defaults to 4).
    static func decimalsWarning(_ column: ScoreReport.Column) -> String? {
        guard let decimals = column.card.shownDecimals else { return nil }
        let count = column.items.filter { $0.isUnchanged(tau: 1e-6) == true && $0.isUnchangedAsShown == false }.count
        guard count > 0 else { return nil }
        return "\(column.card.label): \(count) answers equal the exact reference but not the reference as shown at \(decimals) decimals; "
            + "if the model saw more decimals, score with a prompt version that says so (header 'decimals: N')"
    }

    /// Renames columns in order (`--label`, repeatable). Give one label per column, or none.
    package static func relabelColumns(_ columns: inout [ScoreReport.Column], labels: [String]) throws(ScoringError) {
        try checkLabels(labels, columns: columns.count)
        for (i, label) in labels.enumerated() { columns[i].card.label = label }
    }

    static func checkLabels(_ labels: [String], columns: Int) throws(ScoringError) {
        guard labels.isEmpty || labels.count == columns else {
            throw ScoringError("\(labels.count) labels for \(columns) columns: give one --label per column, in column order, or none")
        }
        if let empty = labels.firstIndex(where: { $0.trimmingWhitespace().isEmpty }) {
            throw ScoringError("label \(empty + 1) is empty")
        }
    }
}
