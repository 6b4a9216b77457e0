import Foundation

extension ColumnMapping {
    /// Export columns of their own: a carried column may not take one of these names.
    public static let exportColumns = ["reason", "method", "prompt"]

    /// Checks the mapping on its own (before any table is read): an id column, at least one
    /// emotion column, no emotion and no column named twice, a visible separator. `source`
    /// names where the mapping came from (a mapping file, or `the flags`).
    public func check(source: String) throws(DatasetError) {
        func fail(_ field: String?, _ reason: String) -> DatasetError { DatasetError(file: source, field: field, reason: reason) }
        guard !idColumn.trimmingWhitespace().isEmpty else { throw fail("id", "the id column's name is empty") }
        guard !emotionColumns.isEmpty else {
            throw fail("emotions", "no emotion columns: name them, e.g. --emotion-columns Anger=angry,Happiness=happy (accepted, any case: \(Emotion.acceptedNames))")
        }
        var emotions: [Emotion: String] = [:]
        for column in emotionColumns {
            if let earlier = emotions.updateValue(column.column, forKey: column.emotion) {
                throw fail("emotions", "columns '\(earlier)' and '\(column.column)' both hold \(column.emotion.name)")
            }
        }
        var used: [String: String] = [idColumn: "the id"]
        let roles = emotionColumns.map { ($0.column, "an emotion column") } + (descriptionsColumn.map { [($0, "the descriptions")] } ?? [])
            + keepColumns.map { ($0, "a carried column") }
        for (column, role) in roles {
            if let earlier = used.updateValue(role, forKey: column) {
                throw fail(column, "the column is named twice: as \(earlier) and as \(role)")
            }
        }
        if let descriptionsSeparator, descriptionsSeparator.isEmpty { throw fail("separator", "the descriptions separator is empty") }
        if descriptionsSeparator != nil && descriptionsColumn == nil { throw fail("separator", "a separator without a descriptions column") }
        for column in keepColumns where Self.exportColumns.contains(column.lowercased()) {
            throw fail(column, "a carried column may not be called '\(column)': the export writes its own \(Self.exportColumns.joined(separator: ", ")) columns")
        }
    }

    /// The mapping as JSON (the mapping file's keys; emotions in the mapping's order), for the
    /// run's fingerprint and the journal header.
    public var json: JSONValue {
        var object = JSONObject()
        if let format { object["format"] = .string(format.rawValue) }
        object["id"] = .string(idColumn)
        object["emotions"] = .object(JSONObject(emotionColumns.map { ($0.column, JSONValue.string($0.emotion.name)) }))
        if let descriptionsColumn { object["descriptions"] = .string(descriptionsColumn) }
        if let descriptionsSeparator { object["separator"] = .string(descriptionsSeparator) }
        if !keepColumns.isEmpty { object["keep"] = .array(keepColumns.map(JSONValue.string)) }
        object["votes"] = .string(votes.rawValue)
        return .object(object)
    }

