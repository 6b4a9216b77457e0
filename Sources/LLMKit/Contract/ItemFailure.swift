/// Why one batch item (or one entry of the answer) could not be used.
public struct ItemFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The cause, in a form tests and summaries can count.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The answer has no entry for this item's index.
        case missingIndex = "missing_index"
        /// The answer has two or more entries for this index; none is trusted.
        case duplicateIndex = "duplicate_index"
        /// An entry's index is not one of the batch's (0, N+1, ...): a stray entry.
        case indexOutOfRange = "index_out_of_range"
        /// An entry lacks a required key or has a key the contract does not allow.
        case wrongKey = "wrong_key"
        /// A value is below 0 or above 1.
        case valueOutOfRange = "value_out_of_range"
        /// A value is NaN or infinite.
        case nonFiniteValue = "non_finite_value"
        /// All 8 values are 0.
        case zeroSum = "zero_sum"
        /// The values' sum is beyond the tolerance and the policy rejects it.
        case sumOutOfTolerance = "sum_out_of_tolerance"
        /// The answer has no parsable JSON object.
        case notJSON = "not_json"
        /// The answer breaks the schema in another way (wrong type, not an object, ...).
        case schemaViolation = "schema_violation"
        /// The answer was cut off (`finish_reason: length`) even for a single item.
        case truncated
        /// The model refused, or a content filter stopped the answer.
        case refused
        /// The provider failed (transport, HTTP error) after any retries.
        case providerError = "provider_error"
    }

    public var kind: Kind
    /// One sentence, e.g. "value for 'fear' is 1.3, outside [0, 1]".
    public var message: String
    /// JSON pointer into the answer, when the failure has a location (`/items/3/fear`).
    public var path: String?
    /// For `provider_error`: the provider error's kind (`rate_limited`, `timeout`, ...).
    public var code: String?

    public init(_ kind: Kind, _ message: String, path: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
        self.code = code
    }

    public var description: String {
        if let path, !path.isEmpty { return "\(kind.rawValue) at \(path): \(message)" }
        return "\(kind.rawValue): \(message)"
    }
}

/// One batch item's result: adjusted labels, or a failure with its reason.
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

    public init(adjusted: EmotionDistribution, raw: [Double], reason: String?, sumWasOff: Bool) {
        self.adjusted = adjusted
        self.raw = raw
        self.reason = reason
        self.sumWasOff = sumWasOff
    }
}
