import Foundation
public import LLMKit

/// The providers this package ships, registered by name.
public enum BuiltinProviders {
    /// Option key: the fixtures folder of the `fixture` provider.
    public static let fixturesOption = "fixtures"

    /// A registry with `openai`, `llamacpp` and `fixture`.
    public static func registry() -> ProviderRegistry {
        var registry = ProviderRegistry()
        registry.register("openai", summary: "OpenAI or any OpenAI-compatible server (OPENAI_API_KEY; base URL from OPENAI_BASE_URL); needs a model name") { config in
            try OpenAIProvider.fromEnvironment(config.environment, baseURL: config.baseURL, timeout: config.timeout,
                                               maximumResponseBytes: config.maximumResponseBytes, stream: config.stream ?? false)
        }
        registry.register("llamacpp", summary: "a running llama.cpp llama-server (LLAMA_SERVER_URL, default \(LlamaCppProvider.defaultBaseURL)); model from /props") { config in
            LlamaCppProvider(baseURL: config.baseURL ?? config.environment["LLAMA_SERVER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? LlamaCppProvider.defaultBaseURL,
                             timeout: config.timeout, maximumResponseBytes: config.maximumResponseBytes, stream: config.stream ?? true)
        }
        registry.register("fixture", summary: "replays recorded answers from a recordings folder: no server, no network") { config in
            guard let dir = config.options[fixturesOption] else {
                throw LLMError(.configuration, "The fixture provider needs a recordings folder.", context: .init(provider: "fixture", setting: "fixtures"))
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw LLMError(.configuration, "The recordings folder \(dir) does not exist.", context: .init(provider: "fixture", setting: "fixtures"))
            }
            return FixtureProvider(directory: URL(fileURLWithPath: dir))
        }
        return registry
    }
}
