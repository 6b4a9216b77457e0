/// One utterance to relabel: its typed descriptions and its reference distribution.
public struct DatasetItem: Sendable, Hashable {
    /// A unique id (file name in EMO-SUPERB, any string in the project JSONL).
    public var id: String
    /// The annotators' typed descriptions, raw (mixed case, typos and all).
    public var descriptions: [String]
    /// The reference distribution (vote shares).
    public var reference: EmotionDistribution
    /// The votes the reference came from, when the dataset gave votes.
    public var votes: [EmotionLabel]?
    /// A gold relabeling to score against, when the dataset has one.
    public var gold: EmotionDistribution?
    /// The lab's own columns carried through to the export (``ColumnMapping/keepColumns``),
    /// in the mapping's order: column name to the cell's text (every value a string).
    public var keep: JSONObject

    public init(id: String, descriptions: [String], reference: EmotionDistribution, votes: [EmotionLabel]? = nil, gold: EmotionDistribution? = nil,
                keep: JSONObject = JSONObject()) {
        self.id = id
        self.descriptions = descriptions
        self.reference = reference
        self.votes = votes
        self.gold = gold
        self.keep = keep
    }
}
