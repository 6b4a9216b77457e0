import Foundation
import LLMKit
import Testing
import TestSupport
@testable import Providers

/// A third party's provider that lists its server's models through ``ModelListing`` (no
/// built-in type): `models` `nil` is a server without a list (a 404).
struct ListingEndpoint: ModelListing {
    let id: ProviderID = "lister"
    let capabilities = ProviderCapabilities(parallelSlots: 2)
    let baseURL: String
    let models: [String]?
    /// The status a missing list answers with.
    var status = 404

    var identity: String? { baseURL }

    func listModels() async throws -> [String] {
        guard let models else { throw LLMError(.badRequest, "\(baseURL) has no model list", context: .init(provider: id.name, httpStatus: status)) }
        return models
    }

    func complete(_ request: CompletionRequest) async throws -> CompletionResponse { CompletionResponse(text: "{}", model: request.model) }
}

/// The pool's model check asks every endpoint through ``ModelListing``: a third party's
/// provider, and the built-in Anthropic and Gemini providers against the fault server's model
/// lists (read page by page).
@Suite struct PoolModelListingTests {
    static func pool(_ members: [any LLMProvider], urls: [String], model: String?) -> PoolProvider {
        PoolProvider(id: "p", members: zip(urls, members).map { (PoolEndpoint(baseURL: $0), $1) }, model: model)
    }

    static func refusal(_ pool: PoolProvider) async -> LLMError? {
        do { _ = try await pool.prepare() } catch { return error as? LLMError }
        return nil
    }

