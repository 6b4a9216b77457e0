/// Why one chunk item (or one entry of the answer) could not be used.
public struct ItemFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The cause, in a form tests and summaries can count. A struct of static members over a
    /// private enum (like ``LLMError/Kind``): a new kind breaks no client's `switch`. Its
    /// ``name`` is the spelling in files (`missing_index`, ...).
    public struct Kind: Sendable, Hashable, Comparable, CustomStringConvertible {
        private enum Code: String, Sendable, Hashable, CaseIterable {
            case missingIndex = "missing_index", duplicateIndex = "duplicate_index", indexOutOfRange = "index_out_of_range"
            case wrongKey = "wrong_key", valueOutOfRange = "value_out_of_range", nonFiniteValue = "non_finite_value"
            case zeroSum = "zero_sum", sumOutOfTolerance = "sum_out_of_tolerance", notJSON = "not_json"
            case schemaViolation = "schema_violation", invalidUTF8 = "invalid_utf8", reasonTooLong = "reason_too_long"
            case truncated, refused, providerError = "provider_error", lowMass = "low_mass"
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The answer has no entry for this item's index.
        public static let missingIndex = Kind(.missingIndex)
        /// The answer has two or more entries for this index; none is trusted.
        public static let duplicateIndex = Kind(.duplicateIndex)
        /// An entry's index is not one of the chunk's (0, N+1, ...): a stray entry.
        public static let indexOutOfRange = Kind(.indexOutOfRange)
        /// An entry lacks a required key or has a key the contract does not allow.
        public static let wrongKey = Kind(.wrongKey)
        /// A value is below 0 or above 1.
        public static let valueOutOfRange = Kind(.valueOutOfRange)
        /// A value is NaN or infinite.
        public static let nonFiniteValue = Kind(.nonFiniteValue)
        /// The 8 values sum to 0, or to less than ``EmotionDistribution/minimumSum``.
        public static let zeroSum = Kind(.zeroSum)
        /// The values' sum is beyond the tolerance and the policy rejects it.
        public static let sumOutOfTolerance = Kind(.sumOutOfTolerance)
        /// The answer has no parsable JSON object.
        public static let notJSON = Kind(.notJSON)
        /// The answer breaks the schema in another way (wrong type, not an object, ...).
        public static let schemaViolation = Kind(.schemaViolation)
        /// The item's entry holds bytes that are not UTF-8.
        public static let invalidUTF8 = Kind(.invalidUTF8)
        /// The reason is longer than the prompt version allows and the version rejects it.
        public static let reasonTooLong = Kind(.reasonTooLong)
        /// The answer was cut off (`finish_reason: length`, or the token budget ran out while
        /// streaming) even for a single item.
        public static let truncated = Kind(.truncated)
        /// The model refused, or a content filter stopped the answer.
        public static let refused = Kind(.refused)
        /// The provider failed (transport, HTTP error) after any retries.
        public static let providerError = Kind(.providerError)
        /// A `logprob` method's next-token distribution put too little mass on the 8 emotion
        /// words to be evidence (below the method's threshold): not silently kept as the reference.
        public static let lowMass = Kind(.lowMass)

        /// The spelling in files and summaries.
        public var name: String { code.rawValue }
        public var description: String { code.rawValue }

        /// The kind spelled `name`, or `nil`.
        public init?(name: String) {
            guard let code = Code(rawValue: name) else { return nil }
            self.code = code
        }

        /// Every kind, in declaration order.
        public static var all: [Kind] { Code.allCases.map(Kind.init) }

        /// Whether asking the model again (in a smaller chunk) may fix it: a missing or invalid
        /// entry. Not provider errors, truncation or refusals.
        public var isReaskable: Bool { ![.providerError, .truncated, .refused, .lowMass].contains(self) }

        /// By name.
        public static func < (a: Kind, b: Kind) -> Bool { a.name < b.name }
    }

    public var kind: Kind
    /// One sentence, e.g. "value for 'fear' is 1.3, outside [0, 1]".
    public var message: String
    /// JSON pointer into the answer, when the failure has a location (`/items/3/fear`).
    public var path: String?
    /// For `provider_error`: the provider error's kind (written as `code` in files).
    public var providerError: LLMError.Kind?

    /// The longest message kept (longer ones are cut with a marker).
    public static let maximumMessageLength = LLMError.maximumMessageLength

    public init(_ kind: Kind, _ message: String, path: String? = nil, providerError: LLMError.Kind? = nil) {
        self.kind = kind
        self.message = SecretRedactor.shared.scrub(TextLimit.capped(message, Self.maximumMessageLength))
        self.path = path
        self.providerError = providerError
    }

    public var description: String {
        if let path, !path.isEmpty { return "\(kind.name) at \(path): \(message)" }
        return "\(kind.name): \(message)"
    }
}

/// One chunk item's result: adjusted labels, or a failure with its reason.
public enum ItemOutcome: Sendable, Hashable {
    case relabeled(Relabel)
    case failed(ItemFailure)

    /// The relabel, when there is one.
    public var relabel: Relabel? {
        if case .relabeled(let r) = self { return r }
        return nil
    }

    /// The failure, when there is one.
    public var failure: ItemFailure? {
        if case .failed(let f) = self { return f }
        return nil
    }
}

/// A model's adjusted labels for one item.
public struct Relabel: Sendable, Hashable {
    /// The renormalised distribution.
    public var adjusted: EmotionDistribution
    /// The 8 values as the model wrote them.
    public var raw: [Double]
    /// The model's reason, when the prompt asked for one.
    public var reason: String?
    /// Whether the raw sum was off by more than the tolerance (renormalised and flagged).
    public var sumWasOff: Bool
    /// Whether the reason was longer than the prompt version allows and was cut.
    public var reasonWasCut: Bool
    /// A method found nothing in the descriptions to go on (a `lexicon` item with no word in
    /// the lexicon): the reference is kept, and that is not the same as unchanged by choice
    /// (`no_evidence` in the line).
    public var noEvidence: Bool
    /// For a `logprob` answer: the probability mass the next-token distribution put on the 8
    /// emotion words (`mass` in the line).
    public var evidenceMass: Double?
    /// For a `logprob` or `lexicon` answer: the method's evidence before the mix, 8 values in
    /// ``Emotion`` order summing to 1 (the next-token sums or the lexicon's hit counts,
    /// normalised; `evidence` in the line). ``EvidenceFit`` re-mixes it with other settings.
    public var evidence: [Double]?

    public init(adjusted: EmotionDistribution, raw: [Double], reason: String?, sumWasOff: Bool, reasonWasCut: Bool = false,
                noEvidence: Bool = false, evidenceMass: Double? = nil, evidence: [Double]? = nil) {
        self.adjusted = adjusted
        self.raw = raw
        self.reason = reason
        self.sumWasOff = sumWasOff
        self.reasonWasCut = reasonWasCut
        self.noEvidence = noEvidence
        self.evidenceMass = evidenceMass
        self.evidence = evidence
    }
}
