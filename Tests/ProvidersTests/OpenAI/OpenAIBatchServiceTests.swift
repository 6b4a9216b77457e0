import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

/// The Batch API adapter: its input lines carry the synchronous body, its result lines decode
/// like synchronous answers, and its calls work against the fault server's Files and Batches.
@Suite struct OpenAIBatchServiceTests {
    static let request = CompletionRequest(
        model: "gpt-4o-mini", messages: [.system("sys"), .user("1. calm#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")],
        responseSchema: ChunkAnswerSchema.responseSchema(count: 1, includeReason: true), temperature: 0, seed: 42, maxTokens: 512)

    @Test func anInputLineCarriesExactlyTheSynchronousBody() throws {
        let service = OpenAIBatchService(baseURL: "http://127.0.0.1:1/v1", apiKey: "sk-x")
        let line = try StrictJSON.parse(bytes: service.inputLine(for: Self.request, customID: "r0000001"))
        #expect(line["custom_id"] == "r0000001" && line["method"] == "POST" && line["url"] == "/v1/chat/completions")
        // Streaming is asked for synchronously here; a batch line never streams.
        let synchronous = OpenAIProvider(baseURL: "http://127.0.0.1:1/v1", apiKey: "sk-x", stream: false).httpRequest(for: Self.request)
        #expect(try #require(line["body"]).description == String(decoding: try #require(synchronous.body), as: UTF8.self))
        #expect(line["body"]?["max_completion_tokens"] == 512 && line["body"]?["stream"] == nil)
    }

    @Test func resultLinesDecodeLikeSynchronousAnswersWithTheKindOfTheirStatus() throws {
        let service = OpenAIBatchService(baseURL: "http://127.0.0.1:1/v1", apiKey: nil)
        func decode(_ text: String) -> BatchResultLine? { service.decodeResult(ArraySlice(Array(text.utf8)), model: "m") }
        let answer = #"{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{}"}}],"usage":{"prompt_tokens":7,"completion_tokens":3}}"#
        let ok = try #require(decode(#"{"id":"b1","custom_id":"a","response":{"status_code":200,"request_id":"q","body":\#(answer)},"error":null}"#))
        #expect(ok.customID == "a" && (try? ok.result.get())?.usage == TokenUsage(promptTokens: 7, completionTokens: 3))
        let cases: [(Int, LLMError.Kind)] = [(429, .rateLimited), (500, .serverError), (400, .badRequest), (401, .authentication)]
        for (status, kind) in cases {
            let line = try #require(decode(#"{"custom_id":"b","response":{"status_code":\#(status),"body":{"error":{"message":"no","type":"x"}}},"error":null}"#))
            guard case .failure(let error) = line.result else { Issue.record("\(status) decoded as an answer"); continue }
            #expect(error.kind == kind && error.context.httpStatus == status, "\(status): \(error)")
        }
        let failed = try #require(decode(#"{"custom_id":"c","response":null,"error":{"code":"internal_error","message":"boom"}}"#))
        if case .failure(let error) = failed.result { #expect(error.kind == .serverError && error.message.contains("internal_error") && !failed.expired) }
        #expect(decode(#"{"custom_id":"d","response":null,"error":{"code":"batch_expired","message":"late"}}"#)?.expired == true)
        #expect(decode("not json") == nil && decode(#"{"id":"no custom id"}"#) == nil)
    }

    @Test func uploadCreatePollListAndDownloadAgainstTheFaultServer() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.05
        configuration.batches.inProgressDelay = 0.1
        configuration.batches.finalizingDelay = 0.05
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let service = OpenAIBatchService(baseURL: server.baseURL, apiKey: "sk-x")
        let file = service.inputLine(for: Self.request, customID: "one") + [0x0A] + service.inputLine(for: Self.request, customID: "two")
        let fileID = try await service.upload(file, filename: "in \"quoted\".jsonl")
        let created = try await service.create(inputFileID: fileID, metadata: ["llmkit_file": "w0-f1"])
        #expect(created.status == .validating && created.inputFileID == fileID && created.metadata == ["llmkit_file": "w0-f1"])
        var info = created
        for _ in 0..<100 where !info.status.isTerminal {
            try await Task.sleep(for: .milliseconds(30))
            info = try await service.batch(created.id)
        }
        #expect(info.status == .completed && info.total == 2 && info.completed == 2)
        let listed = try await service.list(after: nil, limit: 10)
        #expect(listed.batches.map(\.id) == [created.id] && !listed.hasMore)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llmkit-download-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = try await service.download(file: try #require(info.outputFileID), to: path, maximumBytes: 1 << 20)
        let output = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(size == output.count)
        let lines = output.split(separator: 0x0A).compactMap { service.decodeResult($0, model: "gpt-4o-mini") }
        #expect(Set(lines.map(\.customID)) == ["one", "two"] && lines.allSatisfy { (try? $0.result.get()) != nil })
        await #expect { try await service.batch("batch_missing") } throws: { ($0 as? LLMError)?.kind == .notFound }
    }

    /// Issue 23 (2): a result file is streamed to disk under a byte cap, never held whole; a
    /// larger one fails while it arrives and leaves no partial file; an error status leaves none.
    @Test func aResultFileIsStreamedToDiskUnderItsByteCap() async throws {
        var configuration = FaultServer.Configuration()
        configuration.batches.validatingDelay = 0.02
        configuration.batches.inProgressDelay = 0.05
        configuration.batches.finalizingDelay = 0.02
        configuration.batches.outputPaddingBytes = 8 << 20
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let service = OpenAIBatchService(baseURL: server.baseURL, apiKey: "sk-x")
        let fileID = try await service.upload(service.inputLine(for: Self.request, customID: "one"), filename: "in.jsonl")
        var info = try await service.create(inputFileID: fileID, metadata: [:])
        for _ in 0..<100 where !info.status.isTerminal {
            try await Task.sleep(for: .milliseconds(30))
            info = try await service.batch(info.id)
        }
        let output = try #require(info.outputFileID)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llmkit-download-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect { try await service.download(file: output, to: path, maximumBytes: 1 << 20) } throws: { ($0 as? LLMError)?.kind == .responseTooLarge }
        #expect(!FileManager.default.fileExists(atPath: path), "no partial file")
        let size = try await service.download(file: output, to: path, maximumBytes: 64 << 20)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(size > 8 << 20 && (attributes[.size] as? Int) == size)
        await #expect { try await service.download(file: "file-missing", to: path, maximumBytes: 1 << 20) } throws: { ($0 as? LLMError)?.kind == .notFound }
        #expect(!FileManager.default.fileExists(atPath: path), "an error status leaves no file")
    }
}
