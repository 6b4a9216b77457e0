import Foundation
import Testing
@testable import LLMKit

@Suite struct ChunkAnswerParserTests {
    /// An entry with the 8 values given (defaults to all mass on neutral).
    static func entry(_ index: JSONValue, _ values: [String: JSONValue] = ["neutral": 1], reason: JSONValue? = "because") -> String {
        var object = JSONObject()
        object["index"] = index
        for e in Emotion.allCases { object[e.name] = values[e.name] ?? 0 }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where Emotion(key: key) == nil { object[key] = value }
        if let reason { object["reason"] = reason }
        return JSONValue.object(object).description
    }

    static func answer(_ entries: [String]) -> String { "{\"items\": [\(entries.joined(separator: ","))]}" }

    let parser = ChunkAnswerParser(count: 3, expectsReason: true)

    @Test func wellFormedAnswerRelabelsEveryItem() throws {
        let result = parser.parse(Self.answer([Self.entry(2, ["happy": 0.7, "neutral": 0.3]), Self.entry(1), Self.entry(3, ["sad": 0.5, "fear": 0.49])]))
        #expect(result.failedPositions.isEmpty)
        #expect(result.outcomes[0].relabel?.adjusted == EmotionDistribution(oneHot: .neutral))
        #expect(result.outcomes[1].relabel?.adjusted[.happy] == 0.7)
        #expect(result.outcomes[1].relabel?.reason == "because")
        let third = try #require(result.outcomes[2].relabel)
        #expect(!third.sumWasOff)
        #expect(abs(third.adjusted[.sad] - 0.5 / 0.99) < 1e-15)
        #expect(third.raw[Emotion.sad.rawValue] == 0.5)
        #expect(result.strayEntries.isEmpty)
    }

    @Test func oneBadEntryNeverSpoilsItsNeighbours() {
        let result = parser.parse(Self.answer([Self.entry(1), Self.entry(2, ["fear": 1.3]), Self.entry(3)]))
        #expect(result.outcomes[0].relabel != nil)
        #expect(result.outcomes[2].relabel != nil)
        let failure = result.outcomes[1].failure
        #expect(failure?.kind == .valueOutOfRange)
        #expect(failure?.path == "/items/1/fear")
    }

    @Test func missingIndex() {
        let result = parser.parse(Self.answer([Self.entry(1), Self.entry(3)]))
        #expect(result.outcomes[1].failure?.kind == .missingIndex)
        #expect(result.failedPositions == [1])
    }

    @Test func duplicateIndexFailsThatItemOnly() {
        let result = parser.parse(Self.answer([Self.entry(1), Self.entry(1, ["sad": 1]), Self.entry(2), Self.entry(3)]))
        #expect(result.outcomes[0].failure?.kind == .duplicateIndex)
        #expect(result.failedPositions == [0])
    }

    @Test func outOfRangeAndUnusableIndicesAreStrayEntries() {
        // The 270M model's failure mode at temperature 0.7: indices start at 0 (REFERENCE.md 5).
        let result = parser.parse(Self.answer([Self.entry(0), Self.entry(1), Self.entry(2), Self.entry(4), Self.entry("3"), "{\"angry\": 1}", "[1]"]))
        #expect(result.outcomes[0].relabel != nil && result.outcomes[1].relabel != nil)
        #expect(result.outcomes[2].failure?.kind == .missingIndex)
        #expect(result.strayEntries.map(\.kind) == [.indexOutOfRange, .indexOutOfRange, .schemaViolation, .wrongKey, .schemaViolation])
        #expect(result.strayEntries[0].path == "/items/0/index")
    }

    @Test func wrongKeys() {
        var values: [String: JSONValue] = ["neutral": 1]
        let missingFear = Self.entry(1, values).replacingOccurrences(of: "\"fear\":0,", with: "")
        values["Angry"] = 0
        let extraKey = Self.entry(2, values)
        let noReason = Self.entry(3, reason: nil)
        let result = parser.parse(Self.answer([missingFear, extraKey, noReason]))
        #expect(result.outcomes.map { $0.failure?.kind } == [.wrongKey, .wrongKey, .wrongKey])
        #expect(result.outcomes[0].failure?.message.contains("'fear'") == true)
        #expect(result.outcomes[1].failure?.path == "/items/1/Angry")
        #expect(result.outcomes[2].failure?.message.contains("'reason'") == true)
    }

