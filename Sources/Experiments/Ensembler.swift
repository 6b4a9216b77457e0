import Foundation
public import LLMKit

/// Combines finished cells into one relabeled file.
///
/// The rule: each member i gets a weight w_i; an item's combined distribution is
/// Σ w_i·p_i / Σ w_i over the members that relabeled it (a member that failed the item is left
/// out and the item is counted as combined from fewer members; an item every member failed
/// fails, with the first member's failure kind). Weights:
/// - `mean`: w_i = 1 for every member;
/// - `agreement`: w_i = 1 − the mean, over the items member i and at least one other member
///   relabeled, of the Jensen–Shannon distance (base 2, from 0 to 1) between p_i and the plain
///   mean of the other members' answers;
/// - `gold`: w_i = 1 − the mean, over the items with a gold distribution that member i
///   relabeled, of the Jensen–Shannon distance between p_i and the gold.
///
/// Weights are normalised to sum to 1; when every raw weight is 0 (or no item qualifies) the
/// mean is used and the header says so.
public struct Ensembler: Sendable {
    /// One member's share.
    public struct Member: Sendable {
        /// The member's cell id.
        public var cell: String
        /// Its normalised weight.
        public var weight: Double
        /// The agreement behind the weight (`nil` for `mean`).
        public var agreement: Double?
        /// Items this member relabeled.
        public var answered: Int
    }

    /// What was combined.
    public struct Result: Sendable {
        /// The members in order, with their weights.
        public var members: [Member]
        /// One record per dataset item, in dataset order.
        public var records: [RelabeledRecord]
        /// Items combined from fewer members than all.
        public var partial: Int
        /// Items no member relabeled.
        public var failed: Int
        /// Why the weights fell back to the mean, when they did.
        public var fallback: String?
    }

    /// The ensemble's name (its model and prompt in the records: `ensemble:<name>`).
    public var name: String
    /// How the members are weighed.
    public var rule: EnsembleWeights

    public init(name: String, rule: EnsembleWeights) {
        self.name = name
        self.rule = rule
    }

    /// Combines `columns` (one per member, aligned with the same dataset items).
    public func combine(_ columns: [(cell: String, items: [ScoredItem])]) throws(ExperimentError) -> Result {
        let n = columns.first?.items.count ?? 0
        let answers = columns.map { $0.items.map(\.adjusted) }
        var raw: [Double?] = Array(repeating: nil, count: columns.count)
        switch rule {
        case .mean:
            break
        case .agreement:
            for i in columns.indices {
                var distances: [Double] = []
                for item in 0..<n {
                    guard let p = answers[i][item] else { continue }
                    let others = columns.indices.compactMap { $0 == i ? nil : answers[$0][item] }
                    guard !others.isEmpty else { continue }
                    distances.append(p.jsDistance(to: Self.mean(others, weights: others.map { _ in 1 })))
                }
                raw[i] = distances.isEmpty ? nil : 1 - ExactSum.mean(distances)
            }
        case .gold:
            for i in columns.indices {
                let distances = (0..<n).compactMap { item in
                    answers[i][item].flatMap { p in columns[i].items[item].gold.map { p.jsDistance(to: $0) } }
                }
                raw[i] = distances.isEmpty ? nil : 1 - ExactSum.mean(distances)
            }
            guard raw.contains(where: { $0 != nil }) else {
                throw ExperimentError(file: name, key: "weights", "weights: gold needs gold distributions (a dataset gold file or 'gold' in the items) on items the members relabeled")
            }
        }
        var fallback: String?
        var weights = raw.map { max(0, $0 ?? 0) }
        let total = weights.reduce(0, +)
        if rule == .mean {
            weights = weights.map { _ in 1 / Double(columns.count) }
        } else if total <= 0 {
            fallback = "every member's \(rule.rawValue) was 0 or undefined: equal weights"
            weights = weights.map { _ in 1 / Double(columns.count) }
        } else {
            weights = weights.map { $0 / total }
        }
        var records: [RelabeledRecord] = []
        var partial = 0, failed = 0
        let template = columns[0].items
        for item in 0..<n {
            let answering = columns.indices.filter { answers[$0][item] != nil }
            let base = template[item]
            let outcome: ItemOutcome
            if answering.isEmpty {
                failed += 1
                let first = columns.lazy.compactMap { $0.items[item].failure }.first
                let kind = first.flatMap(ItemFailure.Kind.init(name:)) ?? .providerError
                outcome = .failed(ItemFailure(kind, "every member of the ensemble failed this item"))
            } else {
                if answering.count < columns.count { partial += 1 }
                var combined = Self.mean(answering.map { answers[$0][item]! }, weights: answering.map { weights[$0] })
                if answering.allSatisfy({ weights[$0] == 0 }) { combined = Self.mean(answering.map { answers[$0][item]! }, weights: answering.map { _ in 1 }) }
                let missing = columns.indices.filter { !answering.contains($0) }.map { columns[$0].cell }
                let reason = "ensemble \(name): \(answering.count) of \(columns.count) members" + (missing.isEmpty ? "" : " (failed: \(missing.joined(separator: ", ")))")
                outcome = .relabeled(Relabel(adjusted: combined, raw: combined.values, reason: reason, sumWasOff: false))
            }
            records.append(RelabeledRecord(id: base.id, reference: base.reference, outcome: outcome, promptVersion: "ensemble:\(name)",
                                           provider: "ensemble", model: name, method: "ensemble"))
        }
        let members = columns.indices.map { i in
            Member(cell: columns[i].cell, weight: weights[i], agreement: rule == .mean ? nil : raw[i], answered: answers[i].compactMap { $0 }.count)
        }
        return Result(members: members, records: records, partial: partial, failed: failed, fallback: fallback)
    }

