/// Reads RFC 4180 CSV records one at a time in constant memory (or TSV: the same rules with
/// a tab between fields).
///
/// Fields may be quoted; inside quotes, `""` is a quote and newlines are part of the field
/// (such a record spans several lines; ``recordLine`` is the line it starts on).
package final class CSVReader {
    private let lines: LineReader
    /// The line the last returned record started on.
    package private(set) var recordLine = 0
    /// The byte offset where the last returned record starts (for ``seek(to:)``).
    package private(set) var recordOffset = 0
    package var path: String { lines.path }
    /// What separates fields: `,` (CSV) or a tab (TSV).
    package let delimiter: Unicode.Scalar

    package init(path: String, delimiter: Unicode.Scalar = ",") throws(DatasetError) {
        lines = try LineReader(path: path)
        self.delimiter = delimiter
    }

    /// Moves to a record's start (a ``recordOffset``): the next record read starts there.
    package func seek(to offset: Int) throws(DatasetError) { try lines.seek(to: offset) }

    /// The next record's fields, or `nil` at the end of the file. Blank lines are skipped.
    package func nextRecord() throws(DatasetError) -> [String]? {
        guard var line = try lines.nextLine() else { return nil }
        while line.isEmpty {
            guard let next = try lines.nextLine() else { return nil }
            line = next
        }
        recordLine = lines.lineNumber
        recordOffset = lines.lastLineOffset
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var fieldWasQuoted = false
        var afterClosingQuote = false
        while true {
            var iterator = line.unicodeScalars.makeIterator()
            var pending: Unicode.Scalar? = iterator.next()
            while let scalar = pending {
                pending = iterator.next()
                if inQuotes {
                    if scalar == "\"" {
                        if pending == "\"" { field.unicodeScalars.append("\""); pending = iterator.next() } else { inQuotes = false; afterClosingQuote = true }
                    } else {
                        field.unicodeScalars.append(scalar)
                    }
                } else if scalar == delimiter {
                    fields.append(field)
                    field = ""
                    fieldWasQuoted = false
                    afterClosingQuote = false
                } else if afterClosingQuote {
                    throw DatasetError(file: path, line: lines.lineNumber, column: fields.count + 1, reason: "text after a closing quote; quotes inside a field must be doubled")
                } else if scalar == "\"" && field.isEmpty && !fieldWasQuoted {
                    inQuotes = true
                    fieldWasQuoted = true
                } else {
                    field.unicodeScalars.append(scalar)
                }
            }
            guard inQuotes else { break }
            guard let next = try lines.nextLine() else {
                throw DatasetError(file: path, line: recordLine, column: fields.count + 1, reason: "a quoted field is never closed")
            }
            field += "\n"
            line = next
        }
        fields.append(field)
        return fields
    }
}