    @Test func valuesOutOfRangeZeroSumAndTypeErrors() {
        let result = parser.parse(Self.answer([Self.entry(1, ["angry": -0.2, "neutral": 1]), Self.entry(2, ["neutral": 0]), Self.entry(3, ["neutral": "0.5"])]))
        #expect(result.outcomes[0].failure?.kind == .valueOutOfRange)
        #expect(result.outcomes[0].failure?.path == "/items/0/angry")
        #expect(result.outcomes[1].failure?.kind == .zeroSum)
        #expect(result.outcomes[2].failure?.kind == .schemaViolation)
        #expect(result.outcomes[2].failure?.path == "/items/2/neutral")
    }

    @Test func sumOffIsFlaggedOrRejectedByPolicy() {
        let text = Self.answer([Self.entry(1, ["neutral": 0.9]), Self.entry(2, ["neutral": 0.5, "happy": 0.75]), Self.entry(3, ["neutral": 0.99])])
        let flagged = parser.parse(text)
        #expect(flagged.outcomes.map { $0.relabel?.sumWasOff } == [true, true, false])
        #expect(flagged.outcomes[1].relabel?.adjusted[.happy] == 0.6)
        let strict = ChunkAnswerParser(count: 3, expectsReason: true, policy: .strict).parse(text)
        #expect(strict.outcomes.map { $0.failure?.kind } == [.sumOutOfTolerance, .sumOutOfTolerance, nil])
    }

    @Test func nonFiniteValuesMapToTheirOwnKind() {
        let failure = ChunkAnswerParser.failure(for: .nonFinite(.fear), path: "/items/0")
        #expect(failure.kind == .nonFiniteValue)
        #expect(failure.path == "/items/0/fear")
        // JSON has no NaN: the strict parser refuses the whole answer, naming line and column.
        let result = parser.parse("{\"items\": [{\"index\": 1, \"fear\": NaN}]}")
        #expect(result.outcomes.allSatisfy { $0.failure?.kind == .notJSON })
        #expect(result.outcomes[0].failure?.message.contains("line 1") == true)
    }

    @Test func notJSONAndTruncatedAnswersFailEveryItemWithTheReason() {
        for text in ["I can't do that.", "", "{\"items\": [{\"index\": 1, \"angry\": 0.", "{\"items\": [], \"items\": []}"] {
            let result = parser.parse(text)
            #expect(result.outcomes.count == 3)
            #expect(result.outcomes.allSatisfy { $0.failure?.kind == .notJSON }, "\(text)")
        }
    }

    @Test func documentShapeErrors() {
        #expect(parser.parse("{\"labels\": []}").outcomes[0].failure?.kind == .wrongKey)
        #expect(parser.parse("{\"items\": {}}").outcomes[0].failure?.path == "/items")
        let bareArray = parser.parse("[" + Self.entry(1) + "]")
        #expect(bareArray.outcomes.allSatisfy { $0.failure?.kind == .schemaViolation })
        #expect(bareArray.extraction?.strippedAnything == false)
    }

    @Test func proseAndFencesAreStrippedAndReported() {
        let text = "Here you go:\n```json\n" + Self.answer([Self.entry(1), Self.entry(2), Self.entry(3)]) + "\n```"
        let result = parser.parse(text)
        #expect(result.failedPositions.isEmpty)
        #expect(result.extraction?.fence == "json")
        #expect(result.extraction?.leadingText == "Here you go:")
        let extra = parser.parse("{\"items\": [\(Self.entry(1)),\(Self.entry(2)),\(Self.entry(3))], \"note\": 1}")
        #expect(extra.failedPositions.isEmpty)
        #expect(extra.documentWarnings == ["unexpected root key 'note' ignored"])
    }

    @Test func reasonNotRequiredWhenTheVersionDoesNotAskForIt() {
        let p = ChunkAnswerParser(count: 1, expectsReason: false)
        #expect(p.parse(Self.answer([Self.entry(1, reason: nil)])).failedPositions.isEmpty)
        #expect(p.parse(Self.answer([Self.entry(1)])).outcomes[0].failure?.kind == .wrongKey)
    }

    @Test func everyFailureKindIsCovered() {
        // The kinds the parser itself produces; provider_error comes from the pipeline.
        let produced: Set<ItemFailure.Kind> = [.missingIndex, .duplicateIndex, .indexOutOfRange, .wrongKey, .valueOutOfRange,
                                               .nonFiniteValue, .zeroSum, .sumOutOfTolerance, .notJSON, .schemaViolation, .invalidUTF8, .reasonTooLong]
        #expect(produced.union([.providerError, .truncated, .refused, .lowMass]) == Set(ItemFailure.Kind.all),
                "provider_error, truncated and refused come from the pipeline, low_mass from the logprob method")
        for kind in ItemFailure.Kind.all { #expect(ItemFailure.Kind(name: kind.name) == kind) }
    }
}