    /// Reads ``json``; `nil` when it is not a mapping.
    public init?(json value: JSONValue) {
        guard case .object(let o) = value, let id = o["id"]?.stringValue, case .object(let emotions)? = o["emotions"] else { return nil }
        var columns: [EmotionColumn] = []
        for (column, name) in emotions {
            guard let emotion = name.stringValue.flatMap(Emotion.init(anyName:)) else { return nil }
            columns.append(EmotionColumn(column: column, emotion: emotion))
        }
        self.init(format: o["format"]?.stringValue.flatMap(TableFormat.init(rawValue:)), idColumn: id, emotionColumns: columns,
                  descriptionsColumn: o["descriptions"]?.stringValue, descriptionsSeparator: o["separator"]?.stringValue,
                  keepColumns: o["keep"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  votes: o["votes"]?.stringValue.flatMap(VoteScale.init(rawValue:)) ?? .auto)
    }

    /// The mapping as `promptlab` flags (`--id-column utterance_id --emotion-columns
    /// Anger=angry,...`), each value quoted for a POSIX shell where it needs it.
    public var arguments: [String] {
        var arguments = ["--id-column", idColumn,
                         "--emotion-columns", emotionColumns.map { "\($0.column)=\($0.emotion.name)" }.joined(separator: ",")]
        if let descriptionsColumn { arguments += ["--descriptions-column", descriptionsColumn] }
        if let descriptionsSeparator { arguments += ["--descriptions-separator", descriptionsSeparator] }
        if !keepColumns.isEmpty { arguments += ["--keep-columns", keepColumns.joined(separator: ",")] }
        arguments += ["--votes", votes.rawValue]
        return arguments
    }

    /// `text` as one word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
    public static func shellQuoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { s in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s))) || "-_./=,:@%+".unicodeScalars.contains(s)
        }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The table format of `path`: the mapping's, else `given` (`--format`), else the extension
    /// (`.csv`; `.tsv` or `.tab`; `.jsonl`, `.ndjson` or `.json`).
    public func tableFormat(path: String, given: DatasetFormat? = nil) throws(DatasetError) -> TableFormat {
        if let format { return format }
        if let given { return given == .jsonl ? .jsonl : .csv }
        if let detected = Self.tableFormat(path: path) { return detected }
        throw DatasetError(file: path, reason: "cannot tell the table format from the extension (.csv, .tsv, .jsonl); name it: --format csv or jsonl, or 'format: tsv' in a mapping file")
    }

    /// The table format an extension names, or `nil`.
    public static func tableFormat(path: String) -> TableFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".tsv") || lower.hasSuffix(".tab") { return .tsv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { return .jsonl }
        return nil
    }

    /// The mapping `inspect` proposes for a table with this header (or these JSONL keys): the
    /// columns named as emotions by the alias table (`Anger`, `happy`, `ang`; one-letter codes
    /// such as `A` or `N` only when no column names an emotion in words), an id column
    /// (the first whose name says id, file, utterance or name, else the first column), a
    /// descriptions column (the first named descriptions, words, notes, comments, text or
    /// other), and every other column carried; `nil` when no column names an emotion.
    /// `separator` is the most common of `;`, `|` and `,` in the descriptions cells seen, if any.
    public static func propose(header: [String], descriptionSamples: (Int) -> [String] = { _ in [] }) -> ColumnMapping? {
        let names = header.map { $0.trimmingWhitespace() }
        // A one-letter name (EMO-SUPERB's codes A, S, H, ...) is an emotion only in a header
        // that names none in words: beside Anger and Neutral, a column 'N' is more likely a count.
        func emotionColumns(letters: Bool) -> [EmotionColumn] {
            var columns: [EmotionColumn] = []
            var taken: Set<Emotion> = []
            for name in names where (name.count == 1) == letters {
                guard let emotion = Emotion(anyName: name), taken.insert(emotion).inserted else { continue }
                columns.append(EmotionColumn(column: name, emotion: emotion))
            }
            return columns
        }
        var emotions = emotionColumns(letters: false)
        if emotions.isEmpty { emotions = emotionColumns(letters: true) }
        guard !emotions.isEmpty else { return nil }
        let emotionNames = Set(emotions.map(\.column))
        let others = names.enumerated().filter { !emotionNames.contains($0.element) }
        func first(_ words: [String]) -> (offset: Int, element: String)? {
            others.first { column in
                let lower = column.element.lowercased()
                return words.contains { lower == $0 || lower.hasPrefix($0 + "_") || lower.hasSuffix("_" + $0) || lower.hasSuffix(" " + $0) }
            }
        }
        guard let id = first(["id", "utterance", "file", "filename", "name", "wav", "path"]) ?? others.first else { return nil }
        let descriptions = first(["descriptions", "description", "words", "notes", "comments", "comment", "text", "other", "free_text"])
            .flatMap { $0.element == id.element ? nil : $0 }
        var separator: String?
        if let descriptions {
            let samples = descriptionSamples(descriptions.offset)
            let counts = [";", "|", ","].map { mark in (mark, samples.reduce(0) { $0 + $1.components(separatedBy: mark).count - 1 }) }
            if let best = counts.max(by: { $0.1 < $1.1 }), best.1 > 0 { separator = best.0 }
        }
        let keep = others.map(\.element).filter { $0 != id.element && $0 != descriptions?.element && !exportColumns.contains($0.lowercased()) && !$0.isEmpty }
        return ColumnMapping(idColumn: id.element, emotionColumns: emotions, descriptionsColumn: descriptions?.element,
                             descriptionsSeparator: separator, keepColumns: keep)
    }
}

