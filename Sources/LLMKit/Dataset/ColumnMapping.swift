/// How a lab's own vote table maps onto an item: which column is the id, which columns hold
/// the votes of which emotion, where the typed descriptions are and how they are joined, and
/// which other columns travel through to the export.
///
/// The same mapping comes from `promptlab` flags (`--id-column`, `--emotion-columns`,
/// `--descriptions-column`, `--descriptions-separator`, `--keep-columns`, `--votes`), from a
/// mapping file (YAML or JSON), or from the `mapping:` section of a dataset in an experiment
/// file. Its coded keys are the file's keys:
///
/// ```yaml
/// format: csv                # csv, tsv or jsonl; default: from the file's extension
/// id: utterance_id
/// emotions: {Anger: angry, Sadness: sad, Disgust: disgust, Contempt: contempt,
///            Fear: fear, Neutral: neutral, Surprise: surprise, Happiness: happy}
/// descriptions: notes
/// separator: ";"
/// keep: [speaker, transcript]
/// votes: counts              # counts, proportions or auto
/// ```
public struct ColumnMapping: Sendable, Hashable, Codable {
    /// Whether the emotion columns hold vote counts or proportions.
    public enum VoteScale: String, Sendable, Hashable, Codable, CaseIterable {
        /// Non-negative whole numbers of votes; the reference is their share.
        case counts
        /// Non-negative shares that sum to 1 (within the renormalisation policy).
        case proportions
        /// Counts when every value of the row is a whole number, proportions when they sum to 1;
        /// a row that is neither is refused.
        case auto
    }

    /// How a table's rows were read: how many as vote counts and how many as proportions,
    /// under the mapping's ``VoteScale`` (with `auto`, a row of whole numbers is counts, any
    /// other row that sums to 1 is proportions). A run states it, so nobody has to guess which
    /// reading `auto` chose.
    public struct VoteTally: Sendable, Hashable {
        /// The scale the mapping gave.
        public var scale: VoteScale
        /// Rows read as vote counts.
        public var counts: Int
        /// Rows read as proportions.
        public var proportions: Int

        /// An empty tally for `scale`.
        public init(scale: VoteScale, counts: Int = 0, proportions: Int = 0) {
            self.scale = scale
            self.counts = counts
            self.proportions = proportions
        }

        /// One line for a person: `votes: read as counts, each row's counts divided by its total
        /// (all 40 rows; the mapping says counts)`, or `votes: 38 rows read as counts, 2 rows as
        /// proportions (the mapping says auto: --votes counts or --votes proportions to insist)`.
        public var sentence: String {
            let rows = counts + proportions
            let given = scale == .auto ? "the mapping says auto: --votes counts or --votes proportions to insist" : "the mapping says \(scale.rawValue)"
            func plural(_ n: Int) -> String { n == 1 ? "1 row" : "\(n) rows" }
            switch (counts, proportions) {
            case (0, 0): return "votes: no rows read (\(given))"
            case (_, 0): return "votes: read as counts, each row's counts divided by its total (\(rows == 1 ? "the 1 row" : "all \(rows) rows"); \(given))"
            case (0, _): return "votes: read as proportions, each row summing to 1 (\(rows == 1 ? "the 1 row" : "all \(rows) rows"); \(given))"
            default: return "votes: \(plural(counts)) read as counts, \(plural(proportions)) as proportions (\(given))"
            }
        }

        /// `{"scale", "counts", "proportions"}` for a summary file.
        public var json: JSONValue {
            .object(["scale": .string(scale.rawValue), "counts": .int(counts), "proportions": .int(proportions)])
        }
    }

