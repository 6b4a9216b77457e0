import Foundation
import LLMKit

/// Where each cell of an experiment stands, read from the manifest and the journals (nothing
/// is run or locked).
public struct ExperimentStatus: Sendable {
    /// One cell.
    public struct Cell: Sendable {
        public enum State: String, Sendable {
            case done, partial, notStarted = "not started", failed, stale = "settings changed"
        }
        public var id: String
        public var state: State
        /// Items with a line in the journal, relabeled and failed.
        public var lines = 0
        public var relabeled = 0
        public var failed = 0
        /// Items the cell has to relabel.
        public var items = 0
        /// The failure's kind (``State/failed``).
        public var failureKind: String?

        /// `done`, `partial 30 of 72 (28 relabeled, 2 failed)`, `failed (stopped (authentication))`.
        public var summary: String {
            switch state {
            case .done: return "done: \(relabeled) relabeled, \(failed) failed of \(items)"
            case .partial: return "partial: \(lines) of \(items) (\(relabeled) relabeled, \(failed) failed)"
            case .notStarted: return "not started"
            case .failed: return "failed (\(failureKind ?? "unknown")): \(lines) of \(items) in the journal"
            case .stale: return "settings changed since its run: runs again (\(lines) of \(items) from the old settings)"
            }
        }
    }

    public var cells: [Cell]
    /// Ensembles: name -> written or waiting.
    public var ensembles: [(name: String, written: Bool)]
    /// Whether the file changed since the manifest was written.
    public var fileChanged: Bool
}

extension ExperimentFile {
    /// Each cell's state and counts.
    public func status() throws -> ExperimentStatus {
        let manifest = try ExperimentManifest.read(folder: output)
        var datasets: [String: OpenedDataset] = [:]
        var items: [String: Int] = [:]
        for dataset in self.datasets {
            let opened = try open(dataset)
            datasets[dataset.name] = opened
            let count = try reading(dataset, opened: opened) { try DatasetReader.countItems(path: opened.path, format: opened.format, mapping: opened.mapping) }
            items[dataset.name] = min(count, opened.limit ?? .max)
        }
        var rows: [ExperimentStatus.Cell] = []
        for cell in cells {
            var row = ExperimentStatus.Cell(id: cell.id, state: .notStarted, items: items[cell.dataset.name]!)
            let journal = cell.journal(in: output)
            // A cell that failed before its journal was made (a bad row of its dataset) is failed, not "not started".
            guard let entry = manifest?.cells[cell.id], FileManager.default.fileExists(atPath: journal) || entry.state == "failed" else {
                rows.append(row)
                continue
            }
            (row.lines, row.relabeled, row.failed) = Self.count(journal, policy: sampling.policy)
            if entry.fingerprint != cell.fingerprint(self, datasetSHA256: datasets[cell.dataset.name]!.sha256) {
                row.state = .stale
            } else if entry.state == "failed" {
                row.state = .failed
                row.failureKind = entry.failureKind
            } else {
                row.state = entry.state == "done" && row.lines >= row.items ? .done : .partial
            }
            rows.append(row)
        }
        let ensembles = self.ensembles.map { ($0.name, FileManager.default.fileExists(atPath: ensembleFile($0))) }
        return ExperimentStatus(cells: rows, ensembles: ensembles, fileChanged: manifest.map { $0.fileSHA256 != sha256 } ?? false)
    }

    /// Distinct ids with a line, relabeled and failed (the last line of an id wins; a torn last
    /// line is not counted).
    static func count(_ journal: String, policy: RenormalizationPolicy) -> (Int, Int, Int) {
        guard let reader = try? RelabeledRecordReader(path: journal, policy: policy) else { return (0, 0, 0) }
        var relabeled: [String: Bool] = [:]
        while let record = try? reader.next() { relabeled[record.id] = record.outcome.relabel != nil }
        let ok = relabeled.values.filter { $0 }.count
        return (relabeled.count, ok, relabeled.count - ok)
    }
}
