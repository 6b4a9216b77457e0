import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

/// The request bodies the tool sends and every canned answer of the fault server, checked
/// against the official SDKs' types (PyPI `anthropic` 2.17.0, `google-genai` 3.6.1) by
/// `scripts/sdk-check.sh` in a scratch venv. Skipped, with a message, when the venv cannot be
/// built (PyPI unreachable).
@Suite(.serialized) struct SDKWireCheckTests {
    static func server(_ change: (inout FaultServer.Configuration) -> Void = { _ in }) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.retryAfter = 0.01
        change(&configuration)
        return try FaultServer(configuration)
    }

    /// The raw answer to one request sent as is, whatever its status.
    static func raw(_ request: HTTPRequest) async throws -> String {
        String(decoding: try await CurlTransport.shared.send(request).body, as: UTF8.self)
    }

    static func append(_ line: String, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
    }

    /// Requests of 1, 3 and 30 items in both schema modes of each provider.
    static let requests: [CompletionRequest] = [1, 3, 30].map { n in
        let items = Array(repeating: ProviderConformance.items, count: 10).flatMap { $0 }.prefix(n)
        let prompt = try! PromptLibrary(directories: []).resolve("paper-reason")
        return prompt.render(Array(items)).request(model: "model-x", temperature: 0, seed: 1, maxTokens: TokenBudget.tokens(count: n, prompt: prompt))
    }

    static func collect(into dir: URL) async throws {
        for name in ["anthropic-requests", "anthropic-batch-create", "anthropic-messages", "anthropic-errors", "anthropic-batches", "anthropic-results",
                     "gemini-requests", "gemini-responses", "gemini-errors", "gemini-batch-create", "gemini-batches", "gemini-responses-file",
                     "anthropic-models", "gemini-models"] {
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("\(name).jsonl").path, contents: nil)
        }
        func file(_ name: String) -> URL { dir.appendingPathComponent("\(name).jsonl") }
        // Requests: what each provider sends, logged by the server that received them.
        for (dialect, log) in [("anthropic", "anthropic-requests"), ("gemini", "gemini-requests")] {
            let server = try Self.server { $0.bodyLog = file(log).path }
            defer { server.stop() }
            for request in requests {
                if dialect == "anthropic" {
                    for mode in [AnthropicWire.SchemaMode.outputConfig, .tool] {
                        let provider = AnthropicProvider(baseURL: server.server.baseURL, apiKey: "k", schemaMode: mode)
                        _ = try await provider.complete(request)
                    }
                } else {
                    let provider = GeminiProvider(baseURL: server.server.baseURL, apiKey: "k")
                    _ = try await provider.complete(request)
                    _ = try await raw(GeminiProvider(baseURL: server.server.baseURL, apiKey: "k").endpoint.post(
                        GeminiProvider.path(model: request.model, method: "generateContent"), body: GeminiWire.body(for: request, mode: .responseSchema)))
                }
            }
        }
        // Answers: one server per fault, in both dialects.
        let answers: [FaultServer.Fault] = [.none, .truncated, .refusal, .prose, .wrongCount, .invalidUTF8]
        let errors: [FaultServer.Fault] = [.rateLimitRetryAfter, .rateLimitRetryAfterMs, .overloaded529, .server500, .server503, .auth, .forbidden, .modelNotFound]
        for fault in answers + errors {
            let server = try Self.server { $0.mix = fault == .none ? [:] : [fault: 1] }
            defer { server.stop() }
            let base = server.server.baseURL
            let isError = errors.contains(fault)
            for (i, request) in requests.enumerated() where fault != .invalidUTF8 {
                for mode in [AnthropicWire.SchemaMode.outputConfig, .tool] where i == 1 || mode == .outputConfig {
                    let anthropic = AnthropicProvider(baseURL: base, apiKey: "k", schemaMode: mode)
                    try append(try await raw(anthropic.httpRequest(for: request)), to: file(isError ? "anthropic-errors" : "anthropic-messages"))
                }
                try append(try await raw(GeminiProvider(baseURL: base, apiKey: "k").httpRequest(for: request)), to: file(isError ? "gemini-errors" : "gemini-responses"))
            }
        }
        // Message Batches: batches that complete (with line faults), expire halfway, and are cancelled.
        let server = try Self.server { c in
            c.batches.validatingDelay = 0.02
            c.batches.inProgressDelay = 0.1
            c.batches.finalizingDelay = 0.02
            c.batches.cancellingDelay = 0.02
            c.batches.faults = try! FaultServer.BatchFaults.parse("line_500=0.2,line_error=0.2,truncated=0.1,refusal=0.1,expire_batch=2,expire_batch=4")
        }
        defer { server.stop() }
        // The cancelled batches (round 2) run where a batch stays in progress for 30 s, so the
        // cancel comes first however loaded the machine is.
        let slow = try Self.server { c in
            c.batches = server.configuration.batches
            c.batches.inProgressDelay = 30
            c.batches.faults.expireBatches = []
        }
        defer { slow.stop() }
        let headers = AnthropicProvider(baseURL: server.server.baseURL, apiKey: "k").endpoint.authHeaders
        for round in 0..<3 {
            let base = (round == 2 ? slow : server).server.baseURL
            let service = AnthropicBatchService(provider: AnthropicProvider(baseURL: base, apiKey: "k"), spool: dir.appendingPathComponent("spool"))
            var bytes: [UInt8] = []
            var lines: [JSONValue] = []
            for (i, request) in (requests + requests).enumerated() {
                let line = service.inputLine(for: request, customID: "r\(round)-\(i)")
                bytes += line + [0x0A]
                lines.append(try StrictJSON.parse(bytes: line))
            }
            try append(JSONValue.object(["requests": .array(lines)]).description, to: file("anthropic-batch-create"))
            var info = try await service.create(inputFileID: try await service.upload(bytes, filename: "f.jsonl"), metadata: [:])
            let url = base + "/v1/messages/batches/\(info.id)"
            try append(try await raw(HTTPRequest(method: "GET", url: url, headers: headers)), to: file("anthropic-batches"))
            if round == 2 { _ = try await service.cancel(info.id) }
            while !info.status.isTerminal {
                try await Task.sleep(for: .milliseconds(20))
                info = try await service.batch(info.id)
            }
            try append(try await raw(HTTPRequest(method: "GET", url: url, headers: headers)), to: file("anthropic-batches"))
            let results = try await raw(HTTPRequest(method: "GET", url: try #require(info.outputFileID), headers: headers))
            for line in results.split(separator: "\n") { try append(String(line), to: file("anthropic-results")) }
        }
        // Gemini's batch mode: one that completes, one that expires halfway, one cancelled; then
        // (round 3, on a server of its own) one whose output is a responses file.
        let fileServer = try Self.server { c in
            c.batches = server.configuration.batches
            c.batches.geminiResponsesFile = true
        }
        defer { fileServer.stop() }
        for round in 0..<4 {
            let base = (round == 2 ? slow : round == 3 ? fileServer : server).server.baseURL
            let geminiBatches = GeminiBatchService(provider: GeminiProvider(baseURL: base, apiKey: "k"), spool: dir.appendingPathComponent("spool"))
            var bytes: [UInt8] = []
            for (i, request) in (requests + requests).enumerated() { bytes += geminiBatches.inputLine(for: request, customID: "g\(round)-\(i)") + [0x0A] }
            let id = try await geminiBatches.upload(bytes, filename: "g.jsonl")
            let lines = try geminiBatches.requests.lines(id)
            try append(JSONValue.object(["batch": ["displayName": .string(id), "inputConfig": ["requests": ["requests": .array(lines)]]]]).description,
                       to: file("gemini-batch-create"))
            var info = try await geminiBatches.create(inputFileID: id, metadata: [:])
            let url = base + "/v1beta/\(info.id)"
            try append(try await raw(HTTPRequest(method: "GET", url: url, headers: geminiBatches.endpoint.authHeaders)), to: file("gemini-batches"))
            if round == 2 { _ = try await geminiBatches.cancel(info.id) }
            while !info.status.isTerminal {
                try await Task.sleep(for: .milliseconds(20))
                info = try await geminiBatches.batch(info.id)
            }
            try append(try await raw(HTTPRequest(method: "GET", url: url, headers: geminiBatches.endpoint.authHeaders)), to: file("gemini-batches"))
            if round == 3 {
                let name = try #require(info.outputFileID?.split(separator: ":").last)
                let lines = try await raw(HTTPRequest(method: "GET", url: base + "/v1beta/\(name):download?alt=media", headers: geminiBatches.endpoint.authHeaders))
                for line in lines.split(separator: "\n") { try append(String(line), to: file("gemini-responses-file")) }
            }
        }
        // The model lists, page by page (two to a page), and empty.
        for models in [["claude-a", "claude-b-20250929", "claude-c"], []] {
            let lists = try Self.server { c in
                c.models = models
                c.modelsPageLimit = 2
            }
            defer { lists.stop() }
            let anthropic = AnthropicProvider(baseURL: lists.server.baseURL, apiKey: "k").endpoint.authHeaders
            for query in ["", "?limit=1000", "?limit=1000&after_id=claude-b-20250929"] {
                try append(try await raw(HTTPRequest(method: "GET", url: lists.server.baseURL + "/v1/models" + query, headers: anthropic)), to: file("anthropic-models"))
            }
            for query in ["", "?pageSize=1000", "?pageSize=1000&pageToken=claude-b-20250929"] {
                try append(try await raw(HTTPRequest(method: "GET", url: lists.server.baseURL + "/v1beta/models" + query, headers: [("x-goog-api-key", "k")])),
                           to: file("gemini-models"))
            }
        }
        // A listing page is a MessageBatch list.
        let page = try StrictJSON.parse(try await raw(HTTPRequest(method: "GET", url: server.server.baseURL + "/v1/messages/batches?limit=2", headers: headers)))
        for batch in page["data"]?.arrayValue ?? [] { try append(batch.description, to: file("anthropic-batches")) }
    }

    @Test func requestBodiesAndCannedAnswersMatchTheOfficialSDKTypes() async throws {
        let dir = Repo.temporaryDirectory()
        try await Self.collect(into: dir)
        let results = try String(contentsOf: dir.appendingPathComponent("anthropic-results.jsonl"), encoding: .utf8)
        for kind in ["succeeded", "errored", "expired", "canceled"] { #expect(results.contains("\"type\":\"\(kind)\""), "a results line of type \(kind)") }
        let responsesFile = try String(contentsOf: dir.appendingPathComponent("gemini-responses-file.jsonl"), encoding: .utf8)
        #expect(responsesFile.contains("\"response\":") && responsesFile.contains("\"error\":"), "a responses file with answers and errors")
        let batches = try String(contentsOf: dir.appendingPathComponent("gemini-batches.jsonl"), encoding: .utf8)
        #expect(batches.contains("\"responsesFile\":\"files/") && batches.contains("\"inlinedResponses\":"), "batches with both kinds of output")
        for state in ["SUCCEEDED", "EXPIRED", "CANCELLED"] { #expect(batches.contains("\"BATCH_STATE_\(state)\""), "a Gemini batch \(state)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Repo.path("scripts/sdk-check.sh"))
        process.arguments = [dir.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 77 {
            FileHandle.standardError.write(Data("!!! SDK wire check SKIPPED: \(err)".utf8))
            return
        }
        #expect(process.terminationStatus == 0, "\(out)\n\(err)")
        for name in ["anthropic-requests", "anthropic-batch-create", "anthropic-messages", "anthropic-errors", "anthropic-batches", "anthropic-results",
                     "gemini-requests", "gemini-responses", "gemini-errors", "gemini-batch-create", "gemini-batches", "gemini-responses-file",
                     "anthropic-models", "gemini-models"] {
            #expect(out.range(of: "\(name).jsonl: [1-9][0-9]* ok", options: .regularExpression) != nil, "\(name) checked: \(out)")
        }
    }
}
