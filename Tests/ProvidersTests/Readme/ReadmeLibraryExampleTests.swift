import Foundation
import Synchronization
import LLMKit
import Providers
import Testing

/// The library example of the DocC article "Using LLMKit as a library" (`UsingTheLibrary.md`,
/// linked from the README), line for line, with the provider swapped for the recordings of the
/// real model (`fixture`) so it runs anywhere: if the API the article shows changes, this stops
/// compiling or fails; if the article's code changes, the first test says which line.
@Suite struct ReadmeLibraryExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The lines below that are the same in the article (the others swap the provider).
    static let articleLines = [
        "let prepared = try await stack.make(registry: BuiltinProviders.registry())",
        "let prompt = try PromptLibrary(directories: []).resolve(\"paper-reason\")",
        "let configuration = RelabelConfiguration(prompt: prompt, model: prepared.model,",
        "concurrency: prepared.capabilities.parallelSlots ?? 4)",
        "mode: .resume(retryFailed: false, force: false), configuration: configuration,",
        "baseURL: prepared.baseURL)",
        "let report = try await RelabelRunner(client: prepared.client).run(job) { event in",
        "let scores = try Scoring.scoreFiles(ScoreFilesRequest(dataset: \"corpus.jsonl\", files: [report.output],",
        "prompt: prompt, library: PromptLibrary(directories: [])))",
    ]

    @Test func theArticleShowsTheCodeTestedHere() throws {
        let article = try String(contentsOf: Self.repository.appendingPathComponent("Sources/LLMKit/Docs.docc/UsingTheLibrary.md"), encoding: .utf8)
        let lines = Set(article.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for line in Self.articleLines { #expect(lines.contains(line), "UsingTheLibrary.md no longer has: \(line)") }
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("(Sources/LLMKit/Docs.docc/UsingTheLibrary.md)"))
    }

    @Test func theLibraryExampleRelabelsAndScoresTheSample() async throws {
        let dataset = Self.repository.appendingPathComponent("fixtures/sample/sample.jsonl").path
        let recordings = Self.repository.appendingPathComponent("fixtures/recordings/gemma3-270m").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString).jsonl").path
        let durable = Mutex(0)

        // From here on, the article's code ("llamacpp" and its base URL -> "fixture" and its folder;
        // print -> a count).
        let stack = ClientStack(provider: "fixture", configuration: ProviderConfiguration(options: [BuiltinProviders.fixturesOption: recordings]),
                                cache: .off)
        let prepared = try await stack.make(registry: BuiltinProviders.registry())
        let prompt = try PromptLibrary(directories: []).resolve("paper-reason")
        let configuration = RelabelConfiguration(prompt: prompt, model: prepared.model,
                                                 concurrency: prepared.capabilities.parallelSlots ?? 4)
        let job = RelabelJob(dataset: dataset, output: output,
                             mode: .resume(retryFailed: false, force: false), configuration: configuration,
                             baseURL: prepared.baseURL)
        let report = try await RelabelRunner(client: prepared.client).run(job) { event in
            if case .chunkDurable(let done) = event { durable.withLock { $0 += done.items } }
        }
        let scores = try Scoring.scoreFiles(ScoreFilesRequest(dataset: dataset, files: [report.output],
                                                              prompt: prompt, library: PromptLibrary(directories: [])))
        // End of the article's code.

        #expect(report.summary.items == 72 && report.summary.relabeled == 72 && durable.withLock { $0 } == 72)
        #expect(report.output == output)
        #expect(scores.text.contains("echo rate") && scores.columns.count == 1)
    }
}
