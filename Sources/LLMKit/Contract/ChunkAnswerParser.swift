import Synchronization

/// Turns a model's answer for a chunk of N items into exactly N outcomes.
///
/// Steps: extract the JSON object from the text (reported in ``Result/extraction``), parse it
/// strictly, check the root against the contract, then check each entry of `items` on its
/// own against the item schema and the renormalisation policy, and align entries to chunk
/// positions by `index`. One bad entry never spoils its neighbours: only the item it names
/// fails. Entries that name no chunk position are reported as ``Result/strayEntries``.
public struct ChunkAnswerParser: Sendable {
    /// The number of items in the chunk (indices 1...count).
    public var count: Int
    /// Whether each entry must carry a `reason` string.
    public var expectsReason: Bool
    public var policy: RenormalizationPolicy
    /// The longest reason, in characters, and what happens to a longer one (`nil`: no limit).
    public var reasonLimit: (characters: Int, overflow: PromptVersion.ReasonOverflow)?
    private let itemSchema: JSONSchema

    public init(count: Int, expectsReason: Bool, policy: RenormalizationPolicy = .default,
                reasonLimit: (characters: Int, overflow: PromptVersion.ReasonOverflow)? = nil) {
        precondition(count >= 1, "a chunk has at least one item")
        self.count = count
        self.expectsReason = expectsReason
        self.policy = policy
        self.reasonLimit = reasonLimit
        self.itemSchema = Self.compiledItemSchema(count: count, includeReason: expectsReason)
    }

    /// The parser for a chunk of `count` items rendered with `prompt`.
    public init(count: Int, prompt: PromptVersion, policy: RenormalizationPolicy = .default) {
        self.init(count: count, expectsReason: prompt.asksForReason, policy: policy,
                  reasonLimit: prompt.askedReasonLimit.map { ($0, prompt.reasonOverflow) })
    }

    private struct SchemaKey: Hashable { var count: Int; var includeReason: Bool }
    private static let compiled = Mutex<[SchemaKey: JSONSchema]>([:])

    /// The item schema for a chunk size, compiled once per process: the pipeline builds a
    /// parser for every request, and chunk sizes repeat.
    private static func compiledItemSchema(count: Int, includeReason: Bool) -> JSONSchema {
        let key = SchemaKey(count: count, includeReason: includeReason)
        if let schema = compiled.withLock({ $0[key] }) { return schema }
        // The contract's own schema uses only supported keywords; failing here is a programming error.
        let schema = try! JSONSchema(ChunkAnswerSchema.itemSchema(count: count, includeReason: includeReason))
        compiled.withLock { $0[key] = schema }
        return schema
    }

    /// What the parser made of one answer.
    public struct Result: Sendable, Hashable {
        /// One outcome per chunk position; `outcomes[0]` is index 1.
        public var outcomes: [ItemOutcome]
        /// How the JSON was found in the text; `nil` when no JSON could be found.
        public var extraction: JSONExtraction?
        /// Entries that matched no chunk item (out-of-range or unusable index), with the reason.
        public var strayEntries: [ItemFailure]
        /// Problems with the document outside `items` (extra root keys), which do not fail items.
        public var documentWarnings: [String]

        /// Positions (0-based) whose outcome is a failure.
        public var failedPositions: [Int] { outcomes.indices.filter { outcomes[$0].failure != nil } }
    }

    /// Parses `text`, returning one outcome per chunk position. When the answer's bytes were
    /// not valid UTF-8 (`invalidUTF8`: they were decoded with U+FFFD replacements), the items
    /// whose entry holds a replacement character fail with `invalid_utf8`.
    public func parse(_ text: String, invalidUTF8: Bool = false) -> Result {
        var result = parseText(text)
        if invalidUTF8 { markInvalidUTF8(&result) }
        return result
    }

    /// The answer's `items` array, or the result that fails every item (no JSON, no `items`).
    private enum Entries {
        case read(JSONExtraction, [JSONValue], warnings: [String])
        case unreadable(Result)
    }

    private func entries(in text: String) -> Entries {
        let extraction: JSONExtraction
        let document: JSONValue
        let trimmed = text.trimmingWhitespace()
        if trimmed.utf8.first == UInt8(ascii: "{"), trimmed.utf8.last == UInt8(ascii: "}"), let whole = try? StrictJSON.parse(trimmed) {
            // The common case, a clean answer: parsed whole, without scanning it for an object first.
            extraction = JSONExtraction(json: trimmed, leadingText: "", trailingText: "", fence: nil)
            document = whole
        } else {
            do { extraction = try JSONExtraction.extract(from: text) } catch {
                return .unreadable(failAll(ItemFailure(.notJSON, error.description), extraction: nil))
            }
            do { document = try StrictJSON.parse(extraction.json) } catch {
                return .unreadable(failAll(ItemFailure(.notJSON, error.description), extraction: extraction))
            }
        }
        guard case .object(let root) = document else {
            return .unreadable(failAll(ItemFailure(.schemaViolation, "the answer is a JSON \(document.typeName), not an object with 'items'", path: ""), extraction: extraction))
        }
        guard let itemsValue = root["items"] else {
            return .unreadable(failAll(ItemFailure(.wrongKey, "the answer has no 'items' key (keys: \(root.keys.joined(separator: ", ")))", path: ""), extraction: extraction))
        }
        guard case .array(let entries) = itemsValue else {
            return .unreadable(failAll(ItemFailure(.schemaViolation, "'items' is a \(itemsValue.typeName), not an array", path: "/items"), extraction: extraction))
        }
        return .read(extraction, entries, warnings: root.keys.filter { $0 != "items" }.map { "unexpected root key '\($0)' ignored" })
    }

