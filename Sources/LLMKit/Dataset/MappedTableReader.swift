import Foundation

/// Streams ``DatasetItem``s from a lab's own vote table (CSV, TSV or JSONL) through a
/// ``ColumnMapping``, in constant memory, with seek by offset (``DatasetReader`` dispatches
/// here when it is given a mapping).
///
/// CSV and TSV: the first record is the header; every mapped column must be in it (matched
/// exactly, else ignoring case and surrounding spaces); columns the mapping does not name are
/// ignored. JSONL: one object per line, the mapping's names are keys; emotion values are
/// numbers, descriptions a string (split by the separator) or an array of strings, carried
/// values any scalar (kept as text). Votes are counts or proportions
/// (``ColumnMapping/VoteScale``); a row that is neither is an error naming the file, line,
/// column and cause.
package final class MappedTableReader {
    package let path: String
    package let mapping: ColumnMapping
    package let format: ColumnMapping.TableFormat
    private let policy: RenormalizationPolicy
    private var csv: CSVReader?
    private var lines: LineReader?
    /// Header positions (CSV, TSV): id, emotion columns, descriptions, carried columns.
    private var idIndex = 0
    private var emotionIndices: [(index: Int, emotion: Emotion)] = []
    private var descriptionsIndex: Int?
    private var keepIndices: [(index: Int, name: String)] = []
    private var width = 0
    private var header: [String] = []
    /// The line the item last returned starts on.
    package private(set) var lastLine = 0
    /// The byte offset where the item last returned starts (for ``seek(to:)``).
    package private(set) var lastOffset = 0
    /// How the rows read so far were read: as counts or as proportions.
    package private(set) var votes: ColumnMapping.VoteTally

    package init(path: String, mapping: ColumnMapping, format: ColumnMapping.TableFormat, policy: RenormalizationPolicy) throws(DatasetError) {
        self.path = path
        self.mapping = mapping
        self.format = format
        self.policy = policy
        votes = ColumnMapping.VoteTally(scale: mapping.votes)
        try mapping.check(source: "the column mapping")
        switch format {
        case .jsonl: lines = try LineReader(path: path)
        case .csv, .tsv:
            let reader = try CSVReader(path: path, delimiter: format == .tsv ? "\t" : ",")
            guard let header = try reader.nextRecord() else {
                throw DatasetError(file: path, reason: "the file is empty; expected a header naming the columns (\(mapping.idColumn), ...)")
            }
            try locateColumns(header)
            csv = reader
        }
    }

    /// Finds every mapped column in the header.
    private func locateColumns(_ header: [String]) throws(DatasetError) {
        self.header = header
        width = header.count
        let trimmed = header.map { $0.trimmingWhitespace().lowercased() }
        func index(_ name: String, role: String) throws(DatasetError) -> Int {
            if let exact = header.firstIndex(of: name) { return exact }
            if let loose = trimmed.firstIndex(of: name.trimmingWhitespace().lowercased()) { return loose }
            throw DatasetError(file: path, line: 1, field: name, reason: "no column '\(name)' (\(role)) in the header; the columns are: \(header.joined(separator: ", "))")
        }
        idIndex = try index(mapping.idColumn, role: "the id")
        emotionIndices = []
        for column in mapping.emotionColumns {
            emotionIndices.append((try index(column.column, role: "\(column.emotion.name) votes"), column.emotion))
        }
        descriptionsIndex = try mapping.descriptionsColumn.map { name throws(DatasetError) in try index(name, role: "the descriptions") }
        keepIndices = []
        for name in mapping.keepColumns { keepIndices.append((try index(name, role: "carried to the export"), name)) }
    }

    /// Moves to an item's start (a ``lastOffset``): the next item read is that one.
    package func seek(to offset: Int) throws(DatasetError) {
        if let csv { try csv.seek(to: offset) } else { try lines?.seek(to: offset) }
    }

    /// The next item, or `nil` at the end.
    package func next() throws(DatasetError) -> DatasetItem? {
        if let csv {
            guard let fields = try csv.nextRecord() else { return nil }
            lastLine = csv.recordLine
            lastOffset = csv.recordOffset
            return try item(fields: fields, line: csv.recordLine)
        }
        guard let lines else { return nil }
        while let text = try lines.nextLine() {
            if text.trimmingWhitespace().isEmpty { continue }
            lastLine = lines.lineNumber
            lastOffset = lines.lastLineOffset
            return try item(jsonLine: text, line: lines.lineNumber)
        }
        return nil
    }

    private func item(fields: [String], line: Int) throws(DatasetError) -> DatasetItem {
        guard fields.count == width else {
            throw DatasetError(file: path, line: line, reason: "expected \(width) columns as in the header, found \(fields.count)\(format == .csv && fields.count > width ? " (a comma inside a field needs the field in double quotes)" : "")")
        }
        func fail(_ index: Int, _ reason: String) -> DatasetError {
            DatasetError(file: path, line: line, column: index + 1, field: header[index], reason: reason)
        }
        let id = fields[idIndex].trimmingWhitespace()
        guard !id.isEmpty else { throw fail(idIndex, "the id is empty") }
        var values = [Double](repeating: 0, count: Emotion.count)
        for (index, emotion) in emotionIndices {
            let text = fields[index].trimmingWhitespace()
            guard let value = DecimalNumber.parse(text) else {
                throw fail(index, text.isEmpty ? "empty (write 0 for no votes)" : "'\(text)' is not a number")
            }
            values[emotion.rawValue] = value
        }
        let reference: EmotionDistribution
        switch mapping.votes.reference(values, policy: policy) {
        case .success(let r): reference = r; count(values)
        case .failure(let problem):
            let index = problem.emotion.flatMap { e in emotionIndices.first { $0.emotion == e }?.index } ?? emotionIndices[0].index
            throw fail(index, problem.reason)
        }
        var keep = JSONObject()
        for (index, name) in keepIndices { keep[name] = .string(fields[index]) }
        return DatasetItem(id: id, descriptions: descriptionsIndex.map { split(fields[$0]) } ?? [], reference: reference, keep: keep)
    }

    private func item(jsonLine text: String, line: Int) throws(DatasetError) -> DatasetItem {
        func fail(_ field: String?, _ reason: String) -> DatasetError { DatasetError(file: path, line: line, field: field, reason: reason) }
        let value: JSONValue
        do { value = try StrictJSON.parse(text) } catch { throw fail(nil, error.description) }
        guard case .object(let object) = value else { throw fail(nil, "expected a JSON object, found \(value.typeName)") }
        let id: String
        switch object[mapping.idColumn] {
        case .string(let s)? where !s.trimmingWhitespace().isEmpty: id = s
        case .number(let n)? where n.exactInt != nil: id = String(n.exactInt!)
        case nil: throw fail(mapping.idColumn, "missing (the id key; keys here: \(object.keys.joined(separator: ", ")))")
        default: throw fail(mapping.idColumn, "the id must be a non-empty string or a whole number")
        }
        var values = [Double](repeating: 0, count: Emotion.count)
        for column in mapping.emotionColumns {
            switch object[column.column] {
            case .number(let n)?: values[column.emotion.rawValue] = n.doubleValue
            case nil: throw fail(column.column, "missing (\(column.emotion.name) votes; write 0 for none)")
            case let other?: throw fail(column.column, "must be a number, not \(other.typeName)")
            }
        }
        let reference: EmotionDistribution
        switch mapping.votes.reference(values, policy: policy) {
        case .success(let r): reference = r; count(values)
        case .failure(let problem):
            let name = problem.emotion.flatMap { e in mapping.emotionColumns.first { $0.emotion == e }?.column } ?? mapping.emotionColumns[0].column
            throw fail(name, problem.reason)
        }
        var descriptions: [String] = []
        if let key = mapping.descriptionsColumn {
            switch object[key] {
            case nil, .null?: break
            case .string(let s)?: descriptions = split(s)
            case .array(let list)?:
                for (i, element) in list.enumerated() {
                    guard let s = element.stringValue else { throw fail(key, "element \(i) is \(element.typeName), not a string") }
                    descriptions += split(s)
                }
            case let other?: throw fail(key, "must be a string or an array of strings, not \(other.typeName)")
            }
        }
        var keep = JSONObject()
        for name in mapping.keepColumns {
            switch object[name] {
            case nil, .null?: keep[name] = .string("")
            case .string(let s)?: keep[name] = .string(s)
            case .array?, .object?: throw fail(name, "a carried value must be a string, number or boolean, not \(object[name]!.typeName)")
            case let scalar?: keep[name] = .string(scalar.description)
            }
        }
        return DatasetItem(id: id, descriptions: descriptions, reference: reference, keep: keep)
    }

    /// Adds an accepted row to the tally.
    private func count(_ values: [Double]) {
        if mapping.votes.reading(values) == .counts { votes.counts += 1 } else { votes.proportions += 1 }
    }

    /// A descriptions cell: split by the separator, each piece trimmed, empty pieces dropped.
    private func split(_ cell: String) -> [String] {
        let pieces = mapping.descriptionsSeparator.map { cell.components(separatedBy: $0) } ?? [cell]
        return pieces.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }
}
