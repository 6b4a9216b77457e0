import Foundation
import Synchronization

/// Distributions from a model's next-token log-probabilities (``MethodID/logprob``): the
/// descriptions are read by a base model through a few-shot completion prompt, and the
/// distribution of its next token over the 8 emotion words is the evidence, mixed into the
/// reference with ``EvidenceMix`` (`p = (1 − w)·reference + w·evidence`).
///
/// For each item: the prompt version's system text (the few-shot header, the same for every
/// item, so llama.cpp's prompt cache serves it) and its user line with `{{data}}` replaced by
/// the item's sanitised descriptions joined by `", "` (`Word: Haaapy, joyful -> Emotion:`);
/// one next-token request (``CompletionRequest/nextToken(model:prompt:topTokens:)``) per item,
/// up to ``RelabelConfiguration/concurrency`` of a chunk at once; the candidates are mapped to
/// emotions by ``emotion(forToken:)``; their summed probability is the item's mass
/// (``Relabel/evidenceMass``). Below ``minimumMass`` the item fails with
/// ``ItemFailure/Kind/lowMass`` (it is not silently kept as the reference); otherwise the 8
/// sums are normalised into the evidence. An item without descriptions keeps its reference
/// and is marked ``Relabel/noEvidence``.
///
/// Choices, with the figures they rest on (Gemma 3 270M Q4_K_M on llama-server, 60 items of
/// the EMO-SUPERB dev split, 40 with two or more descriptions; GPT-4's relabels as the yardstick,
/// whose mean JS divergence to the unchanged reference is 0.0514 on those items):
///
/// - **The whole description string in one request**, not one request per description
///   averaged: on the 40 multi-description items the whole string gave a mean JS divergence to
///   GPT-4 of 0.0619 at w = 0.25 (0.0644 averaged per description); on the first 300 dev items
///   (`bench/logprob_variants.py`) the two are equal within noise (0.0395 vs 0.0397 at w = 0.05).
///   One short request, one mass per item.
/// - **The top tokens mapped, not a grammar**: a llama.cpp `grammar` restricted to the 8 words
///   with `post_sampling_probs` gives the same distribution renormalised (0.0394 vs 0.0395 at
///   w = 0.05 on the first 300 dev items), still needs the prefix mapping (`" a"`, `" con"`,
///   `" dis"` are allowed tokens), and hides the mass, so an item the model cannot place would
///   never be told apart. The RelabelingMethods article has the tables.
/// - **The default threshold 0.1**: with the bundled `logprob-fewshot` header the mass on the
///   8 words ranged 0.15–0.79 (median 0.48, deciles 0.30–0.72), so no item of those 60 fails;
///   with a header of only 8 one-word examples the median was 0.12 and 28 of 60 were below 0.1
///   (the model echoed the description: `" worry"`, `" concern"`). A mass below 0.1 means the
///   model was not answering with an emotion word at all.
/// - **What it gives** (150 other random dev items with descriptions, 138 of them changed by
///   GPT-4; the mass was 0.10–0.79, median 0.50, 1 item below 0.1): the mean JS divergence to
///   GPT-4's relabels is 0.0440 at w = 0.05 against 0.0467 for the unchanged reference (0.0469
///   against 0.0507 on the changed items), 0.0467 at w = 0.1 and 0.0651 at w = 0.25: only a
///   small `w` gets closer. The argmax agreement falls (0.96 unchanged, 0.847 at w = 0.05, 0.813
///   at w = 0.25): a reference with tied maxima has its tie broken toward the evidence, which
///   GPT-4 mostly keeps. The evidence's argmax is the class GPT-4 raised most on 33% of the
///   changed items. The raw distribution leans to `happy` and `surprise` (the last examples of
///   the header; a content-free input, `N/A`, gets happy 0.40, surprise 0.40).
/// - **Calibration** (``calibrates``, on by default; `--no-calibrate`): the evidence divided by what content-free
///   inputs (`N/A`, an empty word, `[MASK]`) get, where that is above the uniform 1/8 (Zhao et
///   al. 2021's contextual calibration, with the uniform share as the floor so a class the
///   model never names is not blown up). On the whole dev split its argmax names the class of
///   the 75 items whose descriptions name one class with a class word 64% of the time instead
///   of 20%, and the mix at w = 0.04 gets closer to GPT-4 (JS 0.0464 vs 0.0474). Three more
///   requests per run.
public struct LogProbMethod: RelabelMethod {
    /// The mass on the 8 words below which an item fails with ``ItemFailure/Kind/lowMass``.
    public static let defaultMinimumMass = 0.1
    /// Candidates asked per item (OpenAI's largest `top_logprobs`).
    public static let defaultTopTokens = 20
    /// The bundled prompt version's name.
    public static let defaultPromptName = "logprob-fewshot"

