import Foundation

/// The 8 emotion classes, in the fixed order of the paper and of EMO-SUPERB's CSV columns:
/// angry, sad, disgust, contempt, fear, neutral, surprise, happy (REFERENCE.md section 1).
public enum Emotion: Int, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case angry, sad, disgust, contempt, fear, neutral, surprise, happy

    /// The number of classes, C = 8.
    public static let count = 8

    /// The lower-case name used in JSON keys and CSV headers (`"angry"`).
    public var name: String {
        switch self {
        case .angry: "angry"
        case .sad: "sad"
        case .disgust: "disgust"
        case .contempt: "contempt"
        case .fear: "fear"
        case .neutral: "neutral"
        case .surprise: "surprise"
        case .happy: "happy"
        }
    }

    /// MSP-Podcast's one-letter code (`A`, `S`, `D`, `C`, `F`, `N`, `U`, `H`).
    public var code: Character {
        switch self {
        case .angry: "A"
        case .sad: "S"
        case .disgust: "D"
        case .contempt: "C"
        case .fear: "F"
        case .neutral: "N"
        case .surprise: "U"
        case .happy: "H"
        }
    }

    /// The emotion whose JSON key is exactly `name` (lower case), or `nil`.
    public init?(key name: String) {
        guard let match = Emotion.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The emotion a name of the one alias table stands for, case-insensitively: the names
    /// (`angry`, `Anger`, `ang`, `Happiness`, `joy`, `hap`, ...) and MSP-Podcast codes (`A`,
    /// ..., `H`) that ``EmotionLabel/init(parsing:)`` reads, without `Other` and `No agreement`.
    /// Every place that reads an emotion name (votes, reference keys, column mappings) uses it.
    public init?(anyName text: String) {
        guard case .emotion(let emotion)? = EmotionLabel(parsing: text) else { return nil }
        self = emotion
    }

    /// The accepted names, for an error message: `angry (anger, ang, A), sad (sadness, S), ...`.
    public static var acceptedNames: String {
        allCases.map { e in "\(e.name) (\((EmotionLabel.aliases[e] ?? []).dropFirst().joined(separator: ", ")), \(e.code))" }
            .joined(separator: ", ")
    }

    /// The class's ``name``.
    public var description: String { name }
    /// Orders classes as the paper and the CSV columns do.
    public static func < (a: Emotion, b: Emotion) -> Bool { a.rawValue < b.rawValue }
}

/// A primary-emotion answer as corpora write it: one of the 8 classes, or an answer that is
/// recognised and excluded from the distribution ("Other", "No agreement").
public enum EmotionLabel: Sendable, Hashable {
    /// One of the 8 classes.
    case emotion(Emotion)
    /// "Other" / `O`: the annotator typed a description instead; excluded from the votes.
    case other
    /// "No agreement" / `X`: excluded from the votes.
    case noAgreement

    /// The emotion, when the label is one of the 8 classes.
    public var emotion: Emotion? {
        if case .emotion(let e) = self { return e }
        return nil
    }

    /// Parses a label case-insensitively from a name (`Angry`, `anger`, `Surprised`),
    /// an MSP-Podcast code (`A`, `S`, `D`, `C`, `F`, `N`, `U`, `H`, `O`, `X`),
    /// `other` or `no agreement`. Returns `nil` for anything else.
    public init?(parsing text: String) {
        // Exact spellings first (`A`, `Angry`): no string is built.
        if let label = Self.exact[text] {
            self = label
            return
        }
        let key = String(text.trimmingWhitespace().lowercased().map { $0 == "_" || $0 == "-" ? " " : $0 })
        if let label = Self.table[key] { self = label } else { return nil }
    }

    /// The table's keys as they are usually written: lower case, upper-case codes, capitalised names.
    private static let exact: [String: EmotionLabel] = {
        var exact: [String: EmotionLabel] = [:]
        for (key, label) in table {
            exact[key] = label
            exact[key.uppercased()] = label
            exact[key.prefix(1).uppercased() + key.dropFirst()] = label
        }
        return exact
    }()

    /// The one alias table: every name an emotion is read by (lower case; the class's own
    /// name first), beside its MSP-Podcast code. Three-letter forms are IEMOCAP's (`ang`,
    /// `hap`, `neu`, `sad`, `fea`, `sur`, `dis`).
    static let aliases: [Emotion: [String]] = [
        .angry: ["angry", "anger", "ang"],
        .sad: ["sad", "sadness"],
        .disgust: ["disgust", "disgusted", "dis"],
        .contempt: ["contempt", "contemptuous", "con"],
        .fear: ["fear", "fearful", "afraid", "fea"],
        .neutral: ["neutral", "neu"],
        .surprise: ["surprise", "surprised", "sur"],
        .happy: ["happy", "happiness", "joy", "joyful", "hap"],
    ]

    private static let table: [String: EmotionLabel] = {
        var table: [String: EmotionLabel] = [:]
        for emotion in Emotion.allCases {
            table[String(emotion.code).lowercased()] = .emotion(emotion)
            for name in aliases[emotion, default: []] { table[name] = .emotion(emotion) }
        }
        for other in ["o", "other"] { table[other] = .other }
        for none in ["x", "no agreement", "noagreement", "no consensus"] { table[none] = .noAgreement }
        return table
    }()
}