    private func parseText(_ text: String) -> Result {
        let (extraction, entries, warnings): (JSONExtraction, [JSONValue], [String])
        switch self.entries(in: text) {
        case .unreadable(let result): return result
        case .read(let e, let list, let w): (extraction, entries, warnings) = (e, list, w)
        }

        var byIndex: [Int: [(position: Int, entry: JSONObject)]] = [:]
        var stray: [ItemFailure] = []
        for (position, entry) in entries.enumerated() {
            var path: String { Self.path(position) }
            guard case .object(let object) = entry else {
                stray.append(ItemFailure(.schemaViolation, "entry is a \(entry.typeName), not an object", path: path))
                continue
            }
            guard let indexValue = object["index"] else {
                stray.append(ItemFailure(.wrongKey, "entry has no 'index'", path: path))
                continue
            }
            guard case .number(let number) = indexValue, let index = number.exactInt else {
                stray.append(ItemFailure(.schemaViolation, "'index' is \(indexValue), not an integer", path: path + "/index"))
                continue
            }
            guard (1...count).contains(index) else {
                stray.append(ItemFailure(.indexOutOfRange, "index \(index) is outside 1...\(count)", path: path + "/index"))
                continue
            }
            byIndex[index, default: []].append((position, object))
        }

        var outcomes: [ItemOutcome] = []
        outcomes.reserveCapacity(count)
        for index in 1...count {
            guard let found = byIndex[index] else {
                outcomes.append(.failed(ItemFailure(.missingIndex, "the answer has no entry with index \(index)")))
                continue
            }
            if found.count > 1 {
                outcomes.append(.failed(ItemFailure(
                    .duplicateIndex, "index \(index) appears \(found.count) times (\(found.map { Self.path($0.position) }.joined(separator: ", ")))",
                    path: Self.path(found[0].position))))
                continue
            }
            outcomes.append(outcome(for: found[0].entry, position: found[0].position))
        }
        return Result(outcomes: outcomes, extraction: extraction, strayEntries: stray, documentWarnings: warnings)
    }

    /// Fails the relabeled items whose reason holds U+FFFD (bytes that were not UTF-8). Bad
    /// bytes elsewhere either break the JSON (the items fail as `not_json`) or lie outside the
    /// entries, and fail nothing.
    private func markInvalidUTF8(_ result: inout Result) {
        for (i, outcome) in result.outcomes.enumerated() {
            // U+FFFD is EF BF BD in UTF-8: look for its lead byte before decoding anything.
            guard let relabel = outcome.relabel, let reason = relabel.reason, reason.utf8.contains(0xEF),
                  reason.unicodeScalars.contains("\u{FFFD}") else { continue }
            result.outcomes[i] = .failed(ItemFailure(.invalidUTF8, "the answer for this item holds bytes that are not UTF-8", path: "/items"))
        }
    }

    /// Checks one entry whose index is valid and unique.
    func outcome(for entry: JSONObject, position: Int) -> ItemOutcome {
        var path: String { Self.path(position) }
        let violations = itemSchema.validate(.object(entry))
        if let v = violations.first {
            let location = path + v.instancePath
            let kind: ItemFailure.Kind
            switch v.keyword {
            case "required", "additionalProperties": kind = .wrongKey
            case "minimum", "maximum": kind = .valueOutOfRange
            default: kind = .schemaViolation
            }
            let more = violations.count > 1 ? " (and \(violations.count - 1) more)" : ""
            return .failed(ItemFailure(kind, v.message + more, path: location))
        }
        let raw = Emotion.allCases.map { entry[$0.name]?.doubleValue ?? .nan }
        var reason = entry["reason"]?.stringValue
        var reasonWasCut = false
        // Characters never outnumber UTF-8 bytes: most reasons are cleared without counting graphemes.
        if let limit = reasonLimit, let text = reason, text.utf8.count > limit.characters, text.count > limit.characters {
            if limit.overflow == .reject {
                return .failed(ItemFailure(.reasonTooLong, "the reason has \(text.count) characters, more than the \(limit.characters) allowed", path: path + "/reason"))
            }
            reason = String(text.prefix(limit.characters))
            reasonWasCut = true
        }
        do {
            let normalized = try EmotionDistribution.normalizing(raw, policy: policy, upperBound: 1)
            return .relabeled(Relabel(
                adjusted: normalized.distribution, raw: raw, reason: reason,
                sumWasOff: normalized.sumWasOff, reasonWasCut: reasonWasCut))
        } catch {
            return .failed(Self.failure(for: error, path: path))
        }
    }

    /// The JSON pointer of entry `position` of `items` (built only for reports).
    static func path(_ position: Int) -> String { "/items/\(position)" }

    /// Maps a distribution error to an item failure.
    public static func failure(for error: DistributionError, path: String? = nil) -> ItemFailure {
        switch error {
        case .nonFinite(let e): ItemFailure(.nonFiniteValue, error.description, path: path.map { $0 + "/" + e.name })
        case .outOfRange(let e, _): ItemFailure(.valueOutOfRange, error.description, path: path.map { $0 + "/" + e.name })
        case .zeroSum: ItemFailure(.zeroSum, error.description, path: path)
        case .sumOutOfTolerance: ItemFailure(.sumOutOfTolerance, error.description, path: path)
        case .wrongCount, .noVotes: ItemFailure(.schemaViolation, error.description, path: path)
        }
    }

    private func failAll(_ failure: ItemFailure, extraction: JSONExtraction?) -> Result {
        Result(outcomes: Array(repeating: .failed(failure), count: count), extraction: extraction, strayEntries: [], documentWarnings: [])
    }
}
