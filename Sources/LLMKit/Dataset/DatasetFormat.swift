/// The dataset layouts the readers understand.
public enum DatasetFormat: String, Sendable, CaseIterable {
    /// The project's JSONL: one item object per line (see <doc:DataFormats>).
    case jsonl
    /// EMO-SUPERB's CSV: `,angry,...,happy,words` (REFERENCE.md section 2).
    case emoSuperbCSV = "csv"

    /// Guesses the format from the extension: `.csv` is EMO-SUPERB CSV, `.jsonl`/`.ndjson`/`.json` JSONL.
    public static func detect(path: String) -> DatasetFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .emoSuperbCSV }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { return .jsonl }
        return nil
    }
}

/// Streams ``DatasetItem``s from a dataset file in constant memory.
///
/// Errors name the file, line and field. Reference distributions go through the
/// renormalisation policy: a reference that is not a distribution is an error, not a skip.
public final class DatasetReader {
    public let path: String
    public let format: DatasetFormat
    public let policy: RenormalizationPolicy
    /// The lab's column mapping the file is read by, if any (then ``format`` is `jsonl` for
    /// a JSONL table and `csv` for a CSV or TSV table).
    public let mapping: ColumnMapping?
    private var jsonl: LineReader?
    private var csv: EmoSuperbCSVReader?
    private var table: MappedTableReader?
    /// The line the item last returned starts on.
    public private(set) var lastLine = 0
    /// The byte offset where the item last returned starts (for ``seek(to:)``).
    package private(set) var lastOffset = 0

    /// Opens `path`; `format` defaults to ``DatasetFormat/detect(path:)``. With a `mapping`
    /// the file is a lab's own vote table (CSV, TSV or JSONL) read through it
    /// (see `MappedTableReader`); without one it is the project JSONL or EMO-SUPERB's CSV.
    public init(path: String, format: DatasetFormat? = nil, mapping: ColumnMapping? = nil, policy: RenormalizationPolicy = .default) throws(DatasetError) {
        self.path = path
        self.policy = policy
        self.mapping = mapping
        if let mapping {
            let tableFormat = try mapping.tableFormat(path: path, given: format)
            self.format = tableFormat == .jsonl ? .jsonl : .emoSuperbCSV
            table = try MappedTableReader(path: path, mapping: mapping, format: tableFormat, policy: policy)
            return
        }
        guard let format = format ?? DatasetFormat.detect(path: path) else {
            throw DatasetError(file: path, reason: "cannot tell the format from the extension; name it (jsonl or csv)")
        }
        self.format = format
        switch format {
        case .jsonl: jsonl = try LineReader(path: path)
        case .emoSuperbCSV:
            let reader: EmoSuperbCSVReader
            do { reader = try EmoSuperbCSVReader(path: path) } catch {
                throw Self.notEmoSuperb(path, error)
            }
            guard reader.textColumn == "words" else {
                throw DatasetError(file: path, line: 1, field: reader.textColumn ?? "(10th column)",
                                   reason: "EMO-SUPERB's input CSV has 'words' (the descriptions) after the 8 emotions; "
                                   + (reader.textColumn == "reason" ? "this is an output file (it has 'reason')" : "for another layout give a column mapping (--descriptions-column NAME ...; promptlab inspect proposes one)"))
            }
            csv = reader
        }
    }

    /// An EMO-SUPERB header problem, with the way out: a column mapping (`inspect` proposes one).
    private static func notEmoSuperb(_ path: String, _ error: DatasetError) -> DatasetError {
        // EMO-SUPERB's names in another order: the original message names the column.
        guard error.line == 1, error.field.flatMap({ Emotion(key: $0.trimmingWhitespace().lowercased()) }) == nil else { return error }
        return DatasetError(file: path, line: 1,
                            reason: "the header is not EMO-SUPERB's (',angry,sad,...,happy,words'); for a table of your own give a column mapping (--id-column, --emotion-columns, ... or --mapping FILE): 'promptlab inspect \(ColumnMapping.shellQuoted(path))' proposes one")
    }

    /// How the rows read so far were read, counts or proportions (`nil` without a mapping:
    /// the project's formats hold votes or a distribution by construction).
    public var votes: ColumnMapping.VoteTally? { table?.votes }

    /// Moves to an item's start (a ``lastOffset`` of this file): the next item read is that
    /// one. Lets a run read the items it needs again by offset instead of passing over the file.
    package func seek(to offset: Int) throws(DatasetError) {
        if let table { try table.seek(to: offset) } else if let csv { try csv.seek(to: offset) } else { try jsonl?.seek(to: offset) }
    }

    /// The next item, or `nil` at the end.
    public func next() throws(DatasetError) -> DatasetItem? {
        if let table {
            guard let item = try table.next() else { return nil }
            lastLine = table.lastLine
            lastOffset = table.lastOffset
            return item
        }
        if let csv {
            guard let row = try csv.nextRow() else { return nil }
            lastLine = row.line
            lastOffset = csv.rowOffset
            do {
                let reference = try EmotionDistribution.normalizing(row.values, policy: policy).distribution
                let words = row.text ?? ""
                return DatasetItem(id: row.id, descriptions: words.trimmingWhitespace().isEmpty ? [] : [words], reference: reference)
            } catch {
                throw DatasetError(file: path, line: row.line, field: "reference", reason: error.description)
            }
        }
        guard let jsonl else { return nil }
        while let line = try jsonl.nextLine() {
            if line.trimmingWhitespace().isEmpty { continue }
            lastLine = jsonl.lineNumber
            lastOffset = jsonl.lastLineOffset
            return try Self.item(fromJSONLine: line, file: path, line: jsonl.lineNumber, policy: policy)
        }
        return nil
    }

