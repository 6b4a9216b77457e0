/// One line of a relabeled output file: an item's outcome with everything needed to score it
/// and to know where it came from.
///
///     {"id":"utt1","status":"relabeled","reference":{...8...},"adjusted":{...8...},"raw":{...8...},
///      "reason":"...","sum_off":false,"prompt":"paper-reason@3f2a9c1b","provider":"llamacpp","model":"gemma3"}
///     {"id":"utt2","status":"failed","reference":{...},"prompt":"...","provider":"...","model":"...",
///      "failure":{"kind":"missing_index","message":"...","path":null}}
public struct RelabeledRecord: Sendable, Hashable {
    public var id: String
    public var reference: EmotionDistribution
    public var outcome: ItemOutcome
    /// The prompt version id (`name@hash`).
    public var promptVersion: String
    public var provider: String
    /// The model the run asked for.
    public var model: String
    /// The model the server said answered, when the run records it
    /// (``RelabelConfiguration/recordsAnsweringModel``: a pool of mixed models) and it is not
    /// ``model`` (`answered_by` in the line).
    public var answeredBy: String?
    /// The relabeling method when it is not the prompted adjustment (`method` in the line;
    /// absent means `adjust`).
    public var method: String?
    /// The lab's carried columns of the item (``DatasetItem/keep``; `keep` in the line, absent
    /// when the dataset carried none: older lines read as `nil`).
    public var keep: JSONObject?

    public init(id: String, reference: EmotionDistribution, outcome: ItemOutcome, promptVersion: String, provider: String, model: String,
                answeredBy: String? = nil, method: String? = nil, keep: JSONObject? = nil) {
        self.id = id
        self.reference = reference
        self.outcome = outcome
        self.promptVersion = promptVersion
        self.provider = provider
        self.model = model
        self.answeredBy = answeredBy
        self.method = method
        self.keep = keep
    }

    /// The record as a JSON object (field order as documented).
    public var json: JSONValue {
        var object = JSONObject()
        object["id"] = .string(id)
        switch outcome {
        case .relabeled(let r):
            object["status"] = "relabeled"
            object["reference"] = reference.jsonObject
            object["adjusted"] = r.adjusted.jsonObject
            object["raw"] = EmotionDistribution.jsonObject(r.raw)
            object["reason"] = r.reason.map(JSONValue.string) ?? .null
            object["sum_off"] = .bool(r.sumWasOff)
            if r.reasonWasCut { object["reason_cut"] = true }
            if r.noEvidence { object["no_evidence"] = true }
            if let mass = r.evidenceMass { object["mass"] = .double(mass) }
            if let evidence = r.evidence { object["evidence"] = EmotionDistribution.jsonObject(evidence) }
        case .failed:
            object["status"] = "failed"
            object["reference"] = reference.jsonObject
        }
        object["prompt"] = .string(promptVersion)
        object["provider"] = .string(provider)
        object["model"] = .string(model)
        if let answeredBy { object["answered_by"] = .string(answeredBy) }
        if let method { object["method"] = .string(method) }
        if let keep { object["keep"] = .object(keep) }
        if case .failed(let f) = outcome {
            var failure: JSONObject = ["kind": .string(f.kind.name), "message": .string(f.message), "path": f.path.map(JSONValue.string) ?? .null]
            if let code = f.providerError { failure["code"] = .string(code.name) }
            object["failure"] = .object(failure)
        }
        return .object(object)
    }

    /// One JSONL line, without the newline.
    public var jsonLine: String { json.description }

