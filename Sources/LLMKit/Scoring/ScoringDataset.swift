/// The items a score is computed over, read once with the line each came from
/// (``Scoring/loadDataset(_:format:mapping:policy:limit:gold:)``).
public struct ScoringDataset: Sendable {
    /// The dataset file.
    package var path: String
    /// The items, in file order (the first `limit` when a limit was given).
    package var items: [DatasetItem]
    /// The line each item starts on, aligned with ``items``.
    package var lines: [Int]
    /// Ids in the file past the limit: records for them are not scored, and not reported as
    /// strangers either.
    package var idsBeyondLimit: Set<String>
    /// What the reader noticed that does not stop scoring (gold ids not in the dataset, ...).
    package var warnings: [String]
    /// How a table read through a column mapping had its votes read (counts or proportions),
    /// over the items within the limit; `nil` for the project's own formats.
    package var votes: ColumnMapping.VoteTally?
    private var positions: [String: Int]

    /// The position of `id` in ``items``.
    package func index(of id: String) -> Int? { positions[id] }

    init(path: String, items: [DatasetItem], lines: [Int], idsBeyondLimit: Set<String>, warnings: [String] = []) {
        self.path = path
        self.items = items
        self.lines = lines
        self.idsBeyondLimit = idsBeyondLimit
        self.warnings = warnings
        positions = Dictionary(items.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension Scoring {
    /// Reads the dataset to score against: every item with its line, checking that ids are
    /// unique (a repeated id is an error naming both lines), and merges a gold relabeling
    /// (project JSONL with `gold` or `reference`, or an EMO-SUPERB CSV).
    public static func loadDataset(_ path: String, format: DatasetFormat? = nil, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy = .default,
                                   limit: Int? = nil, gold: String? = nil) throws(DatasetError) -> ScoringDataset {
        var items: [DatasetItem] = [], lines: [Int] = [], beyond = Set<String>()
        var firstLine: [String: Int] = [:]
        let votes = try forEachItem(path, format: format, mapping: mapping, policy: policy, tallyLimit: limit) { (item: DatasetItem, line: Int) throws(DatasetError) in
            if let earlier = firstLine[item.id] {
                throw DatasetError(file: path, line: line, field: "id",
                                   reason: "id '\(item.id)' appears on lines \(earlier) and \(line); scores need one item per id")
            }
            firstLine[item.id] = line
            if let limit, items.count >= limit { beyond.insert(item.id); return }
            items.append(item)
            lines.append(line)
        }
        var dataset = ScoringDataset(path: path, items: items, lines: lines, idsBeyondLimit: beyond)
        dataset.votes = votes
        if let gold { try mergeGold(gold, into: &dataset, policy: policy) }
        return dataset
    }

    /// Calls `body` with every item of a dataset file and the line it starts on; returns how a
    /// mapped table's votes were read over the first `tallyLimit` items (all without one).
    @discardableResult
    static func forEachItem(_ path: String, format: DatasetFormat?, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy, tallyLimit: Int? = nil,
                            _ body: (DatasetItem, Int) throws(DatasetError) -> Void) throws(DatasetError) -> ColumnMapping.VoteTally? {
        let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
        var count = 0
        var tally: ColumnMapping.VoteTally?
        while let item = try reader.next() {
            try body(item, reader.lastLine)
            count += 1
            if count == tallyLimit { tally = reader.votes }
        }
        return tally ?? reader.votes
    }

    /// Sets `gold` on the dataset's items from a gold file; ids the dataset lacks are counted in a warning.
    static func mergeGold(_ gold: String, into dataset: inout ScoringDataset, policy: RenormalizationPolicy) throws(DatasetError) {
        var strangers = 0
        if DatasetFormat.detect(path: gold) == .emoSuperbCSV {
            let reader = try EmoSuperbCSVReader(path: gold)
            while let row = try reader.nextRow() {
                guard let i = dataset.index(of: row.id) else { strangers += dataset.idsBeyondLimit.contains(row.id) ? 0 : 1; continue }
                do { dataset.items[i].gold = try EmotionDistribution.normalizing(row.values, policy: policy).distribution } catch {
                    throw DatasetError(file: gold, line: row.line, field: "gold", reason: error.description)
                }
            }
        } else {
            let reader = try DatasetReader(path: gold, format: .jsonl, policy: policy)
            while let item = try reader.next() {
                guard let i = dataset.index(of: item.id) else { strangers += dataset.idsBeyondLimit.contains(item.id) ? 0 : 1; continue }
                dataset.items[i].gold = item.gold ?? item.reference
            }
        }
        if strangers > 0 { dataset.warnings.append("\(gold): \(strangers) gold ids are not in the dataset \(dataset.path) and were ignored") }
    }
}
