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

    /// Reads `path` once. Relabeled files are recognised by a `reason` CSV column or a `status` key on the first JSONL line.
    package static func inspect(path: String, format: DatasetFormat? = nil, policy: RenormalizationPolicy = .default) throws(DatasetError) -> FileSummary {
        guard let format = format ?? DatasetFormat.detect(path: path) else {
            throw DatasetError(file: path, reason: "cannot tell the format from the extension; name it (jsonl or csv)")
        }
        switch format {
        case .emoSuperbCSV:
            let probe = try EmoSuperbCSVReader(path: path)
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
                break
            }
        }
        var summary = FileSummary(kind: .dataset, format: format)
        let reader = try DatasetReader(path: path, format: format, policy: policy)
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