    /// The table layout; `nil`: from the file's extension (`.csv`, `.tsv`, `.jsonl`).
    public var format: TableFormat?
    /// The column that holds the item id.
    public var idColumn: String
    /// Emotion columns: the lab's column name and the emotion it counts, in the order the
    /// export writes them (decoded through `Decodable`: in column-name order, as a dictionary
    /// has no order; `promptlab --mapping FILE` puts them back in the file's order).
    public var emotionColumns: [EmotionColumn]
    /// The column with the annotators' typed descriptions, if any.
    public var descriptionsColumn: String?
    /// What joins several descriptions in one cell (`;`); `nil`: the cell is one description.
    public var descriptionsSeparator: String?
    /// Columns carried through the journal to the export, under their own names.
    public var keepColumns: [String]
    /// Counts or proportions.
    public var votes: VoteScale

    /// A table layout the mapping reads.
    public enum TableFormat: String, Sendable, Hashable, Codable, CaseIterable {
        /// Comma-separated values (RFC 4180 quoting), a header first.
        case csv
        /// Tab-separated values (the same quoting), a header first.
        case tsv
        /// One JSON object per line, the mapping's names as keys.
        case jsonl
    }

    /// One emotion column: the lab's name for it and the emotion it holds.
    public struct EmotionColumn: Sendable, Hashable {
        /// The lab's column name (`Anger`).
        public var column: String
        /// The emotion its votes count (``Emotion/angry``).
        public var emotion: Emotion
        /// A column and its emotion.
        public init(column: String, emotion: Emotion) {
            self.column = column
            self.emotion = emotion
        }
    }

    /// A mapping; only the id and the emotion columns are required (votes default to `auto`).
    public init(format: TableFormat? = nil, idColumn: String, emotionColumns: [EmotionColumn], descriptionsColumn: String? = nil,
                descriptionsSeparator: String? = nil, keepColumns: [String] = [], votes: VoteScale = .auto) {
        self.format = format
        self.idColumn = idColumn
        self.emotionColumns = emotionColumns
        self.descriptionsColumn = descriptionsColumn
        self.descriptionsSeparator = descriptionsSeparator
        self.keepColumns = keepColumns
        self.votes = votes
    }

    enum CodingKeys: String, CodingKey {
        case format, idColumn = "id", emotionColumns = "emotions", descriptionsColumn = "descriptions"
        case descriptionsSeparator = "separator", keepColumns = "keep", votes
    }

    /// Decodes a mapping file's keys (emotion names through the one alias table).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decodeIfPresent(TableFormat.self, forKey: .format)
        idColumn = try c.decode(String.self, forKey: .idColumn)
        let names = try c.decode([String: String].self, forKey: .emotionColumns)
        var columns: [EmotionColumn] = []
        for (column, name) in names.sorted(by: { $0.key < $1.key }) {
            guard let emotion = Emotion(anyName: name) else {
                throw DecodingError.dataCorruptedError(forKey: .emotionColumns, in: c, debugDescription:
                    "'\(name)' (column '\(column)') is not an emotion; accepted, any case: \(Emotion.acceptedNames)")
            }
            columns.append(EmotionColumn(column: column, emotion: emotion))
        }
        emotionColumns = columns
        descriptionsColumn = try c.decodeIfPresent(String.self, forKey: .descriptionsColumn)
        descriptionsSeparator = try c.decodeIfPresent(String.self, forKey: .descriptionsSeparator)
        keepColumns = try c.decodeIfPresent([String].self, forKey: .keepColumns) ?? []
        votes = try c.decodeIfPresent(VoteScale.self, forKey: .votes) ?? .auto
    }

    /// Encodes the mapping file's keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(format, forKey: .format)
        try c.encode(idColumn, forKey: .idColumn)
        try c.encode(Dictionary(uniqueKeysWithValues: emotionColumns.map { ($0.column, $0.emotion.name) }), forKey: .emotionColumns)
        try c.encodeIfPresent(descriptionsColumn, forKey: .descriptionsColumn)
        try c.encodeIfPresent(descriptionsSeparator, forKey: .descriptionsSeparator)
        if !keepColumns.isEmpty { try c.encode(keepColumns, forKey: .keepColumns) }
        try c.encode(votes, forKey: .votes)
    }
}