    /// Appends the JSONL line and its newline to `bytes`: the same bytes as ``jsonLine``,
    /// written directly (no JSON tree), for the journal's hot path.
    public func appendJSONLine(to bytes: inout [UInt8]) {
        func key(_ name: StaticString) {
            bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        func distribution(_ values: [Double]) {
            bytes.append(UInt8(ascii: "{"))
            for (i, name) in Self.quotedEmotionKeys.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: name)
                JSONSerializer.appendNumber(values[i], to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        key("{\"id\":")
        JSONSerializer.appendString(id, to: &bytes)
        switch outcome {
        case .relabeled(let r):
            key(",\"status\":\"relabeled\",\"reference\":")
            distribution(reference.values)
            key(",\"adjusted\":")
            distribution(r.adjusted.values)
            key(",\"raw\":")
            distribution(r.raw)
            key(",\"reason\":")
            if let reason = r.reason { JSONSerializer.appendString(reason, to: &bytes) } else { key("null") }
            key(",\"sum_off\":")
            key(r.sumWasOff ? "true" : "false")
            if r.reasonWasCut { key(",\"reason_cut\":true") }
            if r.noEvidence { key(",\"no_evidence\":true") }
            if let mass = r.evidenceMass {
                key(",\"mass\":")
                JSONSerializer.appendNumber(mass, to: &bytes)
            }
            if let evidence = r.evidence {
                key(",\"evidence\":")
                distribution(evidence)
            }
        case .failed:
            key(",\"status\":\"failed\",\"reference\":")
            distribution(reference.values)
        }
        key(",\"prompt\":")
        JSONSerializer.appendString(promptVersion, to: &bytes)
        key(",\"provider\":")
        JSONSerializer.appendString(provider, to: &bytes)
        key(",\"model\":")
        JSONSerializer.appendString(model, to: &bytes)
        if let answeredBy {
            key(",\"answered_by\":")
            JSONSerializer.appendString(answeredBy, to: &bytes)
        }
        if let method {
            key(",\"method\":")
            JSONSerializer.appendString(method, to: &bytes)
        }
        if let keep {
            key(",\"keep\":{")
            for (i, member) in keep.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONSerializer.appendString(member.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                JSONSerializer.appendString(member.value.stringValue ?? member.value.description, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        if case .failed(let f) = outcome {
            key(",\"failure\":{\"kind\":")
            JSONSerializer.appendString(f.kind.name, to: &bytes)
            key(",\"message\":")
            JSONSerializer.appendString(f.message, to: &bytes)
            key(",\"path\":")
            if let path = f.path { JSONSerializer.appendString(path, to: &bytes) } else { key("null") }
            if let code = f.providerError {
                key(",\"code\":")
                JSONSerializer.appendString(code.name, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
    }

    /// `"angry":`, `"sad":`, ... as bytes, in emotion order.
    private static let quotedEmotionKeys: [[UInt8]] = Emotion.allCases.map { Array("\"\($0.name)\":".utf8) }

    /// The `id` of a record line (`nil` for a header or a line that is not a record).
    public static func id(inLine line: String) -> String? {
        guard !JournalHeader.isHeader(line), let value = try? StrictJSON.parse(line) else { return nil }
        return value["id"]?.stringValue
    }

    /// Parses one line of a relabeled output file. Unknown keys are ignored (newer writers may add some).
    public static func parse(line text: String, file: String, line: Int, policy: RenormalizationPolicy = .default) throws(DatasetError) -> RelabeledRecord {
        func fail(_ field: String?, _ reason: String) -> DatasetError { DatasetError(file: file, line: line, field: field, reason: reason) }
        let value: JSONValue
        do { value = try StrictJSON.parse(text) } catch { throw fail(nil, error.description) }
        guard case .object(let o) = value else { throw fail(nil, "expected a JSON object, found \(value.typeName)") }
        func string(_ key: String) throws(DatasetError) -> String {
            guard let s = o[key]?.stringValue else { throw fail(key, o[key] == nil ? "missing" : "must be a string") }
            return s
        }
        func raw(_ key: String) throws(DatasetError) -> [Double] {
            guard let member = o[key] else { throw fail(key, "missing") }
            do { return try EmotionDistribution.rawValues(from: member) } catch { throw fail(key, error.description) }
        }
        func normalized(_ key: String) throws(DatasetError) -> EmotionDistribution.Normalized {
            do { return try EmotionDistribution.normalizing(try raw(key), policy: policy) } catch let e as DistributionError { throw fail(key, e.description) } catch let e as DatasetError { throw e } catch { throw fail(key, "\(error)") }
        }
        func keep() throws(DatasetError) -> JSONObject? {
            switch o["keep"] {
            case nil, .null?: return nil
            case .object(let kept)?:
                guard kept.allSatisfy({ $0.value.stringValue != nil }) else { throw fail("keep", "carried values must be strings") }
                return kept
            case let other?: throw fail("keep", "must be an object of carried column values, not \(other.typeName)")
            }
        }
        let id = try string("id")
        let reference = try normalized("reference").distribution
        let outcome: ItemOutcome
        switch try string("status") {
        case "relabeled":
            let adjusted = try normalized("adjusted")
            let rawValues = o["raw"] == nil ? adjusted.raw : try raw("raw")
            var reason: String?
            switch o["reason"] {
            case nil, .null?: reason = nil
            case .string(let s)?: reason = s
            default: throw fail("reason", "must be a string or null")
            }
            let sumOff = o["sum_off"]?.boolValue ?? adjusted.sumWasOff
            let evidence = o["evidence"] == nil ? nil : try raw("evidence")
            outcome = .relabeled(Relabel(adjusted: adjusted.distribution, raw: rawValues, reason: reason, sumWasOff: sumOff,
                                         reasonWasCut: o["reason_cut"]?.boolValue ?? false, noEvidence: o["no_evidence"]?.boolValue ?? false,
                                         evidenceMass: o["mass"]?.doubleValue, evidence: evidence))
        case "failed":
            guard case .object(let f)? = o["failure"] else { throw fail("failure", "a failed record needs a 'failure' object") }
            guard let kindName = f["kind"]?.stringValue, let kind = ItemFailure.Kind(name: kindName) else {
                throw fail("failure", "unknown failure kind \(f["kind"]?.description ?? "(missing)")")
            }
            var providerError: LLMError.Kind?
            if let code = f["code"]?.stringValue {
                guard let known = LLMError.Kind(name: code) else { throw fail("failure", "unknown provider error kind '\(code)'") }
                providerError = known
            }
            outcome = .failed(ItemFailure(kind, f["message"]?.stringValue ?? "", path: f["path"]?.stringValue, providerError: providerError))
        case let other:
            throw fail("status", "must be 'relabeled' or 'failed', not '\(other)'")
        }
        return RelabeledRecord(id: id, reference: reference, outcome: outcome, promptVersion: try string("prompt"),
                               provider: try string("provider"), model: try string("model"), answeredBy: o["answered_by"]?.stringValue,
                               method: o["method"]?.stringValue, keep: try keep())
    }
}

/// Streams ``RelabeledRecord``s from a relabeled JSONL file. Journal header lines (the run's
/// fingerprint) are collected in ``headers``, not returned as records.
public final class RelabeledRecordReader {
    private let lines: LineReader
    public let policy: RenormalizationPolicy
    public var path: String { lines.path }
    /// The header lines read so far.
    public private(set) var headers: [JournalHeader] = []
    /// The line number of the record last returned.
    public var lineNumber: Int { lines.lineNumber }

    public init(path: String, policy: RenormalizationPolicy = .default) throws(DatasetError) {
        lines = try LineReader(path: path)
        self.policy = policy
    }

    /// The next record, or `nil` at the end. Blank lines are skipped.
    public func next() throws(DatasetError) -> RelabeledRecord? {
        while let line = try lines.nextLine() {
            if line.trimmingWhitespace().isEmpty { continue }
            if JournalHeader.isHeader(line) {
                guard let header = JournalHeader(line: line) else {
                    throw DatasetError(file: path, line: lines.lineNumber, reason: "not a readable journal header")
                }
                headers.append(header)
                continue
            }
            return try RelabeledRecord.parse(line: line, file: path, line: lines.lineNumber, policy: policy)
        }
        return nil
    }
}
