import Foundation

/// Writes relabeled outputs as a CSV table: a named id column, the lab's carried columns, the
/// 8 emotions (under the lab's own names from the column mapping, or the canonical ones), the
/// reason, the method and the prompt version (``Columns/table``); or as the 8-column CSV that
/// SER training recipes read (EMO-SUPERB's order and layout:
/// `,angry,sad,disgust,contempt,fear,neutral,surprise,happy`, the id first,
/// ``Columns/eightColumns``); optionally label-smoothed `y' = (1 - eps) * y + eps / 8` (REFERENCE.md section 3; the paper
/// trains with eps = 0.05).
public enum LabelExport {
    /// Which labels to write.
    public enum Variant: String, Sendable, CaseIterable {
        /// Relabeled items only, their adjusted distribution; failed items are left out.
        case llm
        /// Every item: the adjusted distribution where relabeled, else the original reference.
        case replace
        /// Every item's reference, plus a second row `<id>@llm` with the adjusted distribution for relabeled items.
        case add
        /// Every item's original reference (the baseline).
        case reference
    }

    /// Which columns the export has.
    public struct Columns: Sendable, Hashable {
        /// EMO-SUPERB's 8-column layout that SER recipes read (`,angry,...,happy`, the id
        /// column unnamed), nothing else; otherwise the table: a named id column, the carried
        /// columns, the 8 emotions, `reason`, `method` and `prompt`.
        public var labelsOnly: Bool
        /// In the table: the canonical names (`id`, `angry`, ..., `happy`) instead of the
        /// lab's own (the column mapping's, recorded in the journal's header).
        public var canonicalNames: Bool

        public init(labelsOnly: Bool = false, canonicalNames: Bool = false) {
            self.labelsOnly = labelsOnly
            self.canonicalNames = canonicalNames
        }

        /// The table under the lab's names (the default).
        public static let table = Columns()
        /// EMO-SUPERB's 8-column layout.
        public static let eightColumns = Columns(labelsOnly: true)
    }

    /// The header row of EMO-SUPERB's 8-column layout.
    public static let header = "," + Emotion.allCases.map(\.name).joined(separator: ",")

    /// The CSV rows (without the header) for one record, in EMO-SUPERB's 8-column layout.
    public static func rows(for record: RelabeledRecord, variant: Variant, smoothing: Double) -> [String] {
        labelRows(for: record, variant: variant).map { label in
            csvField(label.id) + "," + values(label.distribution, smoothing: smoothing).joined(separator: ",")
        }
    }

    /// One exported row before it is written: its id, its distribution, and whether it is
    /// the model's (else the original reference).
    struct LabelRow {
        var id: String
        var distribution: EmotionDistribution
        var isModel: Bool
    }

    static func labelRows(for record: RelabeledRecord, variant: Variant) -> [LabelRow] {
        let adjusted = record.outcome.relabel?.adjusted
        let reference = LabelRow(id: record.id, distribution: record.reference, isModel: false)
        switch variant {
        case .llm: return adjusted.map { [LabelRow(id: record.id, distribution: $0, isModel: true)] } ?? []
        case .replace: return [adjusted.map { LabelRow(id: record.id, distribution: $0, isModel: true) } ?? reference]
        case .add: return [reference] + (adjusted.map { [LabelRow(id: record.id + "@llm", distribution: $0, isModel: true)] } ?? [])
        case .reference: return [reference]
        }
    }

    /// 15 significant digits: exact for every value a double holds to that precision, and
    /// free of binary noise (0.95 + 0.00625 is written 0.95625, not 0.9562499999999999).
    private static func values(_ d: EmotionDistribution, smoothing: Double) -> [String] {
        (smoothing > 0 ? d.smoothed(smoothing) : d).values.map { formatValue($0) }
    }

    /// The table's columns: the id's name, the carried columns, and the emotions in column
    /// order with their names (the lab's emotion columns in the mapping's order, then any of the
    /// 8 the mapping does not name, under the canonical name).
    struct TableLayout {
        var id: String
        var keep: [String]
        var emotions: [(name: String, emotion: Emotion)]

