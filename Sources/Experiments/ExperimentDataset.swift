import Foundation
import LLMKit

/// A dataset of the experiment as its cells read it: a file the relabel run opens, its format
/// and limit, and the hash of its bytes.
struct OpenedDataset: Sendable {
    var path: String
    var format: DatasetFormat?
    /// The lab's column mapping the file is read by, if any.
    var mapping: ColumnMapping?
    var limit: Int?
    var sha256: String
}

extension ExperimentFile {
    /// Where every cell, the plan, the status and the report open `dataset`: the one place
    /// that turns an entry of the file into a readable dataset. Checks before anything is read
    /// or sent: the dataset file and the gold file are readable regular files, and a mapped
    /// table's header has every column the mapping names. A seeded sample is written once to
    /// `output/datasets/` (project JSONL lines kept in file order; the same seed gives the same
    /// file). `hash: false` skips hashing (the plan needs no fingerprint). A problem is one line
    /// with the entry's line and key in front of the dataset's own cause (``datasetProblem(_:_:opened:field:)``).
    func open(_ dataset: Dataset, hash: Bool = true) throws(ExperimentError) -> OpenedDataset {
        if dataset.mapping != nil, dataset.sample != nil {
            throw ExperimentError(file: path, line: dataset.lines["sample"] ?? dataset.line, key: "\(key(of: dataset)).sample",
                                  "a seeded sample needs a dataset without a column mapping (convert the table once with 'promptlab import --mapping'), or use limit")
        }
        do {
            try FileChecks.requireRegularFile(dataset.path, role: "dataset")
            if let gold = dataset.gold { try FileChecks.requireRegularFile(gold, role: "gold file") }
            if let mapping = dataset.mapping {
                do { _ = try DatasetReader(path: dataset.path, format: dataset.format, mapping: mapping, policy: sampling.policy) } catch {
                    // A column the mapping names and the header lacks is the mapping's fault; an
                    // empty or unreadable file is the path's.
                    let field = error.field == nil ? "path" : "mapping"
                    throw datasetProblem(dataset, error, field: field) ?? ExperimentError(file: path, line: dataset.line, key: key(of: dataset), "\(error)")
                }
            }
            guard let sample = dataset.sample else {
                return OpenedDataset(path: dataset.path, format: dataset.format, mapping: dataset.mapping, limit: dataset.limit,
                                     sha256: hash ? try DatasetScan.hash(dataset.path) : "")
            }
            let out = "\(output)/datasets/\(dataset.name).sample-\(sample.size)-seed\(sample.seed).jsonl"
            guard (dataset.format ?? DatasetFormat.detect(path: dataset.path)) == .jsonl else {
                throw ExperimentError(file: path, line: dataset.lines["sample"] ?? dataset.line, key: "\(key(of: dataset)).sample",
                                      "a seeded sample needs a JSONL dataset (convert a CSV with 'promptlab import'), or use limit")
            }
            let sampled: String
            do { sampled = try Dataset.sample(path: dataset.path, size: sample.size, seed: sample.seed) } catch {
                throw ExperimentError(file: path, line: dataset.lines["path"] ?? dataset.line, key: "\(key(of: dataset)).path",
                                      "cannot read \(dataset.path) to sample it (\(error.localizedDescription))")
            }
            if (try? String(contentsOfFile: out, encoding: .utf8)) != sampled {
                do {
                    try FileManager.default.createDirectory(atPath: "\(output)/datasets", withIntermediateDirectories: true)
                    try AtomicFileWriter.write(sampled, to: out)
                } catch {
                    let cause = (error as? DatasetError)?.reason ?? error.localizedDescription
                    throw ExperimentError(file: path, line: dataset.lines["sample"] ?? dataset.line, key: "\(key(of: dataset)).sample",
                                          "cannot write the sample to \(out) (\(cause))")
                }
            }
            return OpenedDataset(path: out, format: .jsonl, mapping: nil, limit: nil, sha256: hash ? try DatasetScan.hash(out) : "")
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw datasetProblem(dataset, error) ?? ExperimentError(file: path, line: dataset.line, key: "\(key(of: dataset)).path", "\(error)")
        }
    }

    /// `datasets[i]`: the entry's key in the file.
    func key(of dataset: Dataset) -> String { "datasets[\(datasets.firstIndex { $0.name == dataset.name } ?? 0)]" }

    /// A problem reading `dataset` (its file, its gold file, or the sample written from it)
    /// as one line: the experiment file, the line and key of the entry's value at fault
    /// (`path`, `gold`, or `field`), then the dataset's own `file:line:column: cause`; `nil`
    /// for any other error (a cell's journal, a provider).
    func datasetProblem(_ dataset: Dataset, _ error: any Error, opened: OpenedDataset? = nil, field: String? = nil) -> ExperimentError? {
        guard let problem = error as? DatasetError, [dataset.path, dataset.gold, opened?.path].contains(problem.file) else { return nil }
        let which = field ?? (problem.file == dataset.gold ? "gold" : "path")
        return ExperimentError(file: path, line: dataset.lines[which] ?? dataset.line, key: "\(key(of: dataset)).\(which)", problem.description)
    }

    /// Runs `body`, which reads `dataset`, with its problems worded by ``datasetProblem(_:_:opened:field:)``.
    func reading<T>(_ dataset: Dataset, opened: OpenedDataset? = nil, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw datasetProblem(dataset, error, opened: opened) ?? error }
    }
}

extension ExperimentFile.Dataset {
    /// `size` lines of a JSONL dataset chosen by a seeded shuffle of their positions, in file order.
    static func sample(path: String, size: Int, seed: Int) throws -> String {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        var generator = SplitMix64(seed: UInt64(bitPattern: Int64(seed)))
        var positions = Array(lines.indices)
        positions.shuffle(using: &generator)
        let chosen = positions.prefix(size).sorted()
        return chosen.map { String(lines[$0]) }.joined(separator: "\n") + "\n"
    }
}

