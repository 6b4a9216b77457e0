import ArgumentParser
import LLMKit
import Providers

/// `promptlab providers`: lists registered providers.
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "providers", abstract: "List the registered providers.")

    func run() throws {
        let rows = PromptLabCLI.registry.all.map { entry -> [String] in
            let f = entry.features
            return [entry.name, f?.structuredOutput ?? "?", f.map { $0.logProbabilities ? "yes" : "no" } ?? "?", f.map { $0.batchAPI ?? "no" } ?? "?",
                    f?.slots ?? "?", entry.summary]
        }
        print(Table.render(header: ["provider", "structured output", "logprobs", "batch API", "slots", "summary"], rows: rows))
    }
}
