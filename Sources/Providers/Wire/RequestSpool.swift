import Foundation
import LLMKit

/// Where the input lines of a batch API that takes its requests inline (Anthropic's Message
/// Batches, Gemini's batch mode) wait until the batch is created: the executor's "upload"
/// writes them to `<folder>/<sha256>.jsonl` and returns `spool-<sha256>`; create reads them
/// back (a run killed in between can still create the batch after `--resume`) and removes the
/// file once the batch exists.
struct RequestSpool: Sendable {
    let folder: URL
    let provider: String

    /// `$TMPDIR/llmkit-message-batches`.
    static let defaultFolder = FileManager.default.temporaryDirectory.appendingPathComponent("llmkit-message-batches")

    /// Keeps `file`; returns its id.
    func put(_ file: [UInt8], filename: String) throws(LLMError) -> String {
        let hash = CompletionRequest.sha256Hex(String(decoding: file, as: UTF8.self))
        do {
            // The lines hold the corpus: the folder is the owner's alone.
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data(file).write(to: url(hash), options: .atomic)
        } catch {
            throw LLMError(.configuration, "Cannot keep the batch input \(filename) in \(folder.path): \(error.localizedDescription).", context: .init(provider: provider))
        }
        return "spool-\(hash)"
    }

    /// The input lines of `id`, parsed.
    func lines(_ id: String) throws(LLMError) -> [JSONValue] {
        let file = url(String(id.dropFirst("spool-".count)))
        guard id.hasPrefix("spool-"), let data = FileManager.default.contents(atPath: file.path) else {
            throw LLMError(.configuration, "The batch input \(id) is no longer in \(folder.path); run again without --resume.", context: .init(provider: provider))
        }
        var lines: [JSONValue] = []
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            guard let value = try? StrictJSON.parse(bytes: Array(line)) else {
                throw LLMError(.configuration, "The batch input \(file.path) is damaged.", context: .init(provider: provider))
            }
            lines.append(value)
        }
        return lines
    }

    /// Removes `id`'s file (its batch exists).
    func remove(_ id: String) {
        try? FileManager.default.removeItem(at: url(String(id.dropFirst("spool-".count))))
        // The folder goes with its last file.
        if (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty == true { try? FileManager.default.removeItem(at: folder) }
    }

    private func url(_ hash: String) -> URL { folder.appendingPathComponent("\(hash).jsonl") }
}