    /// Σ w·p / Σ w, renormalised exactly.
    static func mean(_ distributions: [EmotionDistribution], weights: [Double]) -> EmotionDistribution {
        let total = weights.reduce(0, +)
        let values = (0..<Emotion.count).map { e in ExactSum.sum(zip(distributions, weights).map { $0.values[e] * $1 }) / total }
        return (try? EmotionDistribution.normalizing(values).distribution) ?? distributions[0]
    }

    /// The file's header: a journal header (so `score`, `export` and `--resume` checks read it)
    /// with the ensemble's members and weights, and the column mapping the members' dataset is
    /// read by (so `export` names the columns as the lab does).
    public func header(_ result: Result, datasetSHA256: String, policy: RenormalizationPolicy, mapping: ColumnMapping? = nil) -> JSONValue {
        let parameters: JSONValue = ["rule": .string(rule.rawValue), "members": .array(result.members.map { .string($0.cell) })]
        let fingerprint = RunFingerprint(datasetSHA256: datasetSHA256, prompt: "ensemble:\(name)", provider: "ensemble", model: name, baseURL: nil,
                                         chunkSize: 1, seed: nil, temperature: nil, maxTokens: nil, policy: policy, method: "ensemble",
                                         methodParameters: parameters, mapping: mapping?.json ?? .null)
        var ensemble = JSONObject()
        ensemble["name"] = .string(name)
        ensemble["rule"] = .string(rule.rawValue)
        ensemble["members"] = .array(result.members.map { m in
            ["cell": .string(m.cell), "weight": .double(m.weight), "agreement": m.agreement.map(JSONValue.double) ?? .null, "answered": .int(m.answered)]
        })
        ensemble["items"] = .int(result.records.count)
        ensemble["combined_from_fewer_members"] = .int(result.partial)
        ensemble["failed"] = .int(result.failed)
        if let fallback = result.fallback { ensemble["fallback"] = .string(fallback) }
        return ["journal": .string(RelabelJournal.formatName), "fingerprint": fingerprint.json, "ensemble": .object(ensemble)]
    }

    /// Writes the header and the records atomically.
    public func write(_ result: Result, to path: String, datasetSHA256: String, policy: RenormalizationPolicy,
                      mapping: ColumnMapping? = nil) throws(ExperimentError) {
        var text = header(result, datasetSHA256: datasetSHA256, policy: policy, mapping: mapping).description + "\n"
        for record in result.records { text += record.jsonLine + "\n" }
        do {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try AtomicFileWriter.write(text, to: path)
        } catch { throw ExperimentError(file: path, "cannot write the ensemble: \(error)") }
    }
}

