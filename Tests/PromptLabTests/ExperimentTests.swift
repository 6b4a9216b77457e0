import Experiments
import Foundation
import LLMKit
import Providers
import Synchronization
import Testing
import TestSupport

/// Experiment files read by the library: errors with file:line:key, keys refused, the grid and
/// its filters, ensembles, the shared concurrency budget per endpoint.
@Suite struct ExperimentFileTests {
    static let sample = CLI.repository.appendingPathComponent("fixtures/sample/sample.jsonl").path

    /// Writes `yaml` to a fresh folder and loads it.
    static func load(_ yaml: String) throws -> ExperimentFile {
        let dir = try ResumeCLITests.directory()
        let path = dir.appendingPathComponent("experiment.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try ExperimentFile.load(path, library: PromptLibrary(directories: []), output: dir.appendingPathComponent("out").path)
    }

    static func failure(_ yaml: String) -> String {
        do {
            _ = try load(yaml)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    static func minimal(_ extra: String = "", model: String = "  - {name: m, provider: fixture}") -> String {
        "datasets:\n  - path: \(sample)\nmodels:\n\(model)\n" + extra
    }

    @Test func problemsAreOneLineWithFileLineAndKey() {
        let unknown = Self.failure(Self.minimal("colour: blue\n"))
        #expect(unknown.contains("experiment.yaml:5: colour: unknown key"), "\(unknown)")
        let badMethod = Self.failure(Self.minimal("methods:\n  - adjust\n  - name: vote\n"))
        #expect(badMethod.contains("experiment.yaml:7: methods[1].name: unknown method 'vote'"), "\(badMethod)")
        let badRepeat = Self.failure(Self.minimal("repeats: {count: 2, seeds: [1, 2, 3]}\n"))
        #expect(badRepeat.contains("experiment.yaml:5: repeats.count: 2 runs but 3 seeds"), "\(badRepeat)")
        let badPrompt = Self.failure(Self.minimal("prompts: [paper-reason, no-such-version]\n"))
        #expect(badPrompt.contains("experiment.yaml:5: prompts[1]:"), "\(badPrompt)")
        let notYAML = Self.failure("datasets: [\n  - a\n")
        #expect(notYAML.contains("experiment.yaml:") && notYAML.contains("not YAML"), "\(notYAML)")
        #expect(!unknown.contains("\n") && !badMethod.contains("\n"))
    }

    @Test func aKeyWrittenInTheFileIsRefusedNamingItsLine() {
        let named = Self.failure(Self.minimal(model: "  - name: m\n    provider: openai\n    api_key: whatever-it-is"))
        #expect(named.contains("experiment.yaml:6: api_key: a key does not go in the experiment file"), "\(named)")
        let inVariable = Self.failure(Self.minimal(model: "  - name: m\n    provider: openai\n    api_key_env: sk-proj-abcdefghijklmnop1234567890"))
        #expect(inVariable.contains("experiment.yaml:6: api_key_env: this looks like a key"), "\(inVariable)")
        let anywhere = Self.failure(Self.minimal(model: "  - name: m\n    provider: openai\n    model: AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"))
        #expect(anywhere.contains("experiment.yaml:6: model: this looks like a key"), "\(anywhere)")
        let lowercaseVariable = Self.failure(Self.minimal(model: "  - name: m\n    provider: openai\n    api_key_env: my key"))
        #expect(lowercaseVariable.contains("experiment.yaml:6: models[0].api_key_env: must be the NAME"), "\(lowercaseVariable)")
        #expect(Self.failure(Self.minimal(model: "  - name: m\n    provider: openai\n    api_key_env: OPENAI_API_KEY")) == "loaded")
    }

    @Test func aMissingKeyVariableOrAnUnmatchedEnsembleIsRefusedBeforeAnythingRuns() async throws {
        let e = try Self.load(Self.minimal(model: "  - {name: m, provider: openai, model: x, api_key_env: LLMKIT_TEST_NO_SUCH_KEY}"))
        let runner = ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" })
        await #expect { _ = try await runner.run() } throws: { error in
            "\(error)".contains("experiment.yaml:4: api_key_env: the environment variable LLMKIT_TEST_NO_SUCH_KEY is not set")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(e.output)/manifest.json"), "nothing started")
        let unmatched = Self.failure(Self.minimal("ensembles:\n  - {name: e, members: [nothing.*]}\n"))
        #expect(unmatched.contains("experiment.yaml:6: ensembles.members: 'nothing.*' matches no cell"), "\(unmatched)")
    }

    @Test func theGridLeavesOutFilteredCells() throws {
        let lexicon = try ResumeCLITests.directory().appendingPathComponent("words.tsv").path
        try "happy\thappy\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let e = try Self.load("""
            datasets:
              - {name: s, path: \(Self.sample)}
            methods:
              - adjust
              - logprob
              - {name: lexicon, lexicon: \(lexicon)}
            prompts: [paper-reason, small-model]
            models:
              - {name: a, provider: fixture}
              - {name: b, provider: fixture, logprobs: false}
            repeats: 2
            exclude:
              - {method: adjust, prompt: small-model, model: b}
            """)
        let ids = e.cells.map(\.id)
        #expect(ids.contains("s.adjust.paper-reason.a.r2") && ids.contains("s.adjust.small-model.a.r1"))
        #expect(!ids.contains("s.adjust.small-model.b.r1"), "left out by the filter")
        #expect(!ids.contains { $0.hasPrefix("s.logprob.") && $0.contains(".b.") }, "b has no log-probabilities")
        #expect(ids.filter { $0.hasPrefix("s.lexicon.") } == ["s.lexicon.words.none.r1"], "lexicon: no prompt, no model, one run")
        #expect(ids.count == 3 * 2 + 2 * 2 + 1)
        let native = try Self.load("datasets:\n  - path: \(Self.sample)\nmethods: [adjust, logprob]\nmodels:\n  - {name: c, provider: anthropic, model: x, api_key_env: K}\n")
        #expect(!native.cells.isEmpty && native.cells.allSatisfy { $0.method.id == .adjust }, "Anthropic gives no log-probabilities: no logprob cells by default")
    }

    @Test func aLabTableIsReadThroughItsColumnMappingAndItsColumnsTravel() async throws {
        let dir = try ResumeCLITests.directory()
        let table = dir.appendingPathComponent("lab.csv").path
        try "utterance_id,speaker,Happiness,Anger,notes\nu1,s1,2,1,furious;angry\nu2,s2,3,0,glad\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let lexicon = dir.appendingPathComponent("words.tsv").path
        try "furious\tangry\nglad\thappy\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let e = try Self.load("""
            datasets:
              - name: lab
                path: \(table)
                mapping: {id: utterance_id, emotions: {Happiness: happy, Anger: angry}, descriptions: notes, separator: ";", keep: [speaker]}
            methods:
              - {name: lexicon, lexicon: \(lexicon)}
            models: [{name: m, provider: fixture}]
            """)
        #expect(e.datasets[0].mapping?.emotionColumns.map(\.column) == ["Happiness", "Anger"], "the file's order, not sorted")
        let outcomes = try await ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" }).run()
        #expect(outcomes.count == 1 && outcomes[0].failure == nil, "\(outcomes)")
        let journal = try String(contentsOfFile: e.cells[0].journal(in: e.output), encoding: .utf8)
        let lines = journal.split(separator: "\n").filter { $0.contains("\"status\"") }
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains("\"u1\"") && $0.contains("\"speaker\":\"s1\"") }, "\(journal)")
        #expect(journal.contains("\"utterance_id\""), "the mapping is in the journal's fingerprint")
        // The lexicon's bytes are part of the cell's settings: an edited lexicon re-runs the cell.
        let again = try await ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" }).run()
        #expect(again.map(\.reuse) == ["reused"])
        try "furious\tangry\nglad\tsad\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let edited = try await ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" }).run()
        #expect(edited.map(\.reuse) == ["changed"] && edited[0].state == "done", "\(edited)")
        let typo = Self.failure("""
            datasets:
              - path: \(table)
                mapping: {id: utterance_id, emotions: {Happiness: happy}, seperator: ";"}
            models: [{name: m, provider: fixture}]
            """)
        #expect(typo.contains("experiment.yaml:3:") && typo.contains("seperator") && typo.contains("unknown key"), "\(typo)")
        let bad = Self.failure("""
            datasets:
              - path: \(table)
                mapping: {id: utterance_id, emotions: {Happiness: happy, Joy: happy}}
            models: [{name: m, provider: fixture}]
            """)
        #expect(bad.contains("experiment.yaml:3: datasets[0].mapping:"), "\(bad)")
    }
}

extension ExperimentFileTests {
    @Test func aDatasetsProblemNamesTheExperimentFilesLineAndKeyThenItsOwnCause() async throws {
        let dir = try ResumeCLITests.directory()
        let table = dir.appendingPathComponent("lab.csv").path
        try "utterance_id,Happiness,Anger,notes\nu1,2,1,glad\nu2,3,x,sad\n".write(toFile: table, atomically: true, encoding: .utf8)
        let lexicon = dir.appendingPathComponent("words.tsv").path
        try "glad\thappy\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        func experiment(_ entry: String) throws -> ExperimentFile {
            let file = dir.appendingPathComponent("experiment.yaml").path
            try "datasets:\n  - name: lab\n\(entry)methods: [{name: lexicon, lexicon: \(lexicon)}]\nmodels: [{name: m, provider: fixture}]\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            return try ExperimentFile.load(file, library: PromptLibrary(directories: []), output: dir.appendingPathComponent("out-\(UUID().uuidString)").path)
        }
        func planFailure(_ e: ExperimentFile) async -> String {
            do { _ = try await e.plan(); return "planned" } catch { return "\(error)" }
        }
        let mapping = "    mapping: {id: utterance_id, emotions: {Happiness: happy, Anger: angry}, descriptions: notes"
        let missing = await planFailure(try experiment("    path: \(dir.path)/nope.csv\n"))
        #expect(missing == "\(dir.path)/experiment.yaml:3: datasets[0].path: \(dir.path)/nope.csv: cannot read the dataset (No such file or directory)")
        let noGold = await planFailure(try experiment("    path: \(table)\n    gold: gold.jsonl\n\(mapping)}\n"))
        #expect(noGold.hasPrefix("\(dir.path)/experiment.yaml:4: datasets[0].gold: \(dir.path)/gold.jsonl: cannot read the gold file"), "\(noGold)")
        let column = try experiment("    path: \(table)\n\(mapping), keep: [speaker]}\n")
        let runner = ExperimentRunner(experiment: column, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" })
        await #expect { _ = try await runner.run() } throws: { error in
            "\(error)" == "\(dir.path)/experiment.yaml:4: datasets[0].mapping: \(table):1: field 'speaker': no column 'speaker' (carried to the export) in the header; "
                + "the columns are: utterance_id, Happiness, Anger, notes"
        }
        #expect(!FileManager.default.fileExists(atPath: "\(column.output)/manifest.json"), "refused before anything ran")
        // A bad row surfaces when the cell reads it: the cell fails with the entry's line and key first.
        let row = try experiment("    path: \(table)\n\(mapping)}\n")
        let outcomes = try await ExperimentRunner(experiment: row, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" }).run()
        #expect(outcomes.first?.failure == "dataset: \(dir.path)/experiment.yaml:3: datasets[0].path: \(table):3:3: field 'Anger': 'x' is not a number",
                "\(outcomes)")
        #expect(try row.status().cells.map(\.state) == [.failed], "failed before its journal was made, not 'not started'")
    }

    @Test func anEnsembleOfALabTableCarriesItsColumnsAndMappingToTheExport() async throws {
        let dir = try ResumeCLITests.directory()
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let table = dir.appendingPathComponent("lab.csv").path
        try "utterance_id,speaker,transcript,Happiness,Anger,notes\nu1,s1,I am so mad,2,1,furious;angry\nu2,s2,what a day,3,0,glad\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let e = try Self.load("""
            datasets:
              - name: lab
                path: \(table)
                mapping: {id: utterance_id, emotions: {Happiness: happy, Anger: angry}, descriptions: notes, separator: ";", keep: [speaker, transcript]}
            models:
              - {name: m1, provider: openai, model: m, base_url: "\(server.baseURL)"}
              - {name: m2, provider: openai, model: n, base_url: "\(server.baseURL)"}
            ensembles: [{name: both, members: [lab.adjust.paper-reason.*]}]
            """)
        let outcomes = try await ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in "" },
                                                  cache: .off).run()
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.state == "done" }, "\(outcomes)")
        let csv = dir.appendingPathComponent("both.csv").path
        let written = try LabelExport.export(input: e.ensembleFile(e.ensembles[0]), output: csv, variant: .llm, smoothing: 0)
        #expect(written.rows == 2)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(rows.first?.hasPrefix("utterance_id,speaker,transcript,Happiness,Anger,") == true, "the lab's column names: \(rows)")
        #expect(rows.dropFirst().first?.hasPrefix("u1,s1,I am so mad,") == true && rows.last?.hasPrefix("u2,s2,what a day,") == true, "\(rows)")
        #expect(rows.dropFirst().allSatisfy { $0.contains(",ensemble,ensemble:both") }, "\(rows)")
    }

    @Test func anEnsembleWhoseMembersAreNoLongerAllDoneIsNotKept() async throws {
        let dir = try ResumeCLITests.directory()
        let lexicon = dir.appendingPathComponent("words.tsv").path
        try "happy\thappy\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let e = try Self.load("""
            datasets: [{name: s, path: \(Self.sample)}]
            methods:
              - adjust
              - {name: lexicon, lexicon: \(lexicon)}
            prompts: [paper-reason]
            models: [{name: m, provider: fixture}]
            ensembles: [{name: both, members: [s.adjust.paper-reason.m.r1, s.lexicon.words.none.r1]}]
            """)
        let recordings = CLI.repository.appendingPathComponent("fixtures/recordings/gemma3-270m").path
        let runner = ExperimentRunner(experiment: e, registry: BuiltinProviders.registry(), environment: [:], bundledRecordings: { _ in recordings })
        let outcomes = try await runner.run()
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.state == "done" }, "\(outcomes)")
        let file = e.ensembleFile(e.ensembles[0])
        #expect(FileManager.default.fileExists(atPath: file))
        try "happy\tnot-an-emotion\n".write(toFile: lexicon, atomically: true, encoding: .utf8)
        let again = try await runner.run()
        #expect(again.contains { $0.state == "failed" }, "\(again)")
        #expect(!FileManager.default.fileExists(atPath: file), "the old ensemble is out of date")
    }
}

@Suite struct EnsemblerTests {
    static func item(_ id: String, _ values: [Double]?, gold: [Double]? = nil) -> ScoredItem {
        let reference = EmotionDistribution(oneHot: .neutral)
        return ScoredItem(id: id, descriptions: [], reference: reference, gold: gold.map { try! EmotionDistribution.normalizing($0).distribution },
                          adjusted: values.map { try! EmotionDistribution.normalizing($0).distribution }, failure: values == nil ? "not_json" : nil)
    }

    static let a = [0.5, 0.5, 0, 0, 0, 0, 0, 0.0], b = [0, 1.0, 0, 0, 0, 0, 0, 0], c = [0, 0, 0, 0, 0, 1.0, 0, 0]

    @Test func anItemAMemberFailedIsCombinedFromTheOthersAndCounted() throws {
        let columns = [(cell: "x", items: [Self.item("1", Self.a), Self.item("2", nil)]),
                       (cell: "y", items: [Self.item("1", Self.b), Self.item("2", Self.b)])]
        let result = try Ensembler(name: "e", rule: .mean).combine(columns)
        #expect(result.partial == 1 && result.failed == 0)
        #expect(result.records[0].outcome.relabel!.adjusted.values[0] == 0.25)
        #expect(result.records[0].outcome.relabel!.adjusted.values[1] == 0.75)
        #expect(result.records[1].outcome.relabel!.adjusted == (try EmotionDistribution.normalizing(Self.b).distribution), "from y alone")
        #expect(result.records[1].outcome.relabel!.reason!.contains("1 of 2 members (failed: x)"))
        let none = try Ensembler(name: "e", rule: .mean).combine([(cell: "x", items: [Self.item("1", nil)]), (cell: "y", items: [Self.item("1", nil)])])
        #expect(none.failed == 1 && none.records[0].outcome.failure?.kind == .notJSON)
    }

    @Test func agreementWeightsFollowTheDocumentedRule() throws {
        let columns = [(cell: "x", items: [Self.item("1", Self.a)]), (cell: "y", items: [Self.item("1", Self.b)]), (cell: "z", items: [Self.item("1", Self.c)])]
        let result = try Ensembler(name: "e", rule: .agreement).combine(columns)
        let dist = { (v: [Double]) in try! EmotionDistribution.normalizing(v).distribution }
        // Independently: 1 − JS distance to the plain mean of the other two, normalised.
        let raw = [1 - dist(Self.a).jsDistance(to: dist([0, 0.5, 0, 0, 0, 0.5, 0, 0])),
                   1 - dist(Self.b).jsDistance(to: dist([0.25, 0.25, 0, 0, 0, 0.5, 0, 0])),
                   1 - dist(Self.c).jsDistance(to: dist([0.25, 0.75, 0, 0, 0, 0, 0, 0]))]
        let expected = raw.map { $0 / raw.reduce(0, +) }
        for (member, w) in zip(result.members, expected) { #expect(abs(member.weight - w) < 1e-12, "\(member.cell)") }
        #expect(result.members[0].weight > result.members[2].weight, "x agrees most with the others")
        let combined = result.records[0].outcome.relabel!.adjusted.values
        #expect(abs(combined[5] - expected[2]) < 1e-12)
    }

    @Test func goldWeightsNeedGold() {
        #expect(throws: ExperimentError.self) {
            try Ensembler(name: "e", rule: .gold).combine([(cell: "x", items: [Self.item("1", Self.a)]), (cell: "y", items: [Self.item("1", Self.b)])])
        }
    }
}

/// Cells against one endpoint share its concurrency: a provider that counts the requests in
/// flight per base URL sees at most one cell's concurrency at each.
@Suite struct ExperimentBudgetTests {
    final class Tracker: Sendable {
        let state = Mutex<(now: [String: Int], peak: [String: Int])>(([:], [:]))
        func enter(_ key: String) {
            state.withLock { s in
                s.now[key, default: 0] += 1
                s.peak[key] = max(s.peak[key] ?? 0, s.now[key]!)
            }
        }
        func leave(_ key: String) { state.withLock { $0.now[key, default: 0] -= 1 } }
    }

    struct Counting: LLMProvider {
        let id = ProviderID("counting")
        let capabilities = ProviderCapabilities(parallelSlots: 2, servedModel: "m")
        let key: String
        let tracker: Tracker
        func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
            tracker.enter(key)
            try await Task.sleep(for: .milliseconds(15))
            tracker.leave(key)
            let entries = (1...max(1, request.items.count)).map { i in
                "{\"index\":\(i),\"angry\":0,\"sad\":0,\"disgust\":0,\"contempt\":0,\"fear\":0,\"neutral\":1,\"surprise\":0,\"happy\":0,\"reason\":\"r\"}"
            }
            return CompletionResponse(text: "{\"items\":[\(entries.joined(separator: ","))]}")
        }
    }

    @Test func twoCellsAgainstOneEndpointNeverExceedItsConcurrency() async throws {
        let tracker = Tracker()
        var registry = ProviderRegistry()
        registry.register("counting", summary: "counts requests in flight") { config in Counting(key: config.baseURL ?? "none", tracker: tracker) }
        let e = try ExperimentFileTests.load("""
            datasets: [{path: \(ExperimentFileTests.sample)}]
            prompts: [paper-reason]
            repeats: 2
            models:
              - {name: one, provider: counting, base_url: "http://127.0.0.1:1", concurrency: 2}
              - {name: same, provider: counting, base_url: "http://127.0.0.1:1", concurrency: 2}
              - {name: other, provider: counting, base_url: "http://127.0.0.1:2", concurrency: 2}
            sampling: {items_per_request: 4}
            """)
        let outcomes = try await ExperimentRunner(experiment: e, registry: registry, environment: [:], bundledRecordings: { _ in "" }, cache: .off).run()
        #expect(outcomes.count == 6 && outcomes.allSatisfy { $0.state == "done" }, "\(outcomes.map { $0.failure ?? "done" })")
        let peak = tracker.state.withLock { $0.peak }
        #expect(peak["http://127.0.0.1:1"] == 2, "four cells at one endpoint: at most 2 requests at once (\(peak))")
        #expect(peak["http://127.0.0.1:2"] == 2)
    }
}