    public let id: MethodID = .logprob
    /// The few-shot prompt: its system text is the header, its user text the item's line.
    public let prompt: PromptVersion
    /// How the evidence is mixed in: `w`, a temperature, the tie rule.
    public let mix: EvidenceMix
    /// The evidence's weight `w` in `(1 − w)·reference + w·evidence`.
    public var weight: Double { mix.weight }
    /// The least mass on the 8 words an item needs.
    public let minimumMass: Double
    /// Candidate tokens asked per item.
    public let topTokens: Int
    /// The model to ask; `nil`: the run's (``RelabelConfiguration/model``).
    public let model: String?
    /// Whether the evidence is calibrated against content-free inputs (see the type's notes).
    public let calibrates: Bool
    /// The content-free inputs of the calibration.
    public static let contentFreeInputs = ["N/A", "", "[MASK]"]
    /// The calibration, asked once per model (a run's first chunk; `score` runs one method on
    /// several providers, and each model is calibrated against its own content-free answers).
    let calibration = CalibrationBox()

    final class CalibrationBox: Sendable {
        let tasks = Mutex<[String: Task<[Double], any Error>]>([:])
    }

    /// A method reading the next token after `prompt`'s few-shot header.
    /// - Parameters:
    ///   - prompt: the few-shot prompt version (`logprob-fewshot` is bundled).
    ///   - weight: `w`, clamped to 0...1 (the paper's 0.25 by default).
    ///   - minimumMass: an item whose mass on the 8 words is lower fails with `low_mass`.
    ///   - topTokens: candidates asked per item (at least 1; OpenAI-compatible servers take at most 20).
    ///   - model: the model to ask, when it is not the run's.
    ///   - evidenceTemperature: `T` on the evidence before the mix (1: as it is; see ``EvidenceMix``).
    ///   - preservesTies: keep a tie among the reference's maximal classes (see ``EvidenceMix``).
    ///   - calibrates: divide the evidence by the content-free distribution (the default; see the type's notes).
    public init(prompt: PromptVersion, weight: Double = EvidenceMix.defaultWeight, minimumMass: Double = LogProbMethod.defaultMinimumMass,
                topTokens: Int = LogProbMethod.defaultTopTokens, model: String? = nil, evidenceTemperature: Double = 1, preservesTies: Bool = false,
                calibrates: Bool = true) {
        self.prompt = prompt
        self.calibrates = calibrates
        mix = EvidenceMix(weight: weight, temperature: evidenceTemperature, preservesTies: preservesTies)
        self.minimumMass = max(0, minimumMass)
        self.topTokens = max(1, topTokens)
        self.model = model
    }

    /// The prompt id, the mix (weight; temperature and tie rule when set), minimum mass and
    /// number of candidates (and the model when it is not the run's): a resume with other
    /// values is refused.
    public var parameters: JSONValue {
        var object: JSONObject = ["prompt": .string(prompt.id)]
        for (key, value) in mix.parameters { object[key] = value }
        object["minimum_mass"] = .double(minimumMass)
        object["top_tokens"] = .int(topTokens)
        if calibrates { object["calibrate"] = true }
        if let model { object["model"] = .string(model) }
        return .object(object)
    }

    /// Refuses a run without a provider, or with one that gives no next-token probabilities.
    public func check(provider: ProviderCapabilities?) throws(LLMError) {
        guard let provider else {
            throw LLMError(.configuration, "the logprob method asks a model for next-token log-probabilities, and this run has no provider.")
        }
        guard provider.nextTokenProbabilities else {
            throw LLMError(.configuration, "this provider does not return next-token log-probabilities; use llamacpp (llama-server) or an OpenAI-compatible server with logprobs.")
        }
    }

    /// The text sent for `item`: the header, a newline, the user line with its descriptions.
    public func promptText(for item: DatasetItem) -> String? {
        let descriptions = item.descriptions.map { prompt.sanitize($0) }.filter { !$0.isEmpty }
        guard !descriptions.isEmpty else { return nil }
        let line = prompt.userTemplate.replacingPlaceholders(["data": descriptions.joined(separator: ", "), "count": "1"])
        return prompt.systemText + "\n" + line
    }

