import ArgumentParser
import LLMKit
import Providers

/// `promptlab`: relabel speech-emotion datasets with LLMs and measure prompt versions.
@main
struct PromptLab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promptlab",
        abstract: "Relabel speech-emotion data with LLMs and measure prompt versions.",
        discussion: """
            Datasets are the project's JSONL (one item per line: id, descriptions, votes or \
            reference, optional gold) or EMO-SUPERB's CSV (',angry,...,happy,words'). See the README.
            """,
        version: "promptlab 0.1.0 (jansson \(StrictJSON.janssonVersion), \(SystemLibraries.curl))",
        subcommands: [RelabelCommand.self, ScoreCommand.self, CompareCommand.self, ImportCommand.self, ExportCommand.self, PromptsCommand.self, ProvidersCommand.self, RenderCommand.self, ParseCommand.self, InspectCommand.self]
    )
}
