/// What a dataset or output file holds: counted in one streaming pass, for `promptlab inspect`.
package struct FileSummary: Sendable, Equatable {
    /// What kind of file it is.
    package enum Kind: String, Sendable {
        /// Items to relabel (project JSONL or EMO-SUPERB input CSV).
        case dataset
        /// Relabeled outputs (project JSONL with `status`, or EMO-SUPERB CSV with `reason`).
        case relabeled
        /// Labels only: EMO-SUPERB's 8-column CSV without a text column (`promptlab export`).
        case labels
    }

    package var kind: Kind
    package var format: DatasetFormat
    package var rows = 0
    /// Items with at least one description (datasets).
    package var withDescriptions = 0
    /// Items with a gold distribution (datasets).
    package var withGold = 0
    /// References whose maximum is shared by two or more classes (1e-9 tie rule).
    package var tiedReferences = 0
    /// Relabeled rows (relabeled files).
    package var relabeled = 0
    /// Failed rows by failure kind (relabeled files).
    package var failedByKind: [ItemFailure.Kind: Int] = [:]
    /// Rows whose sum was off by more than the tolerance (flagged and renormalised).
    package var sumOff = 0
    /// The column mapping the file was read by: the one given, or the one proposed for a
    /// table in a layout of its own (``proposed``).
    package var mapping: ColumnMapping?
    /// Whether ``mapping`` was proposed by looking at the file (not given).
    package var proposed = false

    /// Reads `path` once. Relabeled files are recognised by a `reason` CSV column or a `status` key on the first JSONL line.
    /// With a `mapping` the file is read as the lab's table it describes. Without one, a table
    /// in a layout of its own (not EMO-SUPERB's CSV, not the project JSONL) is read by the
    /// mapping ``ColumnMapping/propose(path:format:policy:)`` proposes, returned in ``mapping``.
    package static func inspect(path: String, format: DatasetFormat? = nil, mapping: ColumnMapping? = nil,
                                policy: RenormalizationPolicy = .default) throws(DatasetError) -> FileSummary {
        if let mapping { return try dataset(path: path, format: format, mapping: mapping, policy: policy) }
        if format == nil, ColumnMapping.tableFormat(path: path) == .tsv { return try proposing(path: path, format: .tsv, policy: policy) }
        guard let format = format ?? DatasetFormat.detect(path: path) else {
            throw DatasetError(file: path, reason: "cannot tell the format from the extension; name it (jsonl or csv)")
        }
        switch format {
        case .emoSuperbCSV:
            let probe: EmoSuperbCSVReader
            do { probe = try EmoSuperbCSVReader(path: path) } catch where error.line == 1 {
                return try proposing(path: path, format: .csv, policy: policy, original: error)
            }
            if probe.textColumn == "reason" || probe.textColumn == nil {
                var summary = FileSummary(kind: probe.textColumn == nil ? .labels : .relabeled, format: format)
                while let row = try probe.nextRow() {
                    summary.rows += 1
                    do {
                        let normalized = try EmotionDistribution.normalizing(row.values, policy: policy)
                        summary.relabeled += 1
                        if normalized.sumWasOff { summary.sumOff += 1 }
                    } catch {
                        summary.failedByKind[ChunkAnswerParser.failure(for: error).kind, default: 0] += 1
                    }
                }
                return summary
            }
        case .jsonl:
            let lines = try LineReader(path: path)
            while let line = try lines.nextLine() {
                if line.trimmingWhitespace().isEmpty { continue }
                if JournalHeader.isHeader(line) { return try relabeledJSONL(path: path, policy: policy) }
                if case .object(let o)? = try? StrictJSON.parse(line), o["status"] != nil {
                    return try relabeledJSONL(path: path, policy: policy)
                }
                if case .object(let o)? = try? StrictJSON.parse(line), o["reference"] == nil, o["votes"] == nil,
                   o.keys.contains(where: { Emotion(anyName: $0) != nil }) {
                    return try proposing(path: path, format: .jsonl, policy: policy)
                }
                break
            }
        }
        return try dataset(path: path, format: format, mapping: nil, policy: policy)
    }

    /// A table of the lab's own layout, read by the mapping proposed for it. An export's table
    /// (its last columns are reason, method, prompt) counts as labels.
    private static func proposing(path: String, format: ColumnMapping.TableFormat, policy: RenormalizationPolicy,
                                  original: DatasetError? = nil) throws(DatasetError) -> FileSummary {
        guard let proposal = try ColumnMapping.propose(path: path, format: format, policy: policy) else {
            throw original ?? DatasetError(file: path, line: 1, reason: "no column is named as an emotion (accepted, any case: \(Emotion.acceptedNames)); give a column mapping (--id-column, --emotion-columns, ...)")
        }
        var summary = try dataset(path: path, format: nil, mapping: proposal.mapping, policy: policy)
        summary.proposed = true
        if proposal.isExport { summary.kind = .labels; summary.relabeled = summary.rows }
        return summary
    }

    private static func dataset(path: String, format: DatasetFormat?, mapping: ColumnMapping?, policy: RenormalizationPolicy) throws(DatasetError) -> FileSummary {
        let reader = try DatasetReader(path: path, format: format, mapping: mapping, policy: policy)
        var summary = FileSummary(kind: .dataset, format: reader.format, mapping: mapping)
        while let item = try reader.next() {
            summary.rows += 1
            if !item.descriptions.isEmpty { summary.withDescriptions += 1 }
            if item.gold != nil { summary.withGold += 1 }
            if item.reference.argmaxSet.count > 1 { summary.tiedReferences += 1 }
        }
        return summary
    }

    private static func relabeledJSONL(path: String, policy: RenormalizationPolicy) throws(DatasetError) -> FileSummary {
        var summary = FileSummary(kind: .relabeled, format: .jsonl)
        let reader = try RelabeledRecordReader(path: path, policy: policy)
        while let record = try reader.next() {
            summary.rows += 1
            if record.reference.argmaxSet.count > 1 { summary.tiedReferences += 1 }
            switch record.outcome {
            case .relabeled(let r):
                summary.relabeled += 1
                if r.sumWasOff { summary.sumOff += 1 }
            case .failed(let f):
                summary.failedByKind[f.kind, default: 0] += 1
            }
        }
        return summary
    }
}