extension ColumnMapping.VoteScale {
    /// The reference distribution of one row's emotion values under this scale; the reason
    /// when the row is neither counts (whole numbers >= 0, at least one vote) nor proportions
    /// (numbers >= 0 summing to 1 within `policy`'s tolerance).
    func reference(_ values: [Double], policy: RenormalizationPolicy) -> Result<EmotionDistribution, RowProblem> {
        let negative = values.firstIndex { !($0 >= 0) || !$0.isFinite }
        if let i = negative { return .failure(RowProblem(emotion: Emotion(rawValue: i)!, reason: "'\(LabelExport.formatValue(values[i]))' is not a vote count or a share (negative or not finite)")) }
        let whole = values.allSatisfy { $0 == $0.rounded() }
        let sum = ExactSum.sum(values)
        let sumText = LabelExport.formatValue(sum)
        switch self {
        case .counts:
            if let i = values.firstIndex(where: { $0 != $0.rounded() }) {
                return .failure(RowProblem(emotion: Emotion(rawValue: i)!, reason: "'\(LabelExport.formatValue(values[i]))' is not a whole number of votes (the mapping says counts; --votes proportions for shares)"))
            }
            guard sum > 0 else { return .failure(RowProblem(emotion: nil, reason: "no votes: every emotion count is 0")) }
        case .proportions:
            guard abs(sum - 1) <= policy.tolerance else {
                return .failure(RowProblem(emotion: nil, reason: "the shares sum to \(sumText), more than \(LabelExport.formatValue(policy.tolerance)) from 1 (the mapping says proportions; --votes counts for vote counts)"))
            }
        case .auto:
            guard (whole && sum > 0) || abs(sum - 1) <= policy.tolerance else {
                return .failure(RowProblem(emotion: nil, reason: sum == 0
                    ? "no votes: every emotion value is 0"
                    : "neither vote counts (whole numbers) nor proportions (the values sum to \(sumText), not 1 within \(LabelExport.formatValue(policy.tolerance)))"))
            }
        }
        do {
            // Counts become their shares; shares within the tolerance are renormalised silently.
            return .success(try EmotionDistribution.normalizing(values, policy: RenormalizationPolicy(tolerance: .greatestFiniteMagnitude)).distribution)
        } catch {
            return .failure(RowProblem(emotion: nil, reason: error.description))
        }
    }

    /// The scale a row read under this scale was read as: itself, or for `auto` counts when
    /// the row's values are whole numbers with at least one vote, else proportions (call after
    /// ``reference(_:policy:)`` accepted the row).
    func reading(_ values: [Double]) -> ColumnMapping.VoteScale {
        guard self == .auto else { return self }
        return values.allSatisfy { $0 == $0.rounded() } && values.contains { $0 > 0 } ? .counts : .proportions
    }

    /// Why a row's emotion values are not votes.
    struct RowProblem: Error {
        var emotion: Emotion?
        var reason: String
    }
}

extension ColumnMapping {
    /// What ``propose(path:format:policy:)`` found.
    package struct Proposal {
        /// The mapping, its vote scale decided by reading every row.
        package var mapping: ColumnMapping
        /// Whether the table is an export of this tool (it ends with reason, method, prompt).
        package var isExport: Bool
    }

    /// The mapping ``propose(header:descriptionSamples:)`` proposes for the table at `path`
    /// (the header of a CSV or TSV, the keys of a JSONL file's first object; descriptions
    /// sampled from the first 200 rows), with the vote scale every row fits: counts when every
    /// row reads as counts, else proportions when every row reads as shares, else `auto` (a
    /// reader then names the first row that is neither). `nil` when no column names an emotion.
    package static func propose(path: String, format: TableFormat, policy: RenormalizationPolicy) throws(DatasetError) -> Proposal? {
        var header: [String] = []
        var samples: [[String]] = []
        switch format {
        case .csv, .tsv:
            let csv = try CSVReader(path: path, delimiter: format == .tsv ? "\t" : ",")
            header = try csv.nextRecord() ?? []
            while samples.count < 200, let row = try csv.nextRecord() { samples.append(row) }
        case .jsonl:
            let lines = try LineReader(path: path)
            while samples.count < 200, let line = try lines.nextLine() {
                guard case .object(let o)? = try? StrictJSON.parse(line) else { continue }
                if header.isEmpty { header = o.keys }
                samples.append(header.map { o[$0]?.stringValue ?? "" })
            }
        }
        guard var mapping = propose(header: header, descriptionSamples: { column in samples.compactMap { column < $0.count ? $0[column] : nil } }) else {
            return nil
        }
        if Self.tableFormat(path: path) != format { mapping.format = format }
        let isExport = Array(header.suffix(exportColumns.count)).map { $0.lowercased() } == exportColumns
        for scale in [VoteScale.counts, .proportions] {
            mapping.votes = scale
            if (try? readsEveryRow(path: path, mapping: mapping, format: format, policy: policy)) == true { return Proposal(mapping: mapping, isExport: isExport) }
        }
        mapping.votes = .auto
        return Proposal(mapping: mapping, isExport: isExport)
    }

    private static func readsEveryRow(path: String, mapping: ColumnMapping, format: TableFormat, policy: RenormalizationPolicy) throws(DatasetError) -> Bool {
        let reader = try MappedTableReader(path: path, mapping: mapping, format: format, policy: policy)
        while try reader.next() != nil {}
        return true
    }
}
