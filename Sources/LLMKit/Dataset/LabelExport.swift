import Foundation

/// Writes relabeled outputs as the 8-column CSV that SER training recipes read (EMO-SUPERB's
/// order and layout: `,angry,sad,disgust,contempt,fear,neutral,surprise,happy`, the id first),
/// optionally label-smoothed `y' = (1 - eps) * y + eps / 8` (REFERENCE.md section 3; the paper
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

    /// The header row.
    public static let header = "," + Emotion.allCases.map(\.name).joined(separator: ",")

    /// The CSV rows (without the header) for one record.
    public static func rows(for record: RelabeledRecord, variant: Variant, smoothing: Double) -> [String] {
        func row(_ id: String, _ d: EmotionDistribution) -> String {
            // 15 significant digits: exact for every value a double holds to that precision, and
            // free of binary noise (0.95 + 0.00625 is written 0.95625, not 0.9562499999999999).
            let values = (smoothing > 0 ? d.smoothed(smoothing) : d).values.map { formatValue($0) }
            return csvField(id) + "," + values.joined(separator: ",")
        }
        let adjusted = record.outcome.relabel?.adjusted
        switch variant {
        case .llm: return adjusted.map { [row(record.id, $0)] } ?? []
        case .replace: return [row(record.id, adjusted ?? record.reference)]
        case .add: return [row(record.id, record.reference)] + (adjusted.map { [row(record.id + "@llm", $0)] } ?? [])
        case .reference: return [row(record.id, record.reference)]
        }
    }

    /// Streams `input` (relabeled JSONL) to `output` (CSV, written atomically). An id with
    /// several lines (a run interrupted after asking failed items again) is written once, from
    /// its last line, as scoring and `--resume` read it. Returns the records written, the rows,
    /// and the earlier lines left out.
    public static func export(input: String, output: String, variant: Variant, smoothing: Double) throws(DatasetError) -> (records: Int, rows: Int, superseded: Int) {
        try FileChecks.requireDistinct(output: output, from: [input])
        // First pass: the last line of each id (ids only; the records are read in the second).
        var last: [String: Int] = [:]
        var count = 0
        let scan = try RelabeledRecordReader(path: input)
        while let record = try scan.next() {
            last[record.id] = count
            count += 1
        }
        let reader = try RelabeledRecordReader(path: input)
        try FileChecks.createFolder(for: output)
        let writer = try AtomicFileWriter(path: output)
        try writer.writeLine(header)
        var records = 0, rows = 0, index = 0
        while let record = try reader.next() {
            defer { index += 1 }
            guard last[record.id] == index else { continue }
            records += 1
            for line in Self.rows(for: record, variant: variant, smoothing: smoothing) {
                try writer.writeLine(line)
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
