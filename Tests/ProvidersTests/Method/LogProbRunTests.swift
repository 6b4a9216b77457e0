import Foundation
import LLMKit
import Testing
@testable import Providers

/// A whole `logprob` relabel run through ``RelabelRunner``, offline: the fixture provider
/// replays the real Gemma 3 270M's answers recorded from llama-server
/// (fixtures/logprob/gemma3-270m) for the bundled sample.
@Suite struct LogProbRunTests {
    static let recordings = Repo.root.appendingPathComponent("fixtures/logprob/gemma3-270m")
    static let sample = Repo.path("fixtures/sample/sample.jsonl")

    static func configuration(_ method: LogProbMethod? = nil) throws -> RelabelConfiguration {
        var configuration = RelabelConfiguration(prompt: try PromptLibrary(directories: []).resolve(LogProbMethod.defaultPromptName),
                                                 model: "gemma3-270m-q4_k_m", concurrency: 2)
        configuration.method = method ?? LogProbMethod(prompt: configuration.prompt)
        return configuration
    }

    static func sampleItems() throws -> [DatasetItem] {
        let reader = try DatasetReader(path: sample, format: nil, policy: .default)
        var items: [DatasetItem] = []
        while let item = try reader.next() { items.append(item) }
        return items
    }

    @Test func everyItemOnceWithTheMethodItsMassAndReasonFromTheRecordings() async throws {
        let out = Repo.temporaryDirectory().appendingPathComponent("run.jsonl").path
        let client = LLMClient(provider: FixtureProvider(directory: Self.recordings))
        let report = try await RelabelRunner(client: client).run(RelabelJob(dataset: Self.sample, output: out, configuration: try Self.configuration()))
        let items = try Self.sampleItems()
        let ids = items.map(\.id)
        let method = try #require(try Self.configuration().method as? LogProbMethod)
        let withText = Set(items.filter { method.promptText(for: $0) != nil }.map(\.id))
        #expect(report.summary.relabeled == ids.count && report.summary.failedByKind.isEmpty)
        #expect(report.summary.requests == withText.count + LogProbMethod.contentFreeInputs.count,
                "one request per item with descriptions, and the calibration's content-free inputs")
        #expect(withText.count >= 60 && withText.count < ids.count)

        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { try StrictJSON.parse(String($0)) }
        let records = lines.filter { $0["id"] != nil }
        #expect(records.compactMap { $0["id"]?.stringValue } == ids, "every id once, in input order")
        let header = try #require(lines.first { $0["id"] == nil })
        #expect(header.description.contains("\"method\":\"logprob\""))
        for record in records {
            #expect(record["method"] == "logprob" && record["status"] == "relabeled")
            guard withText.contains(record["id"]?.stringValue ?? "") else {
                // Nothing to read: the reference is kept, marked as no evidence.
                #expect(record["no_evidence"] == true && record["mass"] == nil && record["adjusted"] == record["reference"])
                continue
            }
            let mass = try #require(record["mass"]?.doubleValue)
            #expect(mass >= LogProbMethod.defaultMinimumMass && mass < 1)
            #expect(record["reason"]?.stringValue?.hasPrefix("calibrated next token: ") == true)
            #expect(record["evidence"]?.objectValue?.count == 8)
            #expect(record["reason"]?.stringValue?.hasSuffix("(mass \(String(format: "%.2f", mass)))") == true)
        }
        // Clear descriptions move their items toward the described emotion (calibrated: "scared",
        // "a bit sad" and "Slightly Angry" point to happy or surprise without it).
        for (id, emotion) in [("s004", "surprise"), ("s015", "fear"), ("s052", "sad"), ("s040", "angry"), ("s016", "disgust"), ("s065", "contempt")] {
            let record = try #require(records.first { $0["id"]?.stringValue == id })
            let evidence = try #require(record["evidence"]?.objectValue)
            let top = evidence.max { ($0.value.doubleValue ?? 0) < ($1.value.doubleValue ?? 0) }?.key
            #expect(top == emotion, "\(id): \(evidence)")
            let (r, e, p) = (record["reference"]?[emotion]?.doubleValue ?? 0, evidence[emotion]?.doubleValue ?? 0, record["adjusted"]?[emotion]?.doubleValue ?? 0)
            #expect(abs(p - (0.75 * r + 0.25 * e)) < 1e-9, "\(id): the answer moves a quarter of the way to the evidence")
        }
    }

    @Test func aHighThresholdFailsItemsWithLowMassAndAResumeWithAnotherMethodIsRefused() async throws {
        let out = Repo.temporaryDirectory().appendingPathComponent("run.jsonl").path
        let client = LLMClient(provider: FixtureProvider(directory: Self.recordings))
        let strict = LogProbMethod(prompt: try Self.configuration().prompt, minimumMass: 0.5)
        let report = try await RelabelRunner(client: client).run(RelabelJob(dataset: Self.sample, output: out, configuration: try Self.configuration(strict)))
        let lowMass = report.summary.failedByKind[.lowMass] ?? 0
        #expect(lowMass > 0 && report.summary.relabeled > 0 && lowMass + report.summary.relabeled == 72)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.components(separatedBy: "\"kind\":\"low_mass\"").count - 1 == lowMass)

        var adjust = try Self.configuration()
        adjust.method = nil
        await #expect { try await RelabelRunner(client: client).run(RelabelJob(dataset: Self.sample, output: out, mode: .resume(retryFailed: false, force: false),
                                                                               configuration: adjust)) } throws: { error in
            (error as? RunError)?.code == .differentRun && (error as? RunError)?.differences.contains { $0.hasPrefix("method") } == true
        }
    }

    @Test func aProviderWithoutLogprobsIsRefusedBeforeTheRun() async throws {
        struct Plain: LLMProvider {
            let id = ProviderID("plain")
            let capabilities = ProviderCapabilities()
            func complete(_ request: CompletionRequest) async throws -> CompletionResponse { CompletionResponse(text: "{}") }
        }
        let out = Repo.temporaryDirectory().appendingPathComponent("run.jsonl").path
        await #expect { try await RelabelRunner(client: LLMClient(provider: Plain())).run(RelabelJob(dataset: Self.sample, output: out,
                                                                                                      configuration: try Self.configuration())) } throws: { error in
            (error as? RunError)?.code == .configuration && (error as? RunError)?.message.contains("next-token log-probabilities") == true
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
