import ArgumentParser
import LLMKit
import Providers

/// `promptlab providers`: lists registered providers.
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "providers", abstract: "List the registered providers.")

    func run() throws {
        print(Table.render(header: ["provider", "summary"], rows: PromptLabCLI.registry.all.map { [$0.name, $0.summary] }))
    }
}
