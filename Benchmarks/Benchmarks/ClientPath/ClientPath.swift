// The per-request client path of a relabel run, piece by piece, through LLMKit's public API
// (issue 12). One operation = one request of 30 items. What each benchmark calls is listed
// in the README's "Benchmarks" section, so it can be re-pointed when the API moves.
//
//   render          PromptVersion.render(_:) + RenderedChunk.request(model:temperature:seed:maxTokens:)
//   encode          OpenAIProvider.httpRequest(for:) (the JSON body bytes libcurl sends)
//   decode          ChatCompletionsWire.decode(_:provider:model:) of the whole HTTP body
//   parse           ChunkAnswerParser(count:prompt:).parse(_:) (extract, strict JSON, schema, renormalise, align)
//   journal lines   RelabeledRecord.appendJSONLine(to:) for 30 records
//   whole request   all of the above in a row, as the pipeline does for one request
import Benchmark
import LLMKit
import Providers

/// Everything built once, outside the measured loops: the prompt version, 30 items with
/// made-up descriptions and references, a valid 30-item answer and its HTTP body.
struct Fixture: Sendable {
    let version: PromptVersion
    let versionID: String
    let items: [DatasetItem]
    let maxTokens: Int
    let answer: String
    let httpBody: [UInt8]
    let headers: [String: String]
    let provider: OpenAIProvider
    let records: [RelabeledRecord]

    static let emotions = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
    static let words = ["calm", "tone", "annoyed", "voice", "slightly", "tired", "sounds", "concern", "mild", "frustration",
                        "steady", "neutral", "amused", "laughter", "worried", "pitch", "description", "supports", "reference",
                        "shifts", "mass", "toward", "sadness", "surprise", "little", "anger", "bored", "flat", "delivery"]
    static let descriptions = ["calm", "Annoyed", "happy!!", "tired", "Concerned", "bored", "excited", "sarcastic", "worried",
                               "amused", "lonley", "proud", "Slightly Angry, calm", "Concerned,Interest"]

    /// A small deterministic generator (no Foundation, same numbers on every machine).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static func make() -> Fixture {
        let version = try! PromptLibrary(directories: []).resolve("paper-reason")
        var g = Generator(state: 42)
        var items: [DatasetItem] = []
        for n in 0..<30 {
            var votes = [Double](repeating: 0, count: 8)
            for _ in 0..<(5 + g.next(5)) { votes[g.next(8)] += 1 }
            let reference = try! EmotionDistribution.normalizing(votes).distribution
            let words = (0..<g.next(4)).map { _ in descriptions[g.next(descriptions.count)] }
            items.append(DatasetItem(id: "syn\(n)", descriptions: words, reference: reference))
        }
        // The answer: 8 values with 4 decimals summing to exactly 1, a reason of 15-20 words.
        var entries: [String] = []
        for index in 1...30 {
            var cuts = Set<Int>()
            while cuts.count < 7 { cuts.insert(1 + g.next(9999)) }
            let bounds = [0] + cuts.sorted() + [10000]
            let parts = (0..<8).map { bounds[$0 + 1] - bounds[$0] }
            var reason: String
            repeat {
                let count = 15 + g.next(6)
                reason = (0..<count).map { _ in words[g.next(words.count)] }.joined(separator: " ") + "."
            } while reason.count >= 160
            var fields = ["\"index\":\(index)"]
            for (name, value) in zip(emotions, parts) {
                let digits = String(value)
                fields.append("\"\(name)\":0.\(String(repeating: "0", count: 4 - digits.count))\(digits)")
            }
            fields.append("\"reason\":\"\(reason)\"")
            entries.append("{" + fields.joined(separator: ",") + "}")
        }
        let answer = "{\"items\":[" + entries.joined(separator: ",") + "]}"
        let body: JSONValue = [
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1764380000, "model": "bench",
            "choices": [["index": 0, "finish_reason": "stop", "logprobs": nil,
                         "message": ["role": "assistant", "content": .string(answer), "refusal": nil]]],
            "usage": ["prompt_tokens": 1350, "completion_tokens": 2600, "total_tokens": 3950,
                      "prompt_tokens_details": ["cached_tokens": 0]],
            "system_fingerprint": "fp_bench",
        ]
        let httpBody = Array(body.description.utf8)
        // The headers nginx sends with the answer in bench/client.sh.
        let headers = ["server": "nginx/1.22.1", "date": "Sun, 29 Nov 2026 02:38:49 GMT", "content-type": "application/json",
                       "content-length": String(httpBody.count), "connection": "keep-alive"]
        let parsed = ChunkAnswerParser(count: 30, prompt: version).parse(answer)
        precondition(parsed.failedPositions.isEmpty, "the fixture's answer must be valid")
        let versionID = version.id
        let records = zip(items, parsed.outcomes).map { item, outcome in
            RelabeledRecord(id: item.id, reference: item.reference, outcome: outcome, promptVersion: versionID, provider: "openai", model: "bench")
        }
        return Fixture(version: version, versionID: versionID, items: items, maxTokens: TokenBudget.tokens(count: 30, prompt: version),
                       answer: answer, httpBody: httpBody, headers: headers,
                       provider: OpenAIProvider(baseURL: "http://127.0.0.1:8080/v1", apiKey: "bench"), records: records)
    }
}

