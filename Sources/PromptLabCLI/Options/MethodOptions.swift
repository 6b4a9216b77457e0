import ArgumentParser
import Foundation
import LLMKit
import Providers

/// How items are relabeled: the prompted adjustment (default), or another method.
struct MethodOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Relabeling method: adjust (a chat model adjusts the votes, the paper's method), logprob (a model's next-token probabilities over the 8 emotion words after a few-shot prompt; llama.cpp or an OpenAI-compatible server with logprobs), or lexicon (the descriptions' words looked up in --lexicon, no model).",
                               valueName: "method"), transform: MethodOptions.parse)
    var method: MethodID = .adjust

    @OptionGroup var evidence: EvidenceOptions

    var lexicon: String? { evidence.lexicon }

    static let known: [MethodID] = [.adjust, .logprob, .lexicon]

    static func parse(_ text: String) throws -> MethodID {
        guard let id = known.first(where: { $0.name == text }) else {
            throw ValidationError("unknown method '\(text)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        return id
    }

    func validate() throws {
        try evidence.check(methods: [method])
    }

    /// Whether the method asks a model (the others run without a provider).
    var needsProvider: Bool { method != .lexicon }

    /// The prompt version a method reads when none is given.
    var defaultPrompt: String { Self.defaultPrompt(for: method) }

    static func defaultPrompt(for method: MethodID) -> String { method == .logprob ? LogProbMethod.defaultPromptName : "paper-reason" }

    /// The bundled recordings the fixture provider replays for this method.
    var bundledRecordings: String? { Self.bundledRecordings(for: method) }

    static func bundledRecordings(for method: MethodID) -> String? { method == .logprob ? Locations.logprobRecordings : nil }

    /// The method to set on the run's configuration (`nil`: the adjustment).
    func make(prompt: PromptVersion) throws -> (any RelabelMethod)? {
        try evidence.make(method, prompt: prompt)
    }
}

/// The settings of the methods that mix evidence into the reference (`logprob`, `lexicon`),
/// shared by `relabel` and `score`.
struct EvidenceOptions: ParsableArguments {
    @Option(name: .customLong("description-weight"), parsing: .unconditional,
            help: ArgumentHelp("For logprob and lexicon: the weight w of the descriptions' evidence in p = (1 − w)·reference + w·evidence (default 0.25, the paper's 25%; 'promptlab fit' fits it to a gold relabeling).", valueName: "w"))
    var descriptionWeight: Double = EvidenceMix.defaultWeight

    @Option(name: .customLong("evidence-temperature"), parsing: .unconditional,
            help: ArgumentHelp("For logprob and lexicon: a temperature T on the evidence before the mix, evidence^(1/T) renormalised (default 1: as it is; >1 flattens; 'promptlab fit' fits it).", valueName: "T"))
    var evidenceTemperature: Double = 1

    @Flag(name: .customLong("preserve-ties"),
          help: "For logprob and lexicon: keep a tie among the reference's top classes (the evidence on them is averaged before the mix).")
    var preserveTies = false

    @Flag(inversion: .prefixedNo, help: "For logprob: calibrate the evidence against content-free inputs (N/A, an empty word, [MASK]): divide by what they get above 1/8 (three more requests; on by default).")
    var calibrate = true

    @Option(name: .customLong("min-mass"), parsing: .unconditional,
            help: ArgumentHelp("For logprob: the least probability mass on the 8 emotion words an item needs; below it the item fails with low_mass (default 0.1).", valueName: "m"))
    var minimumMass: Double = LogProbMethod.defaultMinimumMass

    @Option(help: ArgumentHelp("For --method lexicon: the emotion lexicon (WORD<TAB>CATEGORY[<TAB>0|1] per line; see the RelabelingMethods article).", valueName: "file"))
    var lexicon: String?

    /// Checks the ranges and that `--lexicon` goes with a lexicon method.
    func check(methods: [MethodID]) throws {
        try Check.range(descriptionWeight, "--description-weight", 0...1)
        try Check.range(minimumMass, "--min-mass", 0...1)
        guard evidenceTemperature.isFinite, evidenceTemperature >= 0.01, evidenceTemperature <= 100 else {
            throw ValidationError("--evidence-temperature must be a number from 0.01 to 100, not \(evidenceTemperature)")
        }
        if methods.contains(.lexicon) && lexicon == nil { throw ValidationError("--method lexicon needs --lexicon FILE") }
        if !methods.contains(.lexicon) && lexicon != nil { throw ValidationError("--lexicon goes with --method lexicon") }
    }

    /// `method` with these settings (`nil`: the adjustment).
    func make(_ method: MethodID, prompt: PromptVersion) throws -> (any RelabelMethod)? {
        switch method {
        case .lexicon:
            return LexiconMethod(lexicon: try Lexicon(path: lexicon!), weight: descriptionWeight, evidenceTemperature: evidenceTemperature,
                                 preservesTies: preserveTies)
        case .logprob:
            return LogProbMethod(prompt: prompt, weight: descriptionWeight, minimumMass: minimumMass, evidenceTemperature: evidenceTemperature,
                                 preservesTies: preserveTies, calibrates: calibrate)
        default:
            return nil
        }
    }
}