    /// The request for `item` with the run's `model`, or `nil` when it has no descriptions.
    public func request(for item: DatasetItem, model runModel: String) -> CompletionRequest? {
        guard let text = promptText(for: item) else { return nil }
        return .nextToken(model: model ?? runModel, prompt: text, topTokens: topTokens)
    }

    public func relabel(_ chunk: [DatasetItem], context: MethodContext) async throws -> [ItemOutcome] {
        var contentFree: [Double]?
        if calibrates {
            // Chunks run concurrently: the first one asks, the others wait for its answer.
            let key = model ?? context.configuration.model
            let task = calibration.tasks.withLock { tasks in
                if let task = tasks[key] { return task }
                let started = Task { try await self.contentFreeDistribution(context: context) }
                tasks[key] = started
                return started
            }
            contentFree = try await task.value
        }
        var items = chunk[...]
        var outcomes: [ItemOutcome] = []
        outcomes.reserveCapacity(chunk.count)
        try await forEachInOrder(limit: context.configuration.concurrency, next: { items.popFirst() },
                                 work: { [contentFree] item in try await self.outcome(for: item, context: context, contentFree: contentFree) },
                                 deliver: { outcomes.append($0) })
        return outcomes
    }

    /// The calibration's requests with the run's `model` (one per content-free input), asked
    /// once per model when the method calibrates: what a run sends and `experiment plan` counts.
    public func calibrationRequests(model runModel: String) -> [CompletionRequest] {
        Self.contentFreeInputs.map { input in
            let text = prompt.systemText + "\n" + prompt.userTemplate.replacingPlaceholders(["data": input, "count": "1"])
            return .nextToken(model: model ?? runModel, prompt: text, topTokens: topTokens)
        }
    }

    /// The mean next-token distribution over the 8 words of the content-free inputs (each
    /// normalised by its mass); a provider error stops the run.
    func contentFreeDistribution(context: MethodContext) async throws -> [Double] {
        var sums = [Double](repeating: 0, count: Emotion.count)
        var answered = 0
        for request in calibrationRequests(model: context.configuration.model) {
            let response = try await context.send(request, items: 0)
            let evidence = Self.evidence(response.nextTokens ?? [])
            let mass = evidence.reduce(0, +)
            guard mass > 0 else { continue }
            answered += 1
            for i in sums.indices { sums[i] += evidence[i] / mass }
        }
        guard answered > 0 else {
            throw LLMError(.invalidOutput, "calibration: no content-free input put any mass on the 8 emotion words")
        }
        return sums.map { $0 / Double(answered) }
    }

    /// `evidence` divided by `contentFree` where that is above 1/8, renormalised.
    public static func calibrated(_ evidence: [Double], contentFree: [Double]) -> [Double] {
        let divided = zip(evidence, contentFree).map { $0 / max($1, 1.0 / Double(Emotion.count)) }
        let total = divided.reduce(0, +)
        return total > 0 ? divided.map { $0 / total } : evidence
    }

    /// One item's outcome: its request, answer and mix (a fatal provider error or a
    /// cancellation is thrown, see ``MethodContext/failure(for:)``).
    func outcome(for item: DatasetItem, context: MethodContext, contentFree: [Double]?) async throws -> ItemOutcome {
        guard let request = request(for: item, model: context.configuration.model) else {
            return .relabeled(Relabel(adjusted: item.reference, raw: item.reference.values, reason: "no descriptions", sumWasOff: false, noEvidence: true))
        }
        let response: CompletionResponse
        do throws(LLMError) {
            response = try await context.send(request, items: 1)
        } catch {
            return .failed(try context.failure(for: error))
        }
        guard let tokens = response.nextTokens else {
            return .failed(ItemFailure(.providerError, "the provider answered without next-token probabilities", providerError: .invalidOutput))
        }
        return outcome(reference: item.reference, tokens: tokens, contentFree: contentFree)
    }