// One sample = 1,000 operations (scalingFactor .kilo): cpuTotal comes from /proc/self/stat in
// 10 ms ticks, so a sample must last far longer than a tick. `bench/micro.sh` prints the
// figures per operation (`--scale`).
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.cpuTotal, .wallClock, .mallocCountTotal, .throughput]
    // For operations of well under a millisecond: up to 20 samples or 6 s.
    let fast = Benchmark.Configuration(metrics: metrics, warmupIterations: 1, scalingFactor: .kilo, maxDuration: .seconds(6), maxIterations: 20)
    // For operations of milliseconds: 3 samples of 1,000 (seconds each).
    let slow = Benchmark.Configuration(metrics: metrics, warmupIterations: 1, scalingFactor: .kilo, maxDuration: .seconds(40), maxIterations: 3)
    let f = Fixture.make()

    Benchmark("render 30-item batch + request", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            let request = f.version.render(f.items).request(model: "bench", temperature: 0, seed: 42, maxTokens: f.maxTokens)
            blackHole(request)
        }
    }

    let request = f.version.render(f.items).request(model: "bench", temperature: 0, seed: 42, maxTokens: f.maxTokens)
    Benchmark("encode HTTP request body (OpenAI)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(f.provider.httpRequest(for: request))
        }
    }

    Benchmark("decode chat completion (HTTP body)", configuration: fast) { benchmark in
        for _ in benchmark.scaledIterations {
            let response = try ChatCompletionsWire.decode(HTTPResponse(status: 200, headers: f.headers, body: f.httpBody),
                                                          provider: "openai", model: "bench")
            blackHole(response)
        }
    }

    Benchmark("parse + validate + renormalise 30 items", configuration: slow) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ChunkAnswerParser(count: 30, prompt: f.version).parse(f.answer))
        }
    }

    Benchmark("serialise 30 journal lines", configuration: fast) { benchmark in
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 << 10)
        for _ in benchmark.scaledIterations {
            bytes.removeAll(keepingCapacity: true)
            for record in f.records { record.appendJSONLine(to: &bytes) }
            blackHole(bytes)
        }
    }

    Benchmark("whole request (all of the above)", configuration: slow) { benchmark in
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 << 10)
        for _ in benchmark.scaledIterations {
            let request = f.version.render(f.items).request(model: "bench", temperature: 0, seed: 42, maxTokens: f.maxTokens)
            blackHole(f.provider.httpRequest(for: request))
            let response = try ChatCompletionsWire.decode(HTTPResponse(status: 200, headers: f.headers, body: f.httpBody),
                                                          provider: "openai", model: "bench")
            let parsed = ChunkAnswerParser(count: 30, prompt: f.version).parse(response.text ?? "", invalidUTF8: response.bodyWasInvalidUTF8)
            bytes.removeAll(keepingCapacity: true)
            for (item, outcome) in zip(f.items, parsed.outcomes) {
                RelabeledRecord(id: item.id, reference: item.reference, outcome: outcome, promptVersion: f.versionID,
                                provider: "openai", model: "bench").appendJSONLine(to: &bytes)
            }
            blackHole(bytes)
        }
    }
}
