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

extension ExperimentFile.Dataset {
    /// Where every cell, the plan, the status and the report open this dataset: the one place
    /// that turns an entry of the file into a readable dataset. A seeded sample is written once
    /// to `folder/datasets/` (project JSONL lines kept in file order; the same seed gives the
    /// same file). `hash: false` skips hashing (the plan needs no fingerprint).
    func open(in folder: String, hash: Bool = true) throws(ExperimentError) -> OpenedDataset {
        if mapping != nil, sample != nil {
            throw ExperimentError(file: path, key: "sample", "a seeded sample needs a dataset without a column mapping (convert the table once with 'promptlab import --mapping'), or use limit")
        }
        do {
            try FileChecks.requireRegularFile(path)
            guard let sample else {
                return OpenedDataset(path: path, format: format, mapping: mapping, limit: limit, sha256: hash ? try DatasetScan.hash(path) : "")
            }
            let out = "\(folder)/datasets/\(name).sample-\(sample.size)-seed\(sample.seed).jsonl"
            let sampled = try Self.sample(path: path, format: format, size: sample.size, seed: sample.seed)
            if (try? String(contentsOfFile: out, encoding: .utf8)) != sampled {
                try FileManager.default.createDirectory(atPath: "\(folder)/datasets", withIntermediateDirectories: true)
                try AtomicFileWriter.write(sampled, to: out)
            }
            return OpenedDataset(path: out, format: .jsonl, mapping: nil, limit: nil, sha256: hash ? try DatasetScan.hash(out) : "")
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw ExperimentError(file: "", "\(error)")
        }
    }

    /// `size` lines of a JSONL dataset chosen by a seeded shuffle of their positions, in file order.
    static func sample(path: String, format: DatasetFormat?, size: Int, seed: Int) throws -> String {
        guard (format ?? DatasetFormat.detect(path: path)) == .jsonl else {
            throw ExperimentError(file: path, key: "sample", "a seeded sample needs a JSONL dataset (convert a CSV with 'promptlab import'), or use limit")
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        var generator = SplitMix64(seed: UInt64(bitPattern: Int64(seed)))
        var positions = Array(lines.indices)
        positions.shuffle(using: &generator)
        let chosen = positions.prefix(size).sorted()
        return chosen.map { String(lines[$0]) }.joined(separator: "\n") + "\n"
    }
}

