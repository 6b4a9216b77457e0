import Foundation

extension EvidenceFit {
    /// A fit over a finished run's output (`promptlab fit`).
    public struct RunFit: Sendable {
        /// The fit.
        public var result: Result
        /// The run's header, as read.
        public var fingerprint: RunFingerprint
        /// Relabeled items with evidence and a gold (they took part), and the items left out.
        public var fitted: Int
        /// Items left out: without evidence, failed, without a gold.
        public var noEvidence: Int
        /// See ``noEvidence``.
        public var failed: Int
        /// See ``noEvidence``.
        public var withoutGold: Int
    }

    /// Fits the mix of the `logprob` or `lexicon` run in `path` to the gold of `dataset`'s
    /// items (see ``fit(_:folds:preservesTies:weights:temperatures:)``) and, when `output` is
    /// given, writes the run re-mixed with the fitted values: the same header whose method
    /// parameters carry the fitted `weight`, `evidence_temperature` and `preserve_ties` and a
    /// `fitted` object (folds, cross-validated figures, the gold file and its SHA-256), and each
    /// line with evidence re-mixed (others copied). The output is written whole or not at all.
    ///
    /// Errors name the file and line: a line without `evidence` (a run made before lines
    /// recorded it, or by another method), a run of another dataset, fewer items than folds.
    public static func fit(run path: String, dataset: ScoringDataset, gold: String, folds: Int = 5, preservesTies: Bool = false,
                           output: String? = nil) throws(DatasetError) -> RunFit {
        let reader = try LineReader(path: path)
        var header: JournalHeader?
        var records: [RelabeledRecord] = []
        var samples: [Sample] = []
        var counts = (noEvidence: 0, failed: 0, withoutGold: 0)
        while let line = try reader.nextLine() {
            if line.isEmpty { continue }
            if JournalHeader.isHeader(line) {
                guard let h = JournalHeader(line: line) else { throw DatasetError(file: path, line: reader.lineNumber, reason: "not a readable journal header") }
                guard h.fingerprint.method == MethodID.logprob.name || h.fingerprint.method == MethodID.lexicon.name else {
                    throw DatasetError(file: path, line: reader.lineNumber, field: "method",
                                       reason: "the run's method is \(h.fingerprint.method); fit re-mixes the evidence of a logprob or lexicon run")
                }
                header = h
                continue
            }
            let record = try RelabeledRecord.parse(line: line, file: path, line: reader.lineNumber)
            records.append(record)
            guard let relabel = record.outcome.relabel else { counts.failed += 1; continue }
            if relabel.noEvidence { counts.noEvidence += 1; continue }
            guard let evidence = relabel.evidence else {
                throw DatasetError(file: path, line: reader.lineNumber, field: "evidence",
                                   reason: "missing: fit needs a logprob or lexicon run whose lines record their evidence (rerun it with this version)")
            }
            guard let position = dataset.index(of: record.id) else {
                throw DatasetError(file: path, line: reader.lineNumber, field: "id", reason: "'\(record.id)' is not in the dataset \(dataset.path)")
            }
            guard let goldValue = dataset.items[position].gold else { counts.withoutGold += 1; continue }
            samples.append(Sample(id: record.id, reference: record.reference, evidence: evidence, gold: goldValue))
        }
        guard let fingerprint = header?.fingerprint else { throw DatasetError(file: path, reason: "no journal header: not an output of promptlab relabel") }
        guard samples.count >= max(2, folds) else {
            throw DatasetError(file: path, reason: "\(samples.count) items have evidence and a gold in \(gold); a \(folds)-fold fit needs at least \(max(2, folds))")
        }
        let result = fit(samples, folds: folds, preservesTies: preservesTies)
        if let output {
            var fitted = fingerprint
            var parameters = JSONObject()
            if case .object(let old) = fingerprint.methodParameters {
                for (key, value) in old where !["weight", "evidence_temperature", "preserve_ties", "fitted"].contains(key) { parameters[key] = value }
            }
            for (key, value) in result.mix.parameters { parameters[key] = value }
            var fit = result.json.objectValue ?? JSONObject()
            fit["gold"] = .string(gold)
            fit["gold_sha256"] = .string(try DatasetScan.hash(gold))
            parameters["fitted"] = .object(fit)
            fitted.methodParameters = .object(parameters)
            let writer = try AtomicFileWriter(path: output)
            try writer.writeLine(RelabelJournal.headerLine(fitted, differences: header?.forcedDifferences ?? []).description)
            let mix = result.mix
            for var record in records {
                if var relabel = record.outcome.relabel, !relabel.noEvidence, let evidence = relabel.evidence {
                    relabel.adjusted = mix.apply(reference: record.reference, evidence: evidence)
                    relabel.raw = relabel.adjusted.values
                    record.outcome = .relabeled(relabel)
                }
                try writer.writeLine(record.jsonLine)
            }
            try writer.commit()
        }
        return RunFit(result: result, fingerprint: fingerprint, fitted: samples.count, noEvidence: counts.noEvidence, failed: counts.failed,
                      withoutGold: counts.withoutGold)
    }
}
