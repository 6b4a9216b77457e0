import Foundation
import Synchronization
import Testing
@testable import LLMKit

/// A provider that answers each batch by a rule applied to the data points it was sent.
final class RuleProvider: LLMProvider {
    let id: ProviderID = "rule"
    let capabilities = ProviderCapabilities(constrainsOutput: true)
    /// Given the data points (1-based numbers) of a request, the answer (or an error).
    let answer: @Sendable (_ points: [String]) throws -> CompletionResponse
    let calls = Mutex<[Int]>([])

    init(answer: @escaping @Sendable (_ points: [String]) throws -> CompletionResponse) { self.answer = answer }

    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        let user = request.messages.last!.content
        let data = user.components(separatedBy: "\n").last!
        let points = data.components(separatedBy: " | ")
        calls.withLock { $0.append(points.count) }
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...5)))
        return try answer(points)
    }

    /// A valid entry for data point `index` that moves all mass to happy.
    static func entry(_ index: Int) -> String {
        "{\"index\":\(index),\"angry\":0,\"sad\":0,\"disgust\":0,\"contempt\":0,\"fear\":0,\"neutral\":0,\"surprise\":0,\"happy\":1,\"reason\":\"r\"}"
    }

    static func answer(_ indices: [Int], finish: FinishReason = .stop) -> CompletionResponse {
        CompletionResponse(text: "{\"items\":[\(indices.map(entry).joined(separator: ","))]}", finishReason: finish, usage: TokenUsage(promptTokens: 100, completionTokens: 10 * indices.count, cachedTokens: 50))
    }
}

@Suite struct RelabelPipelineTests {
    static let prompt = PromptVersion(name: "t", systemText: "sys", userTemplate: "{{count}} points:\n{{data}}")

    static func items(_ n: Int) -> [DatasetItem] {
        (1...n).map { DatasetItem(id: "u\($0)", descriptions: ["word \($0)"], reference: EmotionDistribution(oneHot: .neutral)) }
    }

    static func run(_ provider: RuleProvider, items: [DatasetItem], chunkSize: Int, concurrency: Int = 3, reask: Int = 2) async throws -> ([RelabeledRecord], RelabelSummary, [Int]) {
        let pipeline = RelabelPipeline(client: LLMClient(provider: provider), configuration: RelabelConfiguration(
            prompt: prompt, model: "m", chunkSize: chunkSize, concurrency: concurrency, reaskRounds: reask))
        var remaining = items[...]
        var records: [RelabeledRecord] = []
        var chunkOrder: [Int] = []
        let summary = try await pipeline.run(nextChunk: {
            let batch = Array(remaining.prefix(chunkSize))
            remaining = remaining.dropFirst(chunkSize)
            return batch
        }, deliver: { batch in
            chunkOrder.append(batch.index)
            records += batch.records
        })
        return (records, summary, chunkOrder)
    }

    /// A pool of mixed models: each line names the model that answered it (`answered_by`), also
    /// through re-asks; a run that does not ask for it writes what it always wrote.
    @Test(arguments: [true, false]) func theAnsweringModelIsRecordedWhenAsked(record: Bool) async throws {
        let provider = RuleProvider { points in
            // The first ask misses one entry; its re-ask is answered by another model.
            var answer = RuleProvider.answer(Array(1...(points.count == 4 ? 3 : points.count)))
            answer.model = points.count == 4 ? "big" : "small"
            return answer
        }
        var configuration = RelabelConfiguration(prompt: Self.prompt, model: "asked", chunkSize: 4)
        configuration.recordsAnsweringModel = record
        let pipeline = RelabelPipeline(client: LLMClient(provider: provider), configuration: configuration)
        let (records, _) = try await pipeline.relabel(Self.items(4))
        #expect(records.map(\.answeredBy) == (record ? ["big", "big", "big", "small"] : [nil, nil, nil, nil]))
        let line = records[3].jsonLine
        #expect(line.contains("\"answered_by\":\"small\"") == record)
        var bytes: [UInt8] = []
        records[3].appendJSONLine(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == line + "\n")
        #expect(try RelabeledRecord.parse(line: line, file: "f", line: 1) == records[3])
    }

