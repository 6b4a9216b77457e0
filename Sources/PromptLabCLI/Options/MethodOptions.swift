import ArgumentParser
import Foundation
import LLMKit
import Providers

/// How items are relabeled: the prompted adjustment (default), or another method.
struct MethodOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Relabeling method: adjust (a chat model adjusts the votes, the paper's method), logprob (a model's next-token probabilities over the 8 emotion words after a few-shot prompt; llama.cpp or an OpenAI-compatible server with logprobs), or lexicon (the descriptions' words looked up in --lexicon, no model).",
                               valueName: "method"), transform: MethodOptions.parse)
    var method: MethodID = .adjust

    @Option(name: .customLong("description-weight"), parsing: .unconditional,
            help: ArgumentHelp("For logprob and lexicon: the weight w of the descriptions' evidence in p = (1 − w)·reference + w·evidence (default 0.25, the paper's 25%).", valueName: "w"))
    var descriptionWeight: Double = EvidenceMix.defaultWeight

    @Option(name: .customLong("min-mass"), parsing: .unconditional,
            help: ArgumentHelp("For logprob: the least probability mass on the 8 emotion words an item needs; below it the item fails with low_mass (default 0.1).", valueName: "m"))
    var minimumMass: Double = LogProbMethod.defaultMinimumMass

    @Option(help: ArgumentHelp("For --method lexicon: the emotion lexicon (WORD<TAB>CATEGORY[<TAB>0|1] per line; see the docs' LogprobAndLexicon article).", valueName: "file"))
    var lexicon: String?

    static func parse(_ text: String) throws -> MethodID {
        let known: [MethodID] = [.adjust, .logprob, .lexicon]
        guard let id = known.first(where: { $0.name == text }) else {
            throw ValidationError("unknown method '\(text)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        return id
    }

    func validate() throws {
        try Check.range(descriptionWeight, "--description-weight", 0...1)
        try Check.range(minimumMass, "--min-mass", 0...1)
        if method == .lexicon && lexicon == nil { throw ValidationError("--method lexicon needs --lexicon FILE") }
        if method != .lexicon && lexicon != nil { throw ValidationError("--lexicon goes with --method lexicon") }
    }

    /// Whether the method asks a model (the others run without a provider).
    var needsProvider: Bool { method != .lexicon }

    /// The prompt version a method reads when none is given.
    var defaultPrompt: String { method == .logprob ? LogProbMethod.defaultPromptName : "paper-reason" }

    /// The bundled recordings the fixture provider replays for this method.
    var bundledRecordings: String? { method == .logprob ? Locations.logprobRecordings : nil }

    /// The method to set on the run's configuration (`nil`: the adjustment).
    func make(prompt: PromptVersion) throws -> (any RelabelMethod)? {
        switch method {
        case .lexicon:
            return LexiconMethod(lexicon: try Lexicon(path: lexicon!), weight: descriptionWeight)
        case .logprob:
            return LogProbMethod(prompt: prompt, weight: descriptionWeight, minimumMass: minimumMass)
        default:
            return nil
        }
    }
}

/// The provider of a run whose method asks no model (`lexicon`): recorded as `none`, never called.
struct NoModelProvider: LLMProvider {
    let id = ProviderID("none")
    let capabilities = ProviderCapabilities()
    func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        throw LLMError(.configuration, "This method sends no request; the 'none' provider answers nothing.")
    }
}
