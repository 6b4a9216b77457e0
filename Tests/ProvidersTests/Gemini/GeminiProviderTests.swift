import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

@Suite struct GeminiProviderTests {
    static let request = AnthropicProviderTests.request

    @Test func theKeyGoesInAHeaderNeverTheURLAndTheSchemaInGenerationConfig() throws {
        let provider = GeminiProvider(baseURL: "https://example.invalid", apiKey: "g-test-key-123456")
        let http = provider.httpRequest(for: Self.request)
        #expect(http.url == "https://example.invalid/v1beta/models/claude-sonnet-4-5:generateContent")
        #expect(!http.url.contains("key"), "no key in the URL")
        let headers = Dictionary(uniqueKeysWithValues: http.headers.map { ($0.name.lowercased(), $0.value) })
        #expect(headers["x-goog-api-key"] == "g-test-key-123456")
        let body = try AnthropicProviderTests.body(http)
        #expect(Set(body.objectValue?.keys ?? []) == ["contents", "systemInstruction", "generationConfig"])
        let config = try #require(body["generationConfig"])
        #expect(config["responseMimeType"] == "application/json" && config["responseJsonSchema"] == Self.request.responseSchema?.schema)
        #expect(config["maxOutputTokens"] == 4000 && config["temperature"] == 0.2 && config["seed"] == 7)
        #expect(body["contents"]?.arrayValue?.first?["role"] == "user" && body["systemInstruction"]?["parts"]?.arrayValue?.first?["text"] == "sys")
    }

    @Test func theOpenAPIFormDropsWhatGeminisSchemaLacks() {
        let body = GeminiWire.body(for: Self.request, mode: .responseSchema)
        let schema = body["generationConfig"]?["responseSchema"]
        #expect(schema?["type"] == "OBJECT" && schema?["additionalProperties"] == nil)
        #expect(schema?["properties"]?["items"]?["type"] == "ARRAY")
    }

    static func decode(_ status: Int, _ body: JSONValue) throws(LLMError) -> CompletionResponse {
        try GeminiWire.decode(HTTPResponse(status: status, body: Array(body.description.utf8)), model: "m")
    }

    static func answer(_ finish: String, text: String?) -> JSONValue {
        var candidate: JSONObject = ["finishReason": .string(finish), "index": 0]
        if let text { candidate["content"] = ["role": "model", "parts": [["text": .string(text)]]] }
        return ["candidates": [.object(candidate)], "usageMetadata": ["promptTokenCount": 50, "candidatesTokenCount": 10, "thoughtsTokenCount": 4,
                                                                      "cachedContentTokenCount": 20, "totalTokenCount": 64]]
    }

    @Test func finishReasonsAndBlocksDecode() throws {
        let ok = try Self.decode(200, Self.answer("STOP", text: "{}"))
        #expect(ok.text == "{}" && ok.finishReason == .stop && ok.usage == TokenUsage(promptTokens: 50, completionTokens: 14, cachedTokens: 20))
        #expect(try Self.decode(200, Self.answer("MAX_TOKENS", text: "{")).finishReason == .length)
        let safety = try Self.decode(200, Self.answer("SAFETY", text: nil))
        #expect(safety.finishReason == .contentFilter && safety.refusal?.contains("SAFETY") == true)
        let blocked = try Self.decode(200, ["promptFeedback": ["blockReason": "PROHIBITED_CONTENT"]])
        #expect(blocked.finishReason == .contentFilter && blocked.refusal?.contains("PROHIBITED_CONTENT") == true)
    }

    @Test func resourceExhaustedCarriesItsRetryDelayAndUnavailableIsTransient() throws {
        let exhausted: JSONValue = ["error": ["code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED",
                                              "details": [["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"]]]]
        let limited = try #require(throws: LLMError.self) { try Self.decode(429, exhausted) }
        #expect(limited.kind == .rateLimited && limited.retryAfter == .milliseconds(1500))
        let unavailable = try #require(throws: LLMError.self) { try Self.decode(503, ["error": ["code": 503, "message": "busy", "status": "UNAVAILABLE"]]) }
        #expect(unavailable.kind.isRetryable)
        let denied = try #require(throws: LLMError.self) { try Self.decode(403, ["error": ["code": 403, "message": "no", "status": "PERMISSION_DENIED"]]) }
        #expect(denied.kind.isFatal)
    }

    @Test func keysComeFromGoogleAPIKeyFirstThenGeminiAPIKey() throws {
        #expect(throws: LLMError.self) { try GeminiProvider.fromEnvironment([:], baseURL: nil) }
        func key(_ env: [String: String]) throws -> String? {
            try GeminiProvider.fromEnvironment(env, baseURL: nil).endpoint.authHeaders.first { $0.name == "x-goog-api-key" }?.value
        }
        #expect(try key(["GEMINI_API_KEY": "gem-key-1234567"]) == "gem-key-1234567")
        #expect(try key(["GEMINI_API_KEY": "gem-key-1234567", "GOOGLE_API_KEY": "goo-key-1234567"]) == "goo-key-1234567", "the SDK prefers GOOGLE_API_KEY")
    }

    @Test func itConformsAgainstTheFaultServerWithTheKeyInTheHeader() async throws {
        var configuration = FaultServer.Configuration()
        configuration.requiredKey = "g-conformance-key"
        let server = try FaultServer(configuration)
        defer { server.stop() }
        let provider = GeminiProvider(baseURL: server.server.baseURL, apiKey: "g-conformance-key")
        let problems = await ProviderConformance.check(provider, requireIdentity: true)
        #expect(problems.isEmpty, "\(problems)")
        let counts = server.counts
        #expect(counts.dialects["gemini"] ?? 0 > 0 && counts.unauthenticated == 0 && counts.queryStrings.isEmpty)
    }
}