    @Test func everyItemOnceInInputOrderUnderConcurrency() async throws {
        let provider = RuleProvider { points in RuleProvider.answer(Array(1...points.count)) }
        let (records, summary, order) = try await Self.run(provider, items: Self.items(103), chunkSize: 10, concurrency: 4)
        #expect(records.map(\.id) == Self.items(103).map(\.id))
        #expect(order == Array(0..<11))
        #expect(summary.items == 103 && summary.relabeled == 103 && summary.failed == 0)
        #expect(summary.requests == 11)
        #expect(summary.usage.promptTokens == 1100 && summary.usage.cachedTokens == 550)
        #expect(summary.unchangedExact == 0)
        #expect(records.allSatisfy { $0.promptVersion == Self.prompt.id && $0.provider == "rule" && $0.model == "m" })
    }

    @Test func missingItemsAreAskedAgainInSmallerBatches() async throws {
        // The first answer to any batch of 4 or more drops its last item.
        let provider = RuleProvider { points in
            points.count >= 4 ? RuleProvider.answer(Array(1..<points.count)) : RuleProvider.answer(Array(1...points.count))
        }
        let (records, summary, _) = try await Self.run(provider, items: Self.items(8), chunkSize: 8)
        #expect(records.count == 8)
        #expect(records.allSatisfy { $0.outcome.relabel != nil })
        #expect(summary.reasked == 1)
        #expect(provider.calls.withLock { $0 } == [8, 1])
    }

    @Test func whatStillFailsIsWrittenWithItsReason() async throws {
        // Item 2 never comes back.
        let provider = RuleProvider { points in
            RuleProvider.answer(Array(1...points.count).filter { !(points[$0 - 1].contains("word 2#")) })
        }
        let (records, summary, _) = try await Self.run(provider, items: Self.items(4), chunkSize: 4, reask: 2)
        #expect(records.map { $0.outcome.failure?.kind } == [nil, .missingIndex, nil, nil])
        #expect(summary.failedByKind == [.missingIndex: 1])
        #expect(provider.calls.withLock { $0 } == [4, 1, 1], "re-asked twice, one item at a time")
    }

    @Test func truncatedAnswersSplitTheBatch() async throws {
        // Batches larger than 2 are cut off.
        let provider = RuleProvider { points in
            points.count > 2 ? RuleProvider.answer([1], finish: .length) : RuleProvider.answer(Array(1...points.count))
        }
        let (records, summary, _) = try await Self.run(provider, items: Self.items(8), chunkSize: 8)
        #expect(records.map(\.id) == Self.items(8).map(\.id))
        #expect(records.allSatisfy { $0.outcome.relabel != nil })
        #expect(provider.calls.withLock { $0.sorted() } == [2, 2, 2, 2, 4, 4, 8])
        #expect(summary.requests == 7)
    }

    @Test func providerErrorsFailTheBatchWithoutReasking() async throws {
        let provider = RuleProvider { points in
            if points.first!.contains("word 5#") { throw LLMError(.serverError, "down") }
            return RuleProvider.answer(Array(1...points.count))
        }
        let (records, summary, _) = try await Self.run(provider, items: Self.items(8), chunkSize: 4)
        #expect(records.prefix(4).allSatisfy { $0.outcome.relabel != nil })
        #expect(records.suffix(4).allSatisfy { $0.outcome.failure?.kind == .providerError && $0.outcome.failure!.message.contains("down") })
        #expect(summary.failedByKind == [.providerError: 4])
        #expect(provider.calls.withLock { $0.count } == 2)
    }

    @Test func realModelFailureModesEndAsFailuresWithReasons() async throws {
        // What the 270M model does (REFERENCE.md 5): all-zero distributions and index 0.
        let provider = RuleProvider { points in
            let zero = "{\"index\":1,\"angry\":0,\"sad\":0,\"disgust\":0,\"contempt\":0,\"fear\":0,\"neutral\":0,\"surprise\":0,\"happy\":0,\"reason\":\"\"}"
            let shifted = (0..<points.count).map { i in RuleProvider.entry(i) }.dropFirst(points.count > 1 ? 0 : 1)
            return CompletionResponse(text: points.count > 1 ? "{\"items\":[\(shifted.joined(separator: ","))]}" : "{\"items\":[\(zero)]}")
        }
        let (records, summary, _) = try await Self.run(provider, items: Self.items(3), chunkSize: 3, reask: 1)
        #expect(records.count == 3)
        #expect(records[0].outcome.relabel != nil && records[1].outcome.relabel != nil)
        // Item 3 was missing (its entry came back as index 0), was asked again alone, and the
        // model answered all zeros: the last reason is kept.
        #expect(records[2].outcome.failure?.kind == .zeroSum)
        #expect(summary.strayEntries == 1)
        #expect(summary.reasked == 1)
    }
}
