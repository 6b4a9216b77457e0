import Foundation
import Testing
@testable import LLMKit

/// The `logprob` method's parts: the token-to-emotion mapping on the recorded answers of the
/// real Gemma 3 270M (fixtures/logprob/gemma3-270m, recorded from llama-server by
/// `LogProbLiveTests.recordTheSampleRun`; read here with plain JSON, independently of the
/// providers' decoder), the weight combination, the low-mass failure, the bundled prompt.
@Suite struct LogProbMethodTests {
    /// Every recorded answer: the item's line (`Word: ... -> Emotion:`) and its candidates.
    static let recorded: [(line: String, tokens: [TokenProbability])] = {
        let folder = TestPaths.repository.appendingPathComponent("fixtures/logprob/gemma3-270m")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.compactMap { name in
            guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8),
                  let file = try? StrictJSON.parse(text), let prompt = file["request"]?["prompt"]?.stringValue,
                  let body = file["interactions"]?.arrayValue?.first?["body"]?.stringValue, let answer = try? StrictJSON.parse(body),
                  let top = answer["completion_probabilities"]?.arrayValue?.first?["top_logprobs"]?.arrayValue else { return nil }
            let tokens = top.compactMap { t in t["token"]?.stringValue.flatMap { token in t["logprob"]?.doubleValue.map { TokenProbability(token: token, logprob: $0) } } }
            return (String(prompt.split(separator: "\n").last ?? ""), tokens)
        }
    }()

    static func answer(for description: String) throws -> [TokenProbability] {
        try #require(recorded.first { $0.line == "Word: \(description) -> Emotion:" }?.tokens, "no recording for \(description)")
    }

    static let prompt = try! PromptLibrary(directories: []).resolve(LogProbMethod.defaultPromptName)

    @Test func theRecordingsAreRealAnswersOfTheBundledPrompt() throws {
        #expect(Self.recorded.count == 64, "the sample's 61 distinct lines and the calibration's 3 content-free inputs")
        #expect(Self.recorded.allSatisfy { $0.tokens.count == 20 })
    }

    @Test func theRealTokenizersSpellingsMapToTheirEmotion() throws {
        let tokens = Set(Self.recorded.flatMap { $0.tokens.map(\.token) })
        // Spellings the real tokenizer produced: leading space, capitals, no space, other word
        // forms and first pieces of a split word. Each is in the recordings, and maps.
        let expected: [String: Emotion] = [
            " angry": .angry, " Angry": .angry, " anger": .angry, " sad": .sad, " Sad": .sad, " sadness": .sad,
            " disgust": .disgust, " disgusted": .disgust, " dis": .disgust, " Dis": .disgust, " contempt": .contempt,
            " fear": .fear, " fearful": .fear, " neutral": .neutral, " surprise": .surprise, " Surprise": .surprise,
            " surprised": .surprise, " surpr": .surprise, " happy": .happy, " Happy": .happy, "happy": .happy, " happiness": .happy,
        ]
        for (token, emotion) in expected {
            #expect(tokens.contains(token), "\(token.debugDescription) is not in the recordings")
            #expect(LogProbMethod.emotion(forToken: token) == emotion, "\(token.debugDescription)")
        }
        // Every recorded token that is a class word once trimmed and lower-cased maps to it.
        for token in tokens {
            let word = token.trimmingCharacters(in: .whitespaces).lowercased()
            if let emotion = Emotion.allCases.first(where: { $0.name == word }) { #expect(LogProbMethod.emotion(forToken: token) == emotion) }
        }
        // Synonyms and echoes the model gave are not emotion words: no mass.
        for token in [" joy", " excited", " worry", " proud", " the"] where tokens.contains(token) {
            #expect(LogProbMethod.emotion(forToken: token) == nil, "\(token.debugDescription)")
        }
        #expect(tokens.contains(" joy") || tokens.contains(" excited"))
    }

    @Test func spellingsOfOtherTokenizers() {
        #expect(LogProbMethod.emotion(forToken: "▁anger") == .angry)
        #expect(LogProbMethod.emotion(forToken: "Ġhappy") == .happy)
        #expect(LogProbMethod.emotion(forToken: "ang") == .angry)
        #expect(LogProbMethod.emotion(forToken: " HAPPY.") == .happy)
        #expect(LogProbMethod.emotion(forToken: " con") == .contempt)
        #expect(LogProbMethod.emotion(forToken: " a") == nil, "too short: angry, or an article")
        #expect(LogProbMethod.emotion(forToken: " s") == nil)
        #expect(LogProbMethod.emotion(forToken: " sa") == nil)
        #expect(LogProbMethod.emotion(forToken: "\n") == nil)
        #expect(LogProbMethod.emotion(forToken: " sad-ish") == nil)
        #expect(LogProbMethod.emotion(forToken: " angryish") == nil)
    }

    @Test func clearDescriptionsOfTheRecordingsPointToTheirEmotion() throws {
        for (description, emotion) in [("amazed", Emotion.surprise), ("Joyful!!", .happy), ("Disgusted", .disgust), ("irritated", .angry),
                                       ("Condescending", .contempt), ("tired, Melancholy, down", .sad), ("Suprised", .surprise)] {
            let evidence = LogProbMethod.evidence(try Self.answer(for: description))
            #expect(evidence.firstIndex(of: evidence.max()!) == emotion.rawValue, "\(description): \(evidence)")
        }
        // The mass is the probability of the mapped tokens, summed independently here.
        for (_, tokens) in Self.recorded {
            let mass = tokens.filter { LogProbMethod.emotion(forToken: $0.token) != nil }.map { exp($0.logprob) }.reduce(0, +)
            #expect(abs(LogProbMethod.evidence(tokens).reduce(0, +) - mass) < 1e-12)
            #expect(mass >= LogProbMethod.defaultMinimumMass && mass < 1)
        }
    }

    @Test func theOutcomeMixesTheNormalisedEvidenceIntoTheReference() throws {
        let tokens = try Self.answer(for: "amazed")
        let reference = try EmotionDistribution(votes: [Emotion.neutral, .neutral, .neutral, .happy].map(EmotionLabel.emotion))
        for weight in [0.25, 0.05, 0.0, 1.0] {
            let method = LogProbMethod(prompt: Self.prompt, weight: weight, model: "g")
            guard case .relabeled(let relabel) = method.outcome(reference: reference, tokens: tokens) else { Issue.record("failed"); return }
            // Independently: per emotion, the summed probability of its tokens over the mass.
            var sums = [Double](repeating: 0, count: 8)
            for t in tokens {
                let word = t.token.trimmingCharacters(in: .whitespaces).lowercased()
                let emotion: Emotion? = ["surprise": .surprise, "surprised": .surprise, "surprising": .surprise, "surpr": .surprise,
                                         "happy": .happy, "happiness": .happy, "happily": .happy, "fear": .fear, "fearful": .fear, "neutral": .neutral,
                                         "sad": .sad, "sadness": .sad, "angry": .angry, "anger": .angry, "disgust": .disgust, "disgusted": .disgust,
                                         "dis": .disgust, "contempt": .contempt][word]
                if let emotion { sums[emotion.rawValue] += exp(t.logprob) }
            }
            let mass = sums.reduce(0, +)
            #expect(abs(try #require(relabel.evidenceMass) - mass) < 1e-12)
            for e in Emotion.allCases {
                let expected = (1 - weight) * reference[e] + weight * sums[e.rawValue] / mass
                #expect(abs(relabel.adjusted[e] - expected) < 1e-9, "\(e) at w = \(weight)")
            }
            #expect(relabel.reason?.hasPrefix("next token: surprise 0.") == true)
            #expect(relabel.reason?.hasSuffix("(mass \(String(format: "%.2f", mass)))") == true)
        }
    }

    @Test func evidenceMixIsTheWeightedSum() throws {
        let reference = try EmotionDistribution(votes: [Emotion.angry, .angry, .sad, .sad, .neutral].map(EmotionLabel.emotion))
        let evidence = EmotionDistribution(oneHot: .happy)
        let mixed = EvidenceMix.combine(reference: reference, evidence: evidence, weight: 0.25)
        // 0.75 · (0.4, 0.4, 0, 0, 0, 0.2, 0, 0) + 0.25 · happy
        #expect(zip(mixed.values, [0.3, 0.3, 0, 0, 0, 0.15, 0, 0.25]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(mixed.values)")
        #expect(EvidenceMix.combine(reference: reference, evidence: evidence, weight: 0) == reference)
        #expect(EvidenceMix.combine(reference: reference, evidence: evidence, weight: 1) == evidence)
    }

    @Test func tooLittleMassOnTheEightWordsFailsWithLowMass() throws {
        let tokens = try Self.answer(for: "amazed")
        let mass = LogProbMethod.evidence(tokens).reduce(0, +)
        let reference = EmotionDistribution(oneHot: .neutral)
        let strict = LogProbMethod(prompt: Self.prompt, minimumMass: mass + 0.01, model: "g")
        guard case .failed(let failure) = strict.outcome(reference: reference, tokens: tokens) else { Issue.record("not failed"); return }
        #expect(failure.kind == .lowMass && !failure.kind.isReaskable)
        #expect(failure.message.contains("of its mass on the 8 emotion words"))
        // At exactly its mass it passes; no emotion word at all always fails.
        #expect(LogProbMethod(prompt: Self.prompt, minimumMass: mass, model: "g").outcome(reference: reference, tokens: tokens).failure == nil)
        let none = [TokenProbability(token: " worry", logprob: -0.1), TokenProbability(token: " concern", logprob: -2)]
        #expect(LogProbMethod(prompt: Self.prompt, minimumMass: 0, model: "g").outcome(reference: reference, tokens: none).failure?.kind == .lowMass)
    }

    @Test func theBundledPromptSharesItsHeaderAndEndsBeforeTheAnswer() throws {
        let method = LogProbMethod(prompt: Self.prompt)
        let reference = EmotionDistribution(oneHot: .neutral)
        let a = try #require(method.promptText(for: DatasetItem(id: "a", descriptions: ["Haaapy", "joyful\n#x"], reference: reference)))
        let b = try #require(method.promptText(for: DatasetItem(id: "b", descriptions: ["calm"], reference: reference)))
        #expect(a.hasSuffix("\nWord: Haaapy, joyful x -> Emotion:"))
        #expect(b.hasSuffix("\nWord: calm -> Emotion:"))
        #expect(a.hasPrefix(Self.prompt.systemText + "\n") && b.hasPrefix(Self.prompt.systemText + "\n"))
        for emotion in Emotion.allCases { #expect(Self.prompt.systemText.contains("-> Emotion: \(emotion.name)\n") || Self.prompt.systemText.hasSuffix("-> Emotion: \(emotion.name)")) }
        #expect(method.promptText(for: DatasetItem(id: "c", descriptions: [" "], reference: reference)) == nil)
        let request = try #require(method.request(for: DatasetItem(id: "b", descriptions: ["calm"], reference: reference), model: "run-model"))
        #expect(request.model == "run-model" && request.topTokens == 20 && request.maxTokens == 1 && request.temperature == 0 && request.messages.isEmpty)
    }

    @Test func parametersAndTheProviderCheck() throws {
        let method = LogProbMethod(prompt: Self.prompt, weight: 0.1, minimumMass: 0.2, topTokens: 10)
        #expect(method.parameters == ["prompt": .string(Self.prompt.id), "weight": 0.1, "minimum_mass": 0.2, "top_tokens": 10, "calibrate": true])
        #expect(LogProbMethod(prompt: Self.prompt, calibrates: false).parameters["calibrate"] == nil)
        #expect(throws: Never.self) { try method.check(provider: ProviderCapabilities(nextTokenProbabilities: true)) }
        #expect { try method.check(provider: ProviderCapabilities()) } throws: { error in
            (error as? LLMError)?.message.contains("does not return next-token log-probabilities") == true
        }
        #expect(throws: LLMError.self) { try method.check(provider: nil) }
    }
}
