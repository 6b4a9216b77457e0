import Foundation
import Testing
@testable import LLMKit

/// The Batch API's state file, the executor in the fingerprint, and a journal appended out of order.
@Suite struct BatchStateTests {
    @Test func theStateSurvivesAWriteAndAReadAndADamagedFieldIsNamed() throws {
        var state = BatchState(baseURL: "http://127.0.0.1:1/v1")
        let id = state.newCustomID()
        #expect(id == "r0000001" && state.nextRequest == 2)
        state.files.append(.init(name: "w0-f1", wave: 0, requests: [.init(customID: id, ids: ["a", "b"], round: 0, retries: 1, expiries: 0)],
                                 fileID: "file-1", batchID: nil, status: nil, collected: false, bytes: 120))
        state.followUps.append(.init(ids: ["c"], round: 1, retries: 0, expiries: 2, customID: "r0000009", order: 100))
        let path = TestPaths.temporaryDirectory().appendingPathComponent("out.jsonl.batches.json").path
        try state.save(path: path)
        #expect(try BatchState.load(path: path) == state)
        #expect(state.pendingIDs == ["a", "b", "c"] && state.openWave == 0 && state.nextWave == 1)
        try #"{"format": "llmkit-batches/1", "base_url": "x", "next_request": 1, "files": [{"name": "w0-f1"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try BatchState.load(path: path) } throws: { ($0 as? RunError)?.description.contains("field 'files[0]' is missing or mistyped") == true }
    }

    static func fingerprint(_ executor: String) -> RunFingerprint {
        RunFingerprint(datasetSHA256: "abc", prompt: "p@1", provider: "openai", model: "m", baseURL: nil, chunkSize: 30, seed: 42, temperature: 0,
                       maxTokens: nil, policy: .default, executor: executor)
    }

    @Test func resumingABatchRunSynchronouslyIsADifferenceAndOldHeadersMeanSynchronous() throws {
        let batch = Self.fingerprint(RunFingerprint.batchAPIExecutor), sync = Self.fingerprint(RunFingerprint.synchronousExecutor)
        #expect(sync.differences(from: batch) == ["executor: batch-api in the output, sync now"])
        guard case .object(var old) = sync.json else { Issue.record("not an object"); return }
        old["executor"] = nil
        #expect(RunFingerprint(json: .object(old)) == sync, "a header written before the field existed is a synchronous run")
    }

    @Test func aJournalAppendedOutOfOrderIsPutBackInInputOrderAtClose() async throws {
        let dir = TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("out.jsonl").path
        let journal = try await RelabelJournal.open(path: path, mode: .fresh(overwrite: false), fingerprint: Self.fingerprint("batch-api"))
        journal.appendsOutOfOrder()
        let reference = try EmotionDistribution.normalizing([1, 0, 0, 0, 0, 0, 0, 0]).distribution
        func record(_ id: String) -> RelabeledRecord {
            RelabeledRecord(id: id, reference: reference, outcome: .failed(ItemFailure(.refused, "no")), promptVersion: "p@1", provider: "openai", model: "m")
        }
        try await journal.append([record("c"), record("d")])
        try await journal.append([record("a")])
        try await journal.append([record("b")])
        try await journal.close(inputOrder: { ["a": 0, "b": 1, "c": 2, "d": 3] })
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(JournalHeader.isHeader(String(lines[0])))
        #expect(lines.dropFirst().map { RelabeledRecord.id(inLine: String($0)) } == ["a", "b", "c", "d"])
    }
}
