import Foundation

/// A prompt version: the system and user text, how chunks are written, and a content id.
///
/// See ``PromptVersion/load(contentsOf:)`` for the file format. The ``id`` is the name plus
/// a short content hash (`paper-reason@3f2a9c1b`), so two runs with the same id used the same
/// words, and editing a prompt file changes the id of everything it produces.
public struct PromptVersion: Sendable, Hashable {
    /// The version's name (the file name without extension unless the file says otherwise).
    public var name: String
    /// One line saying what the version is for.
    public var summary: String
    /// Items per request (30 in the paper).
    public var chunkSize: Int
    /// What joins data points in the user message (`" | "`; the paper's released prompt says `|`).
    public var separator: String
    /// Whether the version asks for a reason per item (the schema then requires `reason`).
    public var asksForReason: Bool
    /// Decimals written for reference values (`0.0833` with 4).
    public var decimals: Int
    /// The longest reason, in characters (the paper asks for 15 to 20 words). Sent as the
    /// schema's `maxLength` and checked locally for every provider.
    public var reasonLimit: Int
    /// The reason limit that applies: ``reasonLimit`` when the version asks for a reason.
    public var askedReasonLimit: Int? { asksForReason ? reasonLimit : nil }
    /// What happens to a longer reason.
    public var reasonOverflow: ReasonOverflow

    /// What happens to a reason longer than ``reasonLimit``.
    public enum ReasonOverflow: String, Sendable, Hashable, CaseIterable {
        /// Cut it at the limit and flag the record (`reason_cut`); the item counts as relabeled.
        case cut
        /// Fail the item with `reason_too_long`.
        case reject
    }
    /// The system text (placeholders already substituted: it is the same for every chunk).
    public var systemText: String
    /// The user text template; `{{data}}` and `{{count}}` are filled per chunk.
    public var userTemplate: String
    /// The carried columns of a lab's table the version uses (`columns:` in the file's
    /// header, e.g. `transcript`): each item must carry them (``DatasetItem/keep``).
    public var columns: [String] = []
    /// How one data point's text is written (the `=== item ===` section): `{{descriptions}}`
    /// and the declared ``columns`` as `{{transcript}}`; `nil`: the descriptions alone.
    public var itemTemplate: String?

    // Defaults for what a file does not say.
    /// Items per chunk unless a file says otherwise.
    public static let defaultChunkSize = 30
    /// What joins the data points unless a file says otherwise.
    public static let defaultSeparator = " | "
    /// Decimals the references are shown with unless a file says otherwise.
    public static let defaultDecimals = 4
    /// The longest reason, in characters, unless a file says otherwise.
    public static let defaultReasonLimit = 160

    /// A version from its parts; everything but the name and the system text has a default.
    public init(name: String, summary: String = "", chunkSize: Int = defaultChunkSize, separator: String = defaultSeparator,
                asksForReason: Bool = true, decimals: Int = defaultDecimals, reasonLimit: Int = defaultReasonLimit,
                reasonOverflow: ReasonOverflow = .cut, systemText: String, userTemplate: String = "{{data}}") {
        self.name = name
        self.summary = summary
        self.chunkSize = chunkSize
        self.separator = separator
        self.asksForReason = asksForReason
        self.decimals = decimals
        self.reasonLimit = reasonLimit
        self.reasonOverflow = reasonOverflow
        self.systemText = systemText
        self.userTemplate = userTemplate
    }

    /// The first 8 hex digits of the SHA-256 of everything that shapes a request.
    public var contentHash: String {
        let content: JSONValue = [
            "name": .string(name), "batch_size": .int(chunkSize), "separator": .string(separator),
            "reason": .bool(asksForReason), "decimals": .int(decimals), "reason_limit": .int(reasonLimit),
            "reason_overflow": .string(reasonOverflow.rawValue), "system": .string(systemText),
            "user": .string(userTemplate),
        ]
        // Versions without carried columns keep the ids they always had.
        if !columns.isEmpty || itemTemplate != nil, case .object(var object) = content {
            object["columns"] = .array(columns.map(JSONValue.string))
            object["item"] = itemTemplate.map(JSONValue.string) ?? .null
            return String(CompletionRequest.sha256Hex(JSONValue.object(object).canonicalString).prefix(8))
        }
        return String(CompletionRequest.sha256Hex(content.canonicalString).prefix(8))
    }

    /// `name@hash`, recorded with every output line.
    public var id: String { "\(name)@\(contentHash)" }
}

extension PromptVersion {
    /// The example distribution the prompt shows the model (the first object in the system
    /// text that lists the 8 emotions in order with numbers, quoted with `"` or `'`), for the
    /// echo rate: small models copy it into every item (REFERENCE.md section 5).
    public var exampleDistribution: EmotionDistribution? {
        let names = Emotion.allCases.map(\.name)
        let pattern = names.map { "[\"']\($0)[\"']\\s*:\\s*([0-9]*\\.?[0-9]+)" }.joined(separator: "\\s*,\\s*")
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: systemText, range: NSRange(systemText.startIndex..., in: systemText))
        else { return nil }
        let values = (1...Emotion.count).compactMap { i -> Double? in
            Range(match.range(at: i), in: systemText).flatMap { Double(systemText[$0]) }
        }
        return try? EmotionDistribution.normalizing(values, policy: RenormalizationPolicy(tolerance: 1)).distribution
    }
}
