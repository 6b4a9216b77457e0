import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

/// Streamed answers, runaway detection, and answers that are not what they should be.
@Suite struct StreamingTests {
    static let prompt = PromptVersion(name: "t", systemText: "sys")

    static func request(items: Int = 2, budget: Int? = nil) -> CompletionRequest {
        let list = (1...items).map { DatasetItem(id: "u\($0)", descriptions: ["w"], reference: EmotionDistribution(oneHot: .neutral)) }
        var request = prompt.render(list).request(model: "m", temperature: 0, seed: 1, maxTokens: budget ?? TokenBudget.tokens(count: items, prompt: prompt))
        request.items = list
        return request
    }

    /// An SSE body sending `content` one character per chunk, as a streaming server does.
    static func stream(_ content: String, finish: String? = "stop", usage: Bool = true) -> String {
        var out = ""
        for ch in content {
            let chunk: JSONValue = ["choices": [["index": 0, "delta": ["content": .string(String(ch))], "finish_reason": .null]]]
            out += "data: \(chunk.description)\n\n"
        }
        if let finish { out += "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"\(finish)\"}]}\n\n" }
        if usage { out += "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":\(content.count),\"total_tokens\":\(12 + content.count)}}\n\n" }
        return out + "data: [DONE]\n\n"
    }

    static let answer = ChunkAnswerSchema.answer([([0, 0, 0, 0, 0, 0.9, 0, 0.1], "r1"), ([0.5, 0, 0, 0, 0, 0.5, 0, 0], "r2")])

