import Foundation

/// Turns per-annotator label rows (MSP-Podcast style) into dataset items.
///
/// Input: a CSV with a header and one row per annotator answer. The columns used (names are
/// configurable; matching ignores case):
///
/// | column | default name | meaning |
/// |---|---|---|
/// | utterance | `utterance` | the utterance id |
/// | annotator | `annotator` | the annotator id (optional column) |
/// | label | `primary` | the primary emotion: a name or MSP-Podcast code (`Angry`/`A`, ..., `Surprise`/`U`); `Other`/`O` and `No agreement`/`X` are kept as votes but excluded from the distribution; `Other-<text>` or `Other: <text>` carries typed text |
/// | text | `other_text` | the typed description (optional column) |
///
/// Each utterance becomes one item, in order of first appearance: its votes in row order, its
/// descriptions (non-empty typed texts, in row order) and the reference distribution of its
/// votes. An unknown label, an empty id, or one annotator answering twice for the same
/// utterance is an error naming the file, line and column. Utterances whose votes are all
/// "other"/"no agreement" have no distribution and are reported, not written.
package struct AnnotationImport: Sendable {
    package var utteranceColumn = "utterance"
    package var annotatorColumn: String? = "annotator"
    package var labelColumn = "primary"
    package var textColumn: String? = "other_text"

    package init() {}

    /// What an import produced.
    package struct Result: Sendable {
        package var items: [DatasetItem]
        /// Rows read.
        package var rows: Int
        /// Utterances left out because none of their votes is one of the 8 emotions.
        package var withoutEmotionVotes: [String]
    }

    package func read(path: String) throws(DatasetError) -> Result {
        let csv = try CSVReader(path: path)
        guard let header = try csv.nextRecord() else { throw DatasetError(file: path, reason: "the file is empty; expected a header") }
        let names = header.map { $0.trimmingWhitespace().lowercased() }
        func column(_ name: String, required: Bool) throws(DatasetError) -> Int? {
            if let i = names.firstIndex(of: name.lowercased()) { return i }
            if required { throw DatasetError(file: path, line: 1, field: name, reason: "no such column (columns: \(header.joined(separator: ", ")))") }
            return nil
        }
        let utterance = try column(utteranceColumn, required: true)!
        let label = try column(labelColumn, required: true)!
        let annotator = try annotatorColumn.flatMap { name throws(DatasetError) in try column(name, required: false) }
        let text = try textColumn.flatMap { name throws(DatasetError) in try column(name, required: false) }

        var order: [String] = []
        var votes: [String: [EmotionLabel]] = [:]
        var descriptions: [String: [String]] = [:]
        var seen: [String: Int] = [:]   // "utterance\u{0}annotator" -> line
        var rows = 0
        while let fields = try csv.nextRecord() {
            rows += 1
            let line = csv.recordLine
            guard fields.count == header.count else {
                throw DatasetError(file: path, line: line, reason: "expected \(header.count) columns, found \(fields.count)")
            }
            let id = fields[utterance].trimmingWhitespace()
            guard !id.isEmpty else { throw DatasetError(file: path, line: line, field: header[utterance], reason: "empty utterance id") }
            if let annotator {
                let who = fields[annotator].trimmingWhitespace()
                if !who.isEmpty, let earlier = seen.updateValue(line, forKey: id + "\u{0}" + who) {
                    throw DatasetError(file: path, line: line, field: header[annotator], reason: "annotator '\(who)' already labeled '\(id)' on line \(earlier)")
                }
            }
            var raw = fields[label].trimmingWhitespace()
            var typed: String?
            for marker in ["-", ":"] {
                if let range = raw.range(of: marker), EmotionLabel(parsing: String(raw[..<range.lowerBound])) == .other {
                    typed = String(raw[range.upperBound...]).trimmingWhitespace()
                    raw = String(raw[..<range.lowerBound])
                    break
                }
            }
            guard let vote = EmotionLabel(parsing: raw) else {
                if DecimalNumber.parse(raw) != nil, header.contains(where: { Emotion(anyName: $0) != nil }) {
                    throw DatasetError(file: path, line: line, column: label + 1, field: header[label],
                                       reason: "'\(raw)' is a number, not an emotion: this looks like a vote table (one row per utterance, votes under emotion columns), not one row per annotator; import it with a column mapping (--id-column, --emotion-columns, ...; 'promptlab inspect \(path)' proposes one)")
                }
                throw DatasetError(file: path, line: line, field: header[label], reason: "'\(fields[label])' is not an emotion name or code (accepted, any case: \(Emotion.acceptedNames); O or Other, X or No agreement)")
            }
            if votes[id] == nil { order.append(id) }
            votes[id, default: []].append(vote)
            // Typed text is kept as written (case, typos, trailing spaces); blank text is no description.
            for t in [typed, text.map { fields[$0] }] {
                if let t, !t.trimmingWhitespace().isEmpty { descriptions[id, default: []].append(t) }
            }
        }
        var items: [DatasetItem] = []
        var empty: [String] = []
        for id in order {
            let list = votes[id]!
            guard let reference = try? EmotionDistribution(votes: list) else { empty.append(id); continue }
            items.append(DatasetItem(id: id, descriptions: descriptions[id] ?? [], reference: reference, votes: list))
        }
        return Result(items: items, rows: rows, withoutEmotionVotes: empty)
    }
}

extension DatasetItem {
    /// The item as a project-JSONL object: id, descriptions, votes (MSP-Podcast codes) or the
    /// reference, and gold when present.
    package var json: JSONValue {
        var object = JSONObject()
        object["id"] = .string(id)
        object["descriptions"] = .array(descriptions.map(JSONValue.string))
        if let votes {
            object["votes"] = .array(votes.map { vote in
                switch vote {
                case .emotion(let e): .string(String(e.code))
                case .other: "O"
                case .noAgreement: "X"
                }
            })
        } else {
            object["reference"] = reference.jsonObject
        }
        if let gold { object["gold"] = gold.jsonObject }
        if !keep.isEmpty { object["keep"] = .object(keep) }
        return .object(object)
    }
}
