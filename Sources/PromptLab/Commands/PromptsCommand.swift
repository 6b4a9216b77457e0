import ArgumentParser
import Foundation
import LLMKit

/// `promptlab prompts`: lists prompt versions with their ids.
struct PromptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts",
        abstract: "List the prompt versions and their ids (name@content-hash).")

    @OptionGroup var directories: PromptDirectoryOptions

    func run() throws {
        let library = directories.library
        let versions = try library.loadAll()
        guard !versions.isEmpty else {
            throw ValidationError("no prompt versions found in \(library.directories.map(\.path).joined(separator: ", ")); use --prompts-dir")
        }
        let rows = versions.map { [$0.id, String($0.batchSize), $0.asksForReason ? "yes" : "no", $0.summary] }
        print(Table.render(header: ["version", "batch", "reason", "summary"], rows: rows))
    }
}

/// A plain text table with left-aligned columns.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
