import Testing
@testable import LLMKit

/// An in-memory provider that answers from the request: the test double for the seam.
struct EchoProvider: LLMProvider {
    var id: ProviderID = "echo"
    var capabilities = ProviderCapabilities(constrainsOutput: true)
    var failure: (any Error)?
    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        if let failure { throw failure }
        return CompletionResponse(text: request.messages.last?.content, usage: TokenUsage(promptTokens: 3, completionTokens: 1),
                                  headers: ["X-Request-Id": "req-1", "Authorization": "Bearer sk-secret", "Set-Cookie": "a=b"])
    }
}

/// Records the order middlewares run in and tags the request and response.
struct TagMiddleware: ProviderMiddleware {
    let tag: String
    func intercept(_ request: CompletionRequest, next: CompletionHandler) async throws -> CompletionResponse {
        var request = request
        request.messages[request.messages.count - 1].content += ">\(tag)"
        var response = try await next(request)
        response.text = (response.text ?? "") + "<\(tag)"
        return response
    }
}

@Suite struct ProviderSeamTests {
    static let request = CompletionRequest(model: "m", messages: [.system("s"), .user("u")], temperature: 0, seed: 1)

    @Test func middlewaresFoldOutermostFirst() async throws {
        let client = LLMClient(provider: EchoProvider(), middlewares: [TagMiddleware(tag: "a"), TagMiddleware(tag: "b")])
        let response = try await client.complete(Self.request)
        #expect(response.text == "u>a>b<b<a")
        #expect(response.usage?.totalTokens == 4)
        #expect(response.headers == ["x-request-id": "req-1"])
    }

    @Test func foreignErrorsBecomeOneErrorType() async {
        struct Boom: Error {}
        let client = LLMClient(provider: EchoProvider(failure: Boom()))
        await #expect { try await client.complete(Self.request) } throws: { ($0 as? LLMError)?.kind == .transport }
        let cancelled = LLMClient(provider: EchoProvider(failure: CancellationError()))
        await #expect { try await cancelled.complete(Self.request) } throws: { ($0 as? LLMError)?.kind == .cancelled }
        let limited = LLMClient(provider: EchoProvider(failure: LLMError(.rateLimited, "slow down", retryAfter: .seconds(2))))
        await #expect { try await limited.complete(Self.request) } throws: { ($0 as? LLMError)?.kind == .rateLimited && ($0 as? LLMError)?.retryAfter == .seconds(2) }
        // A foreign error keeps the original as the underlying error.
        do { _ = try await client.complete(Self.request) } catch { #expect(error.underlyingError is Boom && error.kind.isRetryable) }
    }

    @Test func retryabilityByKind() {
        let retryable: [LLMError.Kind] = [.rateLimited, .conflict, .serverError, .timeout, .transport, .unavailable]
        let final: [LLMError.Kind] = [.quotaExhausted, .authentication, .permissionDenied, .notFound, .badRequest, .truncatedOutput, .refusal, .invalidOutput, .configuration, .cancelled, .responseTooLarge]
        for kind in retryable { #expect(LLMError(kind, "x").isRetryable, "\(kind)") }
        for kind in final { #expect(!LLMError(kind, "x").isRetryable, "\(kind)") }
        #expect(Set(LLMError.Kind.all) == Set(retryable + final))
        #expect(LLMError.Kind.all.filter(\.isFatal) == [.quotaExhausted, .authentication, .permissionDenied, .notFound, .configuration])
        for kind in LLMError.Kind.all { #expect(LLMError.Kind(name: kind.name) == kind) }
        let e = LLMError(.serverError, "The server failed.", context: .init(provider: "openai", model: "gpt", attempt: 2, httpStatus: 502, requestID: "r9"))
        #expect(e.description == "The server failed. (openai, gpt, HTTP 502, 2 attempts, request r9)")
    }

    @Test func canonicalHashIsStableAndSensitiveToContent() {
        let a = CompletionRequest(model: "m", messages: [.user("x")], responseSchema: ChunkAnswerSchema.responseSchema(count: 2, includeReason: true), temperature: 0.0, seed: 7)
        var b = a
        b.temperature = 0
        #expect(a.canonicalHash == b.canonicalHash)
        #expect(a.canonicalHash.count == 64)
        b.temperature = 0.7
        #expect(a.canonicalHash != b.canonicalHash)
        var c = a
        c.messages = [.user("y")]
        #expect(a.canonicalHash != c.canonicalHash)
        #expect(a.canonicalEncoding.hasPrefix("{\"max_tokens\"") == false)
        #expect(a.canonicalEncoding.contains("\"seed\":7"))
        // Known SHA-256 vector, so the hash is the real function.
        #expect(CompletionRequest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func registryBuildsByNameAndExplainsUnknownNames() throws {
        var registry = ProviderRegistry()
        registry.register("echo", summary: "answers with the prompt") { config in
            EchoProvider(id: ProviderID(config.model ?? "echo"))
        }
        #expect(registry.all.map(\.name) == ["echo"])
        #expect(try registry.make("echo", configuration: .init(model: "m2")).id.name == "m2")
        #expect { try registry.make("nope", configuration: .init()) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .configuration && e.message.contains("echo")
        }
    }

    @Test func finishReasonsMap() {
        #expect(FinishReason("length") == .length)
        #expect(FinishReason("content_filter") == .contentFilter)
        #expect(FinishReason("stop") == .stop)
        #expect(FinishReason("weird") == .other("weird"))
    }
}
