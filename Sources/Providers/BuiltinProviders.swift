import Foundation
public import LLMKit

/// The names of the providers this package ships. A provider of another package has its own
/// ``ProviderID``: compare with these, not with string literals.
extension ProviderID {
    /// OpenAI, or any OpenAI-compatible server (``OpenAIProvider``).
    public static let openAI: ProviderID = "openai"
    /// A running llama.cpp `llama-server` (``LlamaCppProvider``).
    public static let llamaCpp: ProviderID = "llamacpp"
    /// Answers replayed from a recordings folder (``FixtureProvider``).
    public static let fixture: ProviderID = "fixture"
    /// Anthropic's Messages API (``AnthropicProvider``).
    public static let anthropic: ProviderID = "anthropic"
    /// Google's Gemini API (``GeminiProvider``).
    public static let gemini: ProviderID = "gemini"
}

/// The providers this package ships, registered by name.
public enum BuiltinProviders {
    /// Option key: the fixtures folder of the `fixture` provider.
    public static let fixturesOption = "fixtures"

    /// A registry with `openai`, `anthropic`, `gemini`, `llamacpp` and `fixture`.
    public static func registry() -> ProviderRegistry {
        var registry = ProviderRegistry()
        let concurrency = "--concurrency"
        registry.register(ProviderID.openAI.name, summary: "OpenAI or any OpenAI-compatible server (OPENAI_API_KEY; base URL from OPENAI_BASE_URL); needs a model name",
                          features: ProviderFeatures(structuredOutput: "json_schema (strict)", logProbabilities: true, batchAPI: "Batch API (/v1/batches)", slots: concurrency)) { config in
            try OpenAIProvider.fromEnvironment(config.environment, baseURL: config.baseURL, timeout: config.timeout,
                                               maximumResponseBytes: config.maximumResponseBytes, stream: config.stream ?? false)
        }
        registry.register(ProviderID.anthropic.name, summary: "Anthropic's Messages API (ANTHROPIC_API_KEY; --base-url is the API root, default \(AnthropicProvider.defaultBaseURL)); needs a model name",
                          features: ProviderFeatures(structuredOutput: "output_config json_schema, else a forced tool", logProbabilities: false,
                                                     batchAPI: "Message Batches (/v1/messages/batches)", slots: concurrency)) { config in
            try AnthropicProvider.fromEnvironment(config.environment, baseURL: config.baseURL, timeout: config.timeout, maximumResponseBytes: config.maximumResponseBytes)
        }
        registry.register(ProviderID.gemini.name, summary: "Google's Gemini API (GEMINI_API_KEY or GOOGLE_API_KEY; --base-url is the API root, default \(GeminiProvider.defaultBaseURL)); needs a model name",
                          features: ProviderFeatures(structuredOutput: "responseJsonSchema, else responseSchema", logProbabilities: false,
                                                     batchAPI: "batch mode (batchGenerateContent)", slots: concurrency)) { config in
            try GeminiProvider.fromEnvironment(config.environment, baseURL: config.baseURL, timeout: config.timeout, maximumResponseBytes: config.maximumResponseBytes)
        }
        registry.register(ProviderID.llamaCpp.name, summary: "a running llama.cpp llama-server (LLAMA_SERVER_URL, default \(LlamaCppProvider.defaultBaseURL)); model from /props",
                          features: ProviderFeatures(structuredOutput: "json_schema (grammar)", logProbabilities: true, batchAPI: nil, slots: "server's /props (-np)")) { config in
            LlamaCppProvider(baseURL: config.baseURL ?? config.environment["LLAMA_SERVER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? LlamaCppProvider.defaultBaseURL,
                             timeout: config.timeout, maximumResponseBytes: config.maximumResponseBytes, stream: config.stream ?? true)
        }
        registry.register(ProviderID.fixture.name, summary: "replays recorded answers from a recordings folder: no server, no network",
                          features: ProviderFeatures(structuredOutput: "as recorded", logProbabilities: true, batchAPI: nil, slots: "unlimited")) { config in
            guard let dir = config.options[fixturesOption] else {
                throw LLMError(.configuration, "The fixture provider needs a recordings folder.", context: .init(provider: ProviderID.fixture.name, setting: .fixtures))
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw LLMError(.configuration, "The recordings folder \(dir) does not exist.", context: .init(provider: ProviderID.fixture.name, setting: .fixtures))
            }
            return FixtureProvider(directory: URL(fileURLWithPath: dir))
        }
        return registry
    }
}