    @Test func aThirdPartyProviderThatListsItsModelsGetsTheSameModelCheck() async throws {
        let urls = ["http://a", "http://b"]
        let mixed = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["x", "m"]), ListingEndpoint(baseURL: "http://b", models: ["other"])], urls: urls, model: "m")
        let error = try #require(await Self.refusal(mixed), "a pool whose second server does not list the model is refused")
        #expect(error.kind == .configuration && error.message.contains("http://a serves m; http://b serves other"), "\(error)")

        let same = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["x", "m"]), ListingEndpoint(baseURL: "http://b", models: ["m-20250929"])], urls: urls, model: "m")
        let capabilities = try await same.prepare()
        #expect(capabilities.parallelSlots == 4 && capabilities.servedModel == "m", "a dated snapshot of the model is the model")

        let silent = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["m"]), ListingEndpoint(baseURL: "http://b", models: nil)], urls: urls, model: "m")
        #expect(await Self.refusal(silent)?.message.contains("http://b reports no model") == true, "a server without a list cannot confirm its model")

        let unasked = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["only"]), ListingEndpoint(baseURL: "http://b", models: ["only"])], urls: urls, model: nil)
        #expect(try await unasked.prepare().servedModel == "only", "with no model given, the model the servers list")

        // No model given and a server lists several (a hosted API lists dozens): no guess.
        let many = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["only"]), ListingEndpoint(baseURL: "http://b", models: ["x", "only"])], urls: urls, model: nil)
        let guess = try #require(await Self.refusal(many), "the first of several listed models is not taken")
        #expect(guess.kind == .configuration && guess.context.setting == .model && guess.message == "No model was given and http://b lists 2 models; name the one to use.", "\(guess)")

        // A wrong key stops the pool with the server's own error; a 429 leaves the server to its answers.
        let locked = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["m"]), ListingEndpoint(baseURL: "http://b", models: nil, status: 401)], urls: urls, model: "m")
        #expect(await Self.refusal(locked)?.context.httpStatus == 401)
        let busy = Self.pool([ListingEndpoint(baseURL: "http://a", models: ["m"]), ListingEndpoint(baseURL: "http://b", models: nil, status: 429)], urls: urls, model: "m")
        #expect(try await busy.prepare().servedModel == "m", "a 429 on the list is no answer, not 'no model'")
    }

    static func server(_ models: [String]?, key: String = "pool-key", pageLimit: Int = 1000) throws -> FaultServer {
        var configuration = FaultServer.Configuration()
        configuration.models = models
        configuration.modelsPageLimit = pageLimit
        configuration.requiredKey = key
        return try FaultServer(configuration)
    }

    @Test(arguments: ["anthropic", "gemini"])
    func anthropicAndGeminiPoolsCheckTheModelEachServerLists(provider: String) async throws {
        func member(_ server: FaultServer) -> any ModelListing {
            provider == "anthropic" ? AnthropicProvider(baseURL: server.server.baseURL, apiKey: "pool-key") : GeminiProvider(baseURL: server.server.baseURL, apiKey: "pool-key")
        }
        // Three to a page: the model asked for is on the second page of the first server.
        let asked = provider == "anthropic" ? "claude-sonnet-4-5" : "gemini-2.5-flash"
        let listed = provider == "anthropic" ? "claude-sonnet-4-5-20250929" : "gemini-2.5-flash"
        let first = try Self.server(["a1", "a2", "a3", "a4", listed], pageLimit: 3), second = try Self.server([listed]), other = try Self.server(["not-it"])
        defer { [first, second, other].forEach { $0.stop() } }
        let good = Self.pool([member(first), member(second)], urls: [first.server.baseURL, second.server.baseURL], model: asked)
        #expect(try await good.prepare().servedModel == asked)
        let bad = Self.pool([member(first), member(other)], urls: [first.server.baseURL, other.server.baseURL], model: asked)
        let error = try #require(await Self.refusal(bad), "a server that does not list \(asked) is refused")
        #expect(error.message.contains("\(other.server.baseURL) serves not-it"), "\(error)")
        #expect([first, second, other].allSatisfy { $0.counts.unauthenticated == 0 && $0.counts.requests == 0 }, "asked with the key; no completion sent")
    }

    @Test func anthropicAndGeminiReadEveryPageOfTheirModelLists() async throws {
        let models = (1...7).map { "model-\($0)" }
        let server = try Self.server(models, key: "k", pageLimit: 2)
        defer { server.stop() }
        #expect(try await AnthropicProvider(baseURL: server.server.baseURL, apiKey: "k").listModels() == models)
        #expect(try await GeminiProvider(baseURL: server.server.baseURL, apiKey: "k").listModels() == models, "without the models/ prefix")
        #expect(try await OpenAIProvider(baseURL: server.baseURL, apiKey: nil).listModels() == models)

        let empty = try Self.server([], key: "k")
        defer { empty.stop() }
        #expect(try await GeminiProvider(baseURL: empty.server.baseURL, apiKey: "k").listModels().isEmpty, "an empty list is {}")
        #expect(try await AnthropicProvider(baseURL: empty.server.baseURL, apiKey: "k").listModels().isEmpty)

        let none = try Self.server(nil, key: "k")
        defer { none.stop() }
        func failure(_ lister: any ModelListing) async -> LLMError? {
            do { _ = try await lister.listModels() } catch { return error as? LLMError }
            return nil
        }
        for lister in [AnthropicProvider(baseURL: none.server.baseURL, apiKey: "k") as any ModelListing, GeminiProvider(baseURL: none.server.baseURL, apiKey: "k")] {
            #expect(await failure(lister)?.context.httpStatus == 404, "no list: a 4xx the pool reads as an answer without a model")
        }
        let refused = await failure(GeminiProvider(baseURL: server.server.baseURL, apiKey: "wrong-key"))
        #expect(refused?.context.httpStatus == 401 && refused?.message.contains("wrong-key") == false)
    }

    /// The last path component is the model, cut at `.gguf` only: a dot inside a model's name
    /// is no extension (`Qwen2.5-7B`, `gemini-2.5-flash`).
    @Test func aPathNamesTheModelOfItsLastComponent() {
        #expect(PoolProvider.isSameModel("models/gemini-2.5-flash", as: "gemini-2.5-flash"))
        #expect(!PoolProvider.isSameModel("models/gemini-2.0-flash", as: "gemini-2.5-flash"))
        #expect(PoolProvider.isSameModel("/models/Qwen2.5-7B.gguf", as: "Qwen2.5-7B"))
        #expect(!PoolProvider.isSameModel("/models/Qwen2.5-7B.gguf", as: "Qwen2.0-7B"))
        #expect(PoolProvider.isSameModel("claude-sonnet-4-5-20250929", as: "claude-sonnet-4-5"))
        // A snapshot's suffix is a date, not any digits: a newer version is another model.
        #expect(!PoolProvider.isSameModel("claude-sonnet-4-5-20250929", as: "claude-sonnet-4"))
        #expect(!PoolProvider.isSameModel("claude-opus-4-1-20250805", as: "claude-opus-4"))
        #expect(PoolProvider.isSameModel("gpt-4-0613", as: "gpt-4") && PoolProvider.isSameModel("gpt-4o-2024-08-06", as: "gpt-4o"))
        #expect(!PoolProvider.isSameModel("gpt-4-1", as: "gpt-4") && !PoolProvider.isSameModel("m-2024-08", as: "m"))
    }
}