    /// Reads every item (for small files and tests; use ``next()`` for corpora).
    public func readAll() throws(DatasetError) -> [DatasetItem] {
        var items: [DatasetItem] = []
        while let item = try next() { items.append(item) }
        return items
    }

    /// Parses one project-JSONL line.
    /// What is wrong with a field, before the file and line are known.
    struct FieldProblem: Error { var reason: String }

    /// `descriptions`: absent, null, one string or an array of strings.
    static func descriptions(_ value: JSONValue?) throws(FieldProblem) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let s)?: return [s]
        case .array(let list)?:
            var descriptions: [String] = []
            for (i, element) in list.enumerated() {
                guard let s = element.stringValue else { throw FieldProblem(reason: "element \(i) is \(element.typeName), not a string") }
                descriptions.append(s)
            }
            return descriptions
        case let other?: throw FieldProblem(reason: "must be a string or an array of strings, not \(other.typeName)")
        }
    }

    /// `votes`: absent, null, or an array of emotion names or codes.
    static func votes(_ value: JSONValue?) throws(FieldProblem) -> [EmotionLabel]? {
        guard let value, value != .null else { return nil }
        guard let list = value.arrayValue else { throw FieldProblem(reason: "must be an array of labels") }
        var parsed: [EmotionLabel] = []
        for (i, element) in list.enumerated() {
            guard let text = element.stringValue, let label = EmotionLabel(parsing: text) else {
                throw FieldProblem(reason: "element \(i) (\(element)) is not an emotion name or code (accepted, any case: \(Emotion.acceptedNames); O or Other, X or No agreement)")
            }
            parsed.append(label)
        }
        return parsed
    }

    static func item(fromJSONLine text: String, file: String, line: Int, policy: RenormalizationPolicy) throws(DatasetError) -> DatasetItem {
        func fail(_ field: String?, _ reason: String) -> DatasetError { DatasetError(file: file, line: line, field: field, reason: reason) }
        let value: JSONValue
        do { value = try StrictJSON.parse(text) } catch { throw fail(nil, error.description) }
        guard case .object(let object) = value else { throw fail(nil, "expected a JSON object, found \(value.typeName)") }

        // Ids are strings: a number would have to be turned into text, and 1.5 and "1.5" (or
        // 1e0 and 1) would then name the same item.
        let id: String
        switch object["id"] {
        case .string(let s)? where !s.trimmingWhitespace().isEmpty: id = s
        case .number(let n)?: throw fail("id", "must be a string, not the number \(n) (write it in quotes: \"\(n)\")")
        case nil: throw fail("id", "missing")
        default: throw fail("id", "must be a non-empty string")
        }

        let descriptions: [String]
        do { descriptions = try Self.descriptions(object["descriptions"]) } catch { throw fail("descriptions", error.reason) }
        let votes: [EmotionLabel]?
        do { votes = try Self.votes(object["votes"]) } catch { throw fail("votes", error.reason) }

        func distribution(_ key: String) throws(DatasetError) -> EmotionDistribution? {
            guard let raw = object[key], raw != .null else { return nil }
            do {
                let values = try EmotionDistribution.rawValues(from: raw)
                return try EmotionDistribution.normalizing(values, policy: policy).distribution
            } catch let error as DistributionParseError {
                throw fail(key, error.description)
            } catch let error as DistributionError {
                throw fail(key, error.description)
            } catch {
                throw fail(key, "\(error)")
            }
        }

        let reference: EmotionDistribution
        if let given = try distribution("reference") {
            reference = given
        } else if let votes {
            do { reference = try EmotionDistribution(votes: votes) } catch { throw fail("votes", error.description) }
        } else {
            throw fail("reference", "missing: give 'reference' or 'votes'")
        }
        var keep = JSONObject()
        switch object["keep"] {
        case nil, .null?: break
        case .object(let kept)?:
            for (key, member) in kept {
                guard let text = member.stringValue else { throw fail("keep", "'\(key)' is \(member.typeName), not a string") }
                keep[key] = .string(text)
            }
        case let other?: throw fail("keep", "must be an object of carried column values (strings), not \(other.typeName)")
        }
        return DatasetItem(id: id, descriptions: descriptions, reference: reference, votes: votes, gold: try distribution("gold"), keep: keep)
    }
}

extension DatasetReader {
    /// Counts the items of a dataset file cheaply (no parsing): non-blank lines of a JSONL file,
    /// records after the header of a CSV file. Used for progress and ETA.
    public static func countItems(path: String, format: DatasetFormat? = nil, mapping: ColumnMapping? = nil) throws(DatasetError) -> Int {
        let table: ColumnMapping.TableFormat
        if let mapping {
            table = try mapping.tableFormat(path: path, given: format)
        } else {
            guard let format = format ?? DatasetFormat.detect(path: path) else { return 0 }
            table = format == .jsonl ? .jsonl : .csv
        }
        switch table {
        case .jsonl:
            let lines = try LineReader(path: path)
            var count = 0
            while let line = try lines.nextLine() {
                if line.contains(where: { !$0.isWhitespace }) { count += 1 }
            }
            return count
        case .csv, .tsv:
            let csv = try CSVReader(path: path, delimiter: table == .tsv ? "\t" : ",")
            var count = -1
            while try csv.nextRecord() != nil { count += 1 }
            return max(0, count)
        }
    }
}
