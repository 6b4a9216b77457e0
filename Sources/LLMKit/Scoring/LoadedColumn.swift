/// One output file aligned with a ``ScoringDataset``: one ``ScoredItem`` per dataset item,
/// in dataset order, and what did not fit.
package struct LoadedColumn: Sendable {
    /// The output file.
    package var path: String
    /// Aligned with the dataset's items; items the file lacks are failed (`missing_from_output`).
    package var items: [ScoredItem]
    /// The prompt version ids the records name (relabeled JSONL), in order of appearance.
    package var promptIDs: [String]
    /// Records whose id the dataset lacks (ignored).
    package var extraIDs: [String]
    /// Ids with more than one record (the last record is scored), with their lines.
    package var duplicates: [(id: String, lines: [Int])]
    /// Dataset items with no record.
    package var missing: Int
    /// Problems that do not stop scoring, one sentence each, naming the file.
    package var warnings: [String]
}

extension Scoring {
    /// Reads an output file and aligns it with `dataset` by id: relabeled JSONL (read with
    /// ``RelabeledRecord/parse(line:file:line:policy:)``) or an EMO-SUPERB CSV with a reason
    /// column (``EmoSuperbCSVReader``).
    ///
    /// - No id in common with the dataset, or no record at all: an error naming both files.
    /// - A record whose reference differs from the dataset's (beyond 1e-9 after renormalising):
    ///   an error naming the id and line (the output was made from another dataset).
    /// - Ids the dataset lacks, ids with several records (the last one is scored) and dataset
    ///   items the file lacks: counted, and reported in ``LoadedColumn/warnings``.
    package static func loadColumn(_ path: String, dataset: ScoringDataset, policy: RenormalizationPolicy = .default) throws(DatasetError) -> LoadedColumn {
        var column = LoadedColumn(
            path: path,
            items: dataset.items.map { ScoredItem(id: $0.id, descriptions: $0.descriptions, reference: $0.reference, gold: $0.gold,
                                                  adjusted: nil, failure: "missing_from_output") },
            promptIDs: [], extraIDs: [], duplicates: [], missing: 0, warnings: [])
        var seenAt: [String: [Int]] = [:]
        var records = 0
        try forEachRecord(path, policy: policy) { (record: ColumnRecord) throws(DatasetError) in
            records += 1
            if let prompt = record.prompt, !column.promptIDs.contains(prompt) { column.promptIDs.append(prompt) }
            guard let i = dataset.index(of: record.id) else {
                if !dataset.idsBeyondLimit.contains(record.id) { column.extraIDs.append(record.id) }
                return
            }
            if let reference = record.reference, !reference.isWithin(0, of: dataset.items[i].reference) {
                throw DatasetError(file: path, line: record.line, field: "reference", reason: "id '\(record.id)': the reference "
                    + "differs from the dataset's (\(dataset.path), line \(dataset.lines[i])) by up to "
                    + "\(JSONSerializer.format(reference.maxAbsoluteDifference(to: dataset.items[i].reference))): this output was made from another dataset")
            }
            seenAt[record.id, default: []].append(record.line)
            record.apply(to: &column.items[i])
        }
        guard records > 0, seenAt.count > 0 else {
            throw DatasetError(file: path, reason: records == 0
                ? "holds no records to score against \(dataset.path)"
                : "has no id in common with the dataset \(dataset.path) (first id here: '\(column.extraIDs.first ?? "?")', "
                    + "first id there: '\(dataset.items.first?.id ?? "?")'): is it the output of this dataset?")
        }
        column.duplicates = seenAt.filter { $0.value.count > 1 }.map { (id: $0.key, lines: $0.value) }.sorted { $0.lines[0] < $1.lines[0] }
        column.missing = dataset.items.count - seenAt.count
        column.warnings = alignmentWarnings(column, dataset: dataset)
        return column
    }

    /// One sentence per kind of misfit.
    static func alignmentWarnings(_ column: LoadedColumn, dataset: ScoringDataset) -> [String] {
        var warnings: [String] = []
        let file = column.path
        if !column.extraIDs.isEmpty {
            let first = column.extraIDs.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
            warnings.append("\(file): \(column.extraIDs.count) records have ids that are not in the dataset \(dataset.path) and were ignored (first: \(first))")
        }
        if let first = column.duplicates.first {
            warnings.append("\(file): \(column.duplicates.count) ids have more than one record; the last record of each is scored "
                + "(first: '\(first.id)' on lines \(first.lines.map(String.init).joined(separator: ", ")))")
        }
        if column.missing > 0 {
            warnings.append("\(file): \(column.missing) of \(dataset.items.count) dataset items have no record; they count as failed (missing_from_output)")
        }
        return warnings
    }

    /// One record of an output file, whatever its format.
    struct ColumnRecord {
        var id: String
        var line: Int
        /// The reference the record carries (relabeled JSONL), renormalised.
        var reference: EmotionDistribution?
        var prompt: String?
        var adjusted: EmotionDistribution?
        var sumOff = false
        var reason: String?
        var failure: String?
        var noEvidence = false

        func apply(to item: inout ScoredItem) {
            item.noEvidence = noEvidence
            item.adjusted = adjusted
            item.sumOff = sumOff
            item.reason = reason
            item.failure = adjusted == nil ? (failure ?? "failed") : nil
        }
    }

    /// Calls `body` with every record of a relabeled JSONL file or an EMO-SUPERB reason CSV.
    static func forEachRecord(_ path: String, policy: RenormalizationPolicy, _ body: (ColumnRecord) throws(DatasetError) -> Void) throws(DatasetError) {
        if DatasetFormat.detect(path: path) == .emoSuperbCSV {
            let reader = try EmoSuperbCSVReader(path: path)
            if reader.textColumn == "words" {
                throw DatasetError(file: path, line: 1, field: "words", reason: "this is an input CSV (a 'words' column); an output CSV has a 'reason' column")
            }
            while let row = try reader.nextRow() {
                var record = ColumnRecord(id: row.id, line: row.line, reason: row.text)
                do {
                    let normalized = try EmotionDistribution.normalizing(row.values, policy: policy)
                    record.adjusted = normalized.distribution
                    record.sumOff = normalized.sumWasOff
                } catch {
                    record.failure = ChunkAnswerParser.failure(for: error).kind.name
                }
                try body(record)
            }
            return
        }
        // Journal header lines (the run's fingerprint) are skipped by the reader.
        let reader = try RelabeledRecordReader(path: path, policy: policy)
        while let parsed = try reader.next() {
            var record = ColumnRecord(id: parsed.id, line: reader.lineNumber, reference: parsed.reference, prompt: parsed.promptVersion)
            switch parsed.outcome {
            case .relabeled(let r):
                record.adjusted = r.adjusted
                record.sumOff = r.sumWasOff
                record.reason = r.reason
                record.noEvidence = r.noEvidence
            case .failed(let f):
                record.failure = f.kind.name
            }
            try body(record)
        }
    }
}
