import Foundation
public import LLMKit

/// The providers this package ships, registered by name.
public enum BuiltinProviders {
    /// Option key: the fixtures folder of the `fixture` provider.
    public static let fixturesOption = "fixtures"

    /// A registry with `openai`, `llamacpp` and `fixture`.
    public static func registry() -> ProviderRegistry {
        var registry = ProviderRegistry()
        registry.register("openai", summary: "OpenAI or any OpenAI-compatible server (OPENAI_API_KEY; --base-url or OPENAI_BASE_URL)") { config in
            var provider = try OpenAIProvider.fromEnvironment(config.environment, baseURL: config.baseURL)
            if let timeout = config.requestTimeout { provider.requestTimeout = timeout }
            return provider
        }
        registry.register("llamacpp", summary: "a running llama.cpp llama-server (--base-url or LLAMA_SERVER_URL, default \(LlamaCppProvider.defaultBaseURL))") { config in
            LlamaCppProvider(baseURL: config.baseURL ?? config.environment["LLAMA_SERVER_URL"] ?? LlamaCppProvider.defaultBaseURL,
                             requestTimeout: config.requestTimeout ?? 600)
        }
        registry.register("fixture", summary: "replays recorded answers from --fixtures DIR: no server, no network") { config in
            guard let dir = config.options[fixturesOption] else {
                throw LLMError(.configuration, "The fixture provider needs a recordings folder: pass --fixtures DIR.")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw LLMError(.configuration, "The recordings folder \(dir) does not exist.")
            }
            return FixtureProvider(directory: URL(fileURLWithPath: dir))
        }
        return registry
    }

    /// The model name used when none is given: the project's local model, which the bundled
    /// recordings were made with.
    public static let defaultModel = LlamaCppProvider.defaultModel
}