    @Test func aStreamedAnswerDecodesLikeAWholeOneAndReportsTokens() async throws {
        let transport = MockHTTPTransport(headers: ["content-type": "text/event-stream"], body: Self.stream(Self.answer))
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let tokens = Mutex<[Int]>([])
        let observer = RequestObserver(request: 1) { event in
            if case .tokensReceived(_, let n) = event { tokens.withLock { $0.append(n) } }
        }
        let response = try await RequestObserver.$current.withValue(observer) { try await provider.complete(Self.request()) }
        #expect(response.text == Self.answer && response.finishReason == .stop && response.usage?.completionTokens == Self.answer.count)
        #expect(ChunkAnswerParser(count: 2, prompt: Self.prompt).parse(response.text!).failedPositions.isEmpty)
        let body = try StrictJSON.parse(String(decoding: try #require(transport.requests.first?.body), as: UTF8.self))
        #expect(body["stream"] == true && body["max_tokens"]?.intValue == TokenBudget.tokens(count: 2, prompt: Self.prompt))
        #expect(transport.requests.first?.stallTimeout == .seconds(60), "a streamed request fails fast when it stalls")
        #expect(tokens.withLock { $0.last } == Self.answer.count || tokens.withLock { $0.isEmpty }, "progress reports the tokens so far")
    }

    @Test func aStreamBeyondTheBudgetIsCutOffAndCountsAsTruncated() async throws {
        let endless = String(repeating: "{\"items\": [", count: 1) + String(repeating: " ", count: 50) + String(repeating: "x", count: 500)
        let transport = MockHTTPTransport(headers: ["content-type": "text/event-stream"], body: Self.stream(endless, finish: nil, usage: false))
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let response = try await provider.complete(Self.request(budget: 40))
        #expect(response.finishReason == .length, "over budget: treated like a truncation, so the batch is split")
    }

    @Test func textAfterTheCompleteAnswerIsCutAndTheAnswerKept() async throws {
        let rambling = Self.answer + "\n\nI hope this helps! " + String(repeating: "More words. ", count: 40)
        let transport = MockHTTPTransport(headers: ["content-type": "text/event-stream"], body: Self.stream(rambling))
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let response = try await provider.complete(Self.request())
        #expect(response.finishReason == .stop)
        let text = try #require(response.text)
        #expect(text.count < rambling.count && text.hasPrefix(Self.answer))
        let parsed = ChunkAnswerParser(count: 2, prompt: Self.prompt).parse(text)
        #expect(parsed.failedPositions.isEmpty && parsed.extraction?.strippedAnything == true)
    }

    /// Brackets in text before the answer ("see [1]") do not count as a finished answer, so the
    /// answer that follows is not cut off as trailing text.
    @Test func bracketsBeforeTheAnswerDoNotEndIt() async throws {
        let prefixed = "Notes [1] and ] (2): " + Self.answer
        let transport = MockHTTPTransport(headers: ["content-type": "text/event-stream"], body: Self.stream(prefixed))
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let response = try await provider.complete(Self.request())
        #expect(response.text == prefixed)
        #expect(ChunkAnswerParser(count: 2, prompt: Self.prompt).parse(response.text!).failedPositions.isEmpty)
    }

    @Test func aStreamThatEndsWithoutAFinishReasonIsCutOff() throws {
        let response = try ChatCompletionsWire.decode(HTTPResponse(status: 200, headers: ["content-type": "text/event-stream"],
                                                                   body: Array(Self.stream("{\"items\": [", finish: nil, usage: false).utf8)),
                                                      provider: "llamacpp", model: "m")
        #expect(response.finishReason == .length)
    }

    @Test func bytesThatAreNotUTF8FailOnlyTheItemsTheyTouch() async throws {
        var bytes = Array(#"{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{\"items\":[{\"index\":1,\"angry\":0,\"sad\":0,\"disgust\":0,\"contempt\":0,\"fear\":0,\"neutral\":1,\"surprise\":0,\"happy\":0,\"reason\":\"caf"#.utf8)
        bytes += [0xE9]
        bytes += Array(#"\"},{\"index\":2,\"angry\":0,\"sad\":0,\"disgust\":0,\"contempt\":0,\"fear\":0,\"neutral\":1,\"surprise\":0,\"happy\":0,\"reason\":\"fine\"}]}"}}]}"#.utf8)
        let body = bytes
        let transport = MockHTTPTransport { _ in HTTPResponse(status: 200, body: body) }
        let provider = OpenAIProvider(baseURL: "http://x/v1", apiKey: nil, transport: transport)
        let (records, _) = try await RelabelPipeline(client: LLMClient(provider: provider),
                                                      configuration: RelabelConfiguration(prompt: Self.prompt, model: "m", reaskRounds: 0))
            .relabel(Self.request().items)
        #expect(records.map { $0.outcome.failure?.kind } == [.invalidUTF8, nil])
    }

    @Test func aMegabyteErrorMessageIsNotCopiedIntoEveryLine() async throws {
        let huge = String(repeating: "overloaded ", count: 100_000)
        let transport = MockHTTPTransport(status: 400, body: #"{"error":{"message":"\#(huge)","type":"invalid_request_error"}}"#)
        let provider = OpenAIProvider(baseURL: "http://x/v1", apiKey: nil, transport: transport)
        let (records, _) = try await RelabelPipeline(client: LLMClient(provider: provider),
                                                      configuration: RelabelConfiguration(prompt: Self.prompt, model: "m"))
            .relabel(Self.request(items: 3).items)
        for record in records {
            let line = record.jsonLine
            #expect(line.utf8.count < 2_000 && line.contains("more bytes]"), "\(line.utf8.count) bytes")
        }
    }

    @Test func theOpenAISchemaLeavesOutWhatStrictModeRefuses() throws {
        let request = Self.request()
        let body = try StrictJSON.parse(String(decoding: OpenAIProvider(apiKey: "k").httpRequest(for: request).body!, as: UTF8.self))
        #expect(!body.description.contains("maxLength"))
        let llama = try StrictJSON.parse(String(decoding: LlamaCppProvider().httpRequest(for: request).body!, as: UTF8.self))
        #expect(llama["response_format"]?["json_schema"]?["schema"]?["properties"]?["items"]?["items"]?["properties"]?["reason"]?["maxLength"] == .int(Self.prompt.reasonLimit))
    }

    #if DEBUG
    /// The monitor reads a streamed answer as it arrives; the answer is decoded from that same
    /// reading, not parsed a second time from the whole body afterwards, and decodes exactly
    /// as the whole body does (in pieces that split lines anywhere).
    @Test(arguments: [1, 7, 64, 1 << 20])
    func aStreamedAnswerIsParsedOnceAndDecodesAsAWholeBody(pieceSize: Int) async throws {
        var body = Self.stream(Self.answer)
        body = body.replacingOccurrences(of: "data: [DONE]", with: #"data: {"choices":[],"model":"m-1","system_fingerprint":"fp"}"# + "\n\ndata: [DONE]")
        let chunks = body.split(separator: "\n").filter { $0.hasPrefix("data: {") }.count
        let headers = ["content-type": "text/event-stream"]
        let bytes = Array(body.utf8)
        let transport = MockHTTPTransport(pieceSize: pieceSize) { _ in HTTPResponse(status: 200, headers: headers, body: bytes) }
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let counter = StreamChunkCounter()
        let response = try await StreamChunkCounter.$current.withValue(counter) { try await provider.complete(Self.request()) }
        #expect(counter.count == chunks, "\(counter.count) parses of \(chunks) chunks")
        let whole = try ChatCompletionsWire.decode(HTTPResponse(status: 200, headers: headers, body: bytes), provider: "llamacpp", model: "m")
        #expect(response.text == Self.answer && response.text == whole.text)
        #expect(response.finishReason == whole.finishReason && response.usage == whole.usage && response.refusal == whole.refusal)
        #expect(response.model == "m-1" && whole.model == "m-1" && response.systemFingerprint == "fp" && whole.systemFingerprint == "fp")
        #expect(response.raw == whole.raw)
    }

    /// A cut-off stream: each chunk received is parsed once, and the answer is what arrived.
    @Test func aStreamCutOffAfterTheAnswerIsParsedOnce() async throws {
        let rambling = Self.answer + "\n\nI hope this helps! " + String(repeating: "More words. ", count: 40)
        let transport = MockHTTPTransport(headers: ["content-type": "text/event-stream"], body: Self.stream(rambling))
        let provider = LlamaCppProvider(baseURL: "http://llama", transport: transport, stream: true)
        let counter = StreamChunkCounter()
        let response = try await StreamChunkCounter.$current.withValue(counter) { try await provider.complete(Self.request()) }
        let text = try #require(response.text)
        #expect(response.finishReason == .stop && text.hasPrefix(Self.answer) && text.count < rambling.count)
        #expect(counter.count <= text.count + 1, "one parse per chunk received (one character each): \(counter.count) for \(text.count)")
    }
    #endif

    /// Server-sent events may end their lines with CRLF.
    @Test func aStreamWithCRLFLineEndsDecodes() throws {
        let body = Self.stream(Self.answer).replacingOccurrences(of: "\n", with: "\r\n")
        let response = try ChatCompletionsWire.decode(HTTPResponse(status: 200, headers: ["content-type": "text/event-stream"], body: Array(body.utf8)),
                                                      provider: "llamacpp", model: "m")
        #expect(response.text == Self.answer && response.finishReason == .stop && response.usage?.completionTokens == Self.answer.count)
    }

    @Test func theRequestTimeoutFollowsTheBudgetOnceTheSpeedIsKnown() {
        let endpoint = ChatCompletionsEndpoint(provider: "llamacpp", baseURL: "http://x/", path: "/v1/chat/completions", transport: MockHTTPTransport(body: ""),
                                               maxTokensKey: "max_tokens", timeout: .init(request: .seconds(600)), maximumResponseBytes: 1 << 20, stream: true)
        #expect(endpoint.baseURL == "http://x")
        #expect(endpoint.requestTimeout(budget: 1000) == .seconds(600), "the cap until the speed is known")
        endpoint.speed.observe(tokens: 500, seconds: 10, timings: ServerTimings(predictedTokens: 500, predictedMilliseconds: 10_000))
        #expect(endpoint.requestTimeout(budget: 1000) == .seconds(70), "30 s + twice 1000 tokens at 50 tokens/s")
        #expect(endpoint.requestTimeout(budget: 100_000) == .seconds(600), "never more than the cap")
    }
}
