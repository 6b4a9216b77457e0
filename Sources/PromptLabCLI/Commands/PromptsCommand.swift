import ArgumentParser
import Foundation
import LLMKit

/// `promptlab prompts`: lists prompt versions with their ids.
struct PromptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts",
        abstract: "List the prompt versions (built in, and from --prompts-dir) and their ids (name@content-hash).")

    @OptionGroup var directories: PromptDirectoryOptions

    func run() throws {
        let library = directories.library
        let versions = try library.loadAll()
        let sources = Dictionary(library.sources().map { ($0.name, $0.source) }, uniquingKeysWith: { a, _ in a })
        let rows = versions.map { v -> [String] in
            let origin = switch sources[v.name] { case .file(let url)?: url.path; default: "built-in" }
            return [v.id, String(v.chunkSize), v.asksForReason ? "yes (≤\(v.reasonLimit) chars)" : "no", origin, v.summary]
        }
        print(Table.render(header: ["version", "items/request", "reason", "from", "summary"], rows: rows))
    }
}