extension ExperimentFile {
    /// The cells of `ensemble` (its patterns against the grid's cell ids, in grid order).
    public func members(of ensemble: Ensemble) throws(ExperimentError) -> [ExperimentCell] {
        let cells = self.cells
        for pattern in ensemble.members where !cells.contains(where: { Glob.matches(pattern, $0.id) }) {
            throw ExperimentError(file: path, line: ensemble.line, key: "ensembles.members",
                                  "'\(pattern)' matches no cell (cells: \(cells.prefix(6).map(\.id).joined(separator: ", "))\(cells.count > 6 ? ", ..." : ""))")
        }
        let members = cells.filter { cell in ensemble.members.contains { Glob.matches($0, cell.id) } }
        guard members.count >= 2 else { throw ExperimentError(file: path, line: ensemble.line, key: "ensembles.members", "an ensemble needs two or more cells, not \(members.count)") }
        guard Set(members.map(\.dataset.name)).count == 1 else {
            throw ExperimentError(file: path, line: ensemble.line, key: "ensembles.members", "an ensemble combines cells of one dataset")
        }
        return members
    }

    /// The ensemble's file in the experiment folder.
    public func ensembleFile(_ ensemble: Ensemble) -> String { "\(output)/ensembles/\(ensemble.name).jsonl" }
}

extension ExperimentRunner {
    /// Writes every ensemble whose members are all done (again each run: it is cheap and
    /// follows its members).
    func writeEnsembles(store: ManifestStore, datasets: [String: OpenedDataset], announce: @Sendable (String) -> Void) async throws {
        for ensemble in experiment.ensembles {
            let members = try experiment.members(of: ensemble)
            let manifest = await store.manifest
            let waiting = members.filter { manifest.cells[$0.id]?.state != "done" }
            guard waiting.isEmpty else {
                // An ensemble of members that are no longer all done is out of date: it goes (its
                // members' journals stay), so the report never scores it as if it were current.
                try? FileManager.default.removeItem(atPath: experiment.ensembleFile(ensemble))
                announce("ensemble \(ensemble.name): waits for \(waiting.map(\.id).joined(separator: ", "))")
                continue
            }
            let dataset = members[0].dataset
            let opened = datasets[dataset.name]!
            let policy = experiment.sampling.policy
            let folder = experiment.output
            let experiment = self.experiment
            let result = try await BlockingIOPool.shared.run { () throws -> Ensembler.Result in
                let data = try experiment.reading(dataset, opened: opened) {
                    try Scoring.loadDataset(opened.path, format: opened.format, mapping: opened.mapping, policy: policy, limit: opened.limit, gold: dataset.gold)
                }
                let columns = try members.map { (cell: $0.id, items: try Scoring.loadColumn($0.journal(in: folder), dataset: data, policy: policy).items) }
                var result = try Ensembler(name: ensemble.name, rule: ensemble.weights).combine(columns)
                // The lab's carried columns, as every member's lines carry them: the members read
                // this dataset through this mapping, and the records are in its order.
                for (i, item) in data.items.enumerated() where !item.keep.isEmpty { result.records[i].keep = item.keep }
                return result
            }
            let ensembler = Ensembler(name: ensemble.name, rule: ensemble.weights)
            try ensembler.write(result, to: experiment.ensembleFile(ensemble), datasetSHA256: opened.sha256, policy: policy, mapping: opened.mapping)
            try await store.setEnsemble(ensemble.name, ensembler.header(result, datasetSHA256: opened.sha256, policy: policy)["ensemble"] ?? .null)
            let weights = result.members.map { "\($0.cell) \(String(format: "%.3f", $0.weight))" }.joined(separator: ", ")
            announce("ensemble \(ensemble.name) (\(ensemble.weights.rawValue)): \(weights); \(result.partial) items from fewer members, \(result.failed) failed")
        }
    }
}
