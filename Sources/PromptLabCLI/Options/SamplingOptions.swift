import ArgumentParser
import LLMKit
import Providers

/// How the model is asked.
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling seed.")
    var seed: Int = 42

    @Option(parsing: .unconditional, help: "Sampling temperature, 0 to 2.")
    var temperature: Double = 0

    @Option(parsing: .unconditional, help: "Token limit per request (default: each request's budget, see 'Bounded generation' in the docs' OutputContract article).")
    var maxTokens: Int?

    @Option(parsing: .unconditional, help: "Requests in flight at once, 1 to 1024 (default: the server's slot count for llamacpp, else 4).")
    var concurrency: Int?

    @Option(parsing: .unconditional, help: "Times missing or invalid items are asked again, in smaller requests, 0 to 10.")
    var reask: Int = 2

    func validate() throws {
        try Check.range(temperature, "--temperature", 0...2)
        try Check.range(maxTokens, "--max-tokens", 1...10_000_000)
        try Check.range(concurrency, "--concurrency", 1...1024)
        try Check.range(reask, "--reask", 0...10)
    }

    func configuration(prompt: PromptVersion, prepared: ClientStack.Prepared, itemsPerRequest: Int?, policy: RenormalizationPolicy) -> RelabelConfiguration {
        configuration(prompt: prompt, model: prepared.model, slots: prepared.capabilities.parallelSlots, itemsPerRequest: itemsPerRequest, policy: policy)
    }

    /// The configuration for `model` on a backend with `slots` parallel slots (when known).
    func configuration(prompt: PromptVersion, model: String, slots: Int?, itemsPerRequest: Int?, policy: RenormalizationPolicy) -> RelabelConfiguration {
        RelabelConfiguration(prompt: prompt, model: model, chunkSize: itemsPerRequest,
                             concurrency: concurrency ?? slots ?? 4,
                             temperature: temperature, seed: seed, maxTokens: maxTokens, policy: policy, reaskRounds: reask)
    }
}