        init(mapping: ColumnMapping?, keep: [String], canonical: Bool) {
            let named = canonical ? [] : (mapping?.emotionColumns ?? [])
            id = canonical ? "id" : mapping?.idColumn ?? "id"
            self.keep = keep
            emotions = named.map { ($0.column, $0.emotion) }
                + Emotion.allCases.filter { e in !named.contains { $0.emotion == e } }.map { ($0.name, $0) }
        }

        var header: String {
            ([id] + keep + emotions.map(\.name) + ColumnMapping.exportColumns).map(LabelExport.csvField).joined(separator: ",")
        }

        func row(_ label: LabelRow, record: RelabeledRecord, smoothing: Double) -> String {
            let all = LabelExport.values(label.distribution, smoothing: smoothing)
            let kept = keep.map { record.keep?[$0]?.stringValue ?? "" }
            let provenance = label.isModel
                ? [record.outcome.relabel?.reason ?? "", record.method ?? MethodID.adjust.name, record.promptVersion]
                : ["", "reference", ""]
            return ([label.id] + kept + emotions.map { all[$0.emotion.rawValue] } + provenance).map(LabelExport.csvField).joined(separator: ",")
        }
    }

    /// Streams `input` (relabeled JSONL) to `output` (CSV, written atomically). An id with
    /// several lines (a run interrupted after asking failed items again) is written once, from
    /// its last line, as scoring and `--resume` read it. The table layout (``Columns/table``)
    /// names its columns after the column mapping recorded in the journal's header. An export
    /// that would have no row is an error and writes nothing. Returns the records written, the
    /// rows, and the earlier lines left out.
    public static func export(input: String, output: String, variant: Variant, smoothing: Double,
                              columns: Columns = .table) throws(DatasetError) -> (records: Int, rows: Int, superseded: Int) {
        try FileChecks.requireDistinct(output: output, from: [input])
        // First pass: the last line of each id (ids only; the records are read in the second),
        // the carried columns' names and whether any row will be written.
        var last: [String: Int] = [:]
        var count = 0, relabeled = 0
        var keep: [String] = []
        let scan = try RelabeledRecordReader(path: input)
        while let record = try scan.next() {
            last[record.id] = count
            count += 1
            if record.outcome.relabel != nil { relabeled += 1 }
            for key in record.keep?.keys ?? [] where !keep.contains(key) { keep.append(key) }
        }
        let mapping = scan.headers.last.flatMap { ColumnMapping(json: $0.fingerprint.mapping) }
        if let mapping { keep = mapping.keepColumns + keep.filter { !mapping.keepColumns.contains($0) } }
        guard count > 0 else { throw DatasetError(file: input, reason: "nothing to export: the file holds no relabeled or failed items") }
        guard variant != .llm || relabeled > 0 else {
            throw DatasetError(file: input, reason: "nothing to export: none of its \(last.count) items was relabeled (variant llm writes relabeled items only; --variant replace writes the references)")
        }
        let layout = TableLayout(mapping: mapping, keep: keep, canonical: columns.canonicalNames)
        let reader = try RelabeledRecordReader(path: input)
        try FileChecks.createFolder(for: output)
        let writer = try AtomicFileWriter(path: output)
        try writer.writeLine(columns.labelsOnly ? header : layout.header)
        var records = 0, rows = 0, index = 0
        while let record = try reader.next() {
            defer { index += 1 }
            guard last[record.id] == index else { continue }
            records += 1
            for label in labelRows(for: record, variant: variant) {
                try writer.writeLine(columns.labelsOnly
                    ? csvField(label.id) + "," + values(label.distribution, smoothing: smoothing).joined(separator: ",")
                    : layout.row(label, record: record, smoothing: smoothing))
                rows += 1
            }
        }
        try writer.commit()
        return (records, rows, count - records)
    }

    /// A value with at most 15 significant digits, without trailing zeros (`0`, `0.4`, `0.95625`).
    public static func formatValue(_ value: Double) -> String {
        var text = String(format: "%.15g", value)
        if text.contains("e") { return text }
        if text.contains(".") { while text.hasSuffix("0") { text.removeLast() }; if text.hasSuffix(".") { text.removeLast() } }
        return text
    }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    public static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
