/// One data row of an EMO-SUPERB CSV file.
package struct EmoSuperbRow: Sendable, Hashable {
    /// The line the row starts on.
    package var line: Int
    /// The first column: the utterance file name.
    package var id: String
    /// The 8 values as written (not renormalised).
    package var values: [Double]
    /// The 10th column (`words` in inputs, `reason` in GPT-4's outputs), when present.
    package var text: String?
}

/// Streams rows of EMO-SUPERB's CSV layout (REFERENCE.md section 2): a header
/// `,angry,sad,disgust,contempt,fear,neutral,surprise,happy,words` (or `reason`), then one row
/// per utterance. The header is checked: the 8 emotion columns must be there in this order.
package final class EmoSuperbCSVReader {
    private let csv: CSVReader
    /// The name of the column after the 8 emotions (`words`, `reason`), or `nil` when there is none.
    package let textColumn: String?
    package var path: String { csv.path }

    package init(path: String) throws(DatasetError) {
        csv = try CSVReader(path: path)
        guard let header = try csv.nextRecord() else { throw DatasetError(file: path, reason: "the file is empty; expected a header ',angry,...,happy,words'") }
        let expected = Emotion.allCases.map(\.name)
        guard header.count >= 9 else {
            throw DatasetError(file: path, line: 1, reason: "the header has \(header.count) columns; expected an id column, the 8 emotions and optionally words or reason")
        }
        for (i, name) in expected.enumerated() where header[i + 1].trimmingWhitespace().lowercased() != name {
            throw DatasetError(file: path, line: 1, field: header[i + 1], reason: "column \(i + 2) must be '\(name)' (EMO-SUPERB order: \(expected.joined(separator: ",")))")
        }
        guard header.count <= 10 else { throw DatasetError(file: path, line: 1, field: header[10], reason: "unexpected column after '\(header[9])'") }
        textColumn = header.count == 10 ? header[9].trimmingWhitespace().lowercased() : nil
    }

    /// The byte offset where the last returned row starts.
    package var rowOffset: Int { csv.recordOffset }

    /// Moves to a row's start (a ``rowOffset``): the next row read starts there.
    package func seek(to offset: Int) throws(DatasetError) { try csv.seek(to: offset) }

    /// The next row, or `nil` at the end.
    package func nextRow() throws(DatasetError) -> EmoSuperbRow? {
        guard let fields = try csv.nextRecord() else { return nil }
        let line = csv.recordLine
        let width = textColumn == nil ? 9 : 10
        guard fields.count == width else {
            throw DatasetError(file: path, line: line, reason: "expected \(width) columns, found \(fields.count)")
        }
        let id = fields[0].trimmingWhitespace()
        guard !id.isEmpty else { throw DatasetError(file: path, line: line, field: "id", reason: "the first column (the utterance id) is empty") }
        var values: [Double] = []
        values.reserveCapacity(Emotion.count)
        for emotion in Emotion.allCases {
            let field = fields[emotion.rawValue + 1].trimmingWhitespace()
            guard let value = DecimalNumber.parse(field) else {
                throw DatasetError(file: path, line: line, field: emotion.name, reason: field.isEmpty ? "empty" : "'\(field)' is not a decimal number")
            }
            values.append(value)
        }
        return EmoSuperbRow(line: line, id: id, values: values, text: textColumn == nil ? nil : fields[9])
    }
}

/// Decimal numbers as data files write them: `0.25`, `-1`, `.5`, `1e-3`. Not hexadecimal
/// (`0x1p0`), `inf`, `nan` or anything else `Double(String)` would also take.
package enum DecimalNumber {
    /// The value of `text`, or `nil` when it is not a plain decimal number.
    package static func parse(_ text: String) -> Double? {
        var digitsBefore = 0, digitsAfter = 0, exponentDigits = 0
        var state = 0   // 0 sign, 1 integer, 2 fraction, 3 exponent sign, 4 exponent
        for byte in text.utf8 {
            switch (state, byte) {
            case (0, UInt8(ascii: "-")), (0, UInt8(ascii: "+")): state = 1
            case (0...1, UInt8(ascii: "0")...UInt8(ascii: "9")): state = 1; digitsBefore += 1
            case (0...1, UInt8(ascii: ".")): state = 2
            case (2, UInt8(ascii: "0")...UInt8(ascii: "9")): digitsAfter += 1
            case (1...2, UInt8(ascii: "e")), (1...2, UInt8(ascii: "E")):
                guard digitsBefore + digitsAfter > 0 else { return nil }
                state = 3
            case (3, UInt8(ascii: "-")), (3, UInt8(ascii: "+")): state = 4
            case (3...4, UInt8(ascii: "0")...UInt8(ascii: "9")): state = 4; exponentDigits += 1
            default: return nil
            }
        }
        guard digitsBefore + digitsAfter > 0, state < 3 || exponentDigits > 0 else { return nil }
        return Double(text)
    }
}