    /// The outcome for an item with `reference` whose next-token candidates were `tokens`;
    /// `contentFree`: the model's calibration (ignored when the method does not calibrate).
    public func outcome(reference: EmotionDistribution, tokens: [TokenProbability], contentFree: [Double]? = nil) -> ItemOutcome {
        let evidence = Self.evidence(tokens)
        let mass = evidence.reduce(0, +)
        guard mass >= minimumMass, mass > 0 else {
            let top = tokens.prefix(3).map { "\($0.token.debugDescription) \(Self.format($0.probability))" }.joined(separator: ", ")
            return .failed(ItemFailure(.lowMass, "the next token put \(Self.format(mass)) of its mass on the 8 emotion words, below \(Self.format(minimumMass)) (most likely: \(top))"))
        }
        var normalised = evidence.map { $0 / mass }
        let contentFree = calibrates ? contentFree : nil
        if let contentFree { normalised = Self.calibrated(normalised, contentFree: contentFree) }
        let distribution = (try? EmotionDistribution.normalizing(normalised, policy: .default).distribution) ?? reference
        let adjusted = mix.apply(reference: reference, evidence: distribution.values)
        return .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: (contentFree != nil ? "calibrated " : "") + Self.reason(distribution, mass: mass), sumWasOff: false,
                                  evidenceMass: mass, evidence: distribution.values))
    }

    /// The probability the candidates put on each emotion (in ``Emotion`` order), summed over
    /// the tokens ``emotion(forToken:)`` maps; their total is the mass.
    public static func evidence(_ tokens: [TokenProbability]) -> [Double] {
        var sums = [Double](repeating: 0, count: Emotion.count)
        for token in tokens {
            guard let emotion = emotion(forToken: token.token), !token.logprob.isNaN else { continue }
            sums[emotion.rawValue] += token.probability
        }
        return sums
    }

    /// The word forms that name each emotion: the class word and its own inflections and
    /// nominalisations. Synonyms (`joy`, `excited`, `worry`) are deliberately not here: mapping
    /// them would be a lexicon (the ``MethodID/lexicon`` method), and the prompt's header asks
    /// the model to answer with one of the 8 words instead.
    public static let wordForms: [Emotion: [String]] = [
        .angry: ["angry", "anger", "angered", "angrily"],
        .sad: ["sad", "sadness", "saddened"],
        .disgust: ["disgust", "disgusted", "disgusting"],
        .contempt: ["contempt", "contemptuous"],
        .fear: ["fear", "fearful", "feared"],
        .neutral: ["neutral", "neutrality"],
        .surprise: ["surprise", "surprised", "surprising"],
        .happy: ["happy", "happiness", "happily"],
    ]

    /// The shortest token prefix taken as the start of a word form.
    public static let minimumPrefixLength = 3

    /// The emotion a candidate token names, against a real tokenizer's spelling:
    /// - leading whitespace and word-start markers are dropped (`" angry"`, SentencePiece's
    ///   `"▁angry"`, GPT-2 BPE's `"Ġangry"`), as is punctuation at either end (`" happy."`);
    /// - case is ignored (`" Angry"`, `"HAPPY"`);
    /// - a token that is one of ``wordForms`` names its emotion (`" anger"`, `" sadness"`);
    /// - a token of at least ``minimumPrefixLength`` letters that begins word forms of exactly
    ///   one emotion is the first piece of a word split by the tokenizer (`"ang"`, `" Dis"`,
    ///   `" con"`, `" surpr"`); a shorter or ambiguous piece (`" a"`, `" s"`) names none;
    /// - anything else (`" joy"`, `" worry"`, `"\n"`, a token with a letter inside other
    ///   characters) names none.
    public static func emotion(forToken token: String) -> Emotion? {
        var scalars = Substring(token).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace || first == "▁" || first == "Ġ" { scalars.removeFirst() }
        let letters = CharacterSet.letters
        while let first = scalars.first, !letters.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, !letters.contains(last) { scalars.removeLast() }
        guard !scalars.isEmpty, scalars.allSatisfy({ $0.isASCII && letters.contains($0) }) else { return nil }
        let word = String(String.UnicodeScalarView(scalars)).lowercased()
        if let exact = exactForms[word] { return exact }
        guard word.count >= minimumPrefixLength else { return nil }
        let starts = Set(wordForms.compactMap { emotion, forms in forms.contains { $0.hasPrefix(word) } ? emotion : nil })
        return starts.count == 1 ? starts.first : nil
    }

    private static let exactForms: [String: Emotion] = {
        var forms: [String: Emotion] = [:]
        for (emotion, words) in wordForms { for word in words { forms[word] = emotion } }
        return forms
    }()

    /// `next token: happy 0.82, surprise 0.10 (mass 0.61)`: the evidence's classes of at least
    /// 0.05 (at most 3), most likely first.
    static func reason(_ evidence: EmotionDistribution, mass: Double) -> String {
        let ranked = Emotion.allCases.map { ($0, evidence[$0]) }.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        let shown = ranked.prefix(3).filter { $0.1 >= 0.05 }
        let parts = (shown.isEmpty ? Array(ranked.prefix(1)) : shown).map { "\($0.0.name) \(format($0.1))" }
        return "next token: \(parts.joined(separator: ", ")) (mass \(format(mass)))"
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
