import Foundation
import Testing
@testable import LLMKit

/// The fast paths of the per-request work give exactly what the plain ways give.
@Suite struct HotPathTests {
    static func records() -> [RelabeledRecord] {
        let reference = try! EmotionDistribution(votes: [.emotion(.angry), .emotion(.neutral), .emotion(.neutral)])
        let adjusted = try! EmotionDistribution.normalizing([0.1, 0.2, 0, 0, 1e-7, 0.3, 0.05, 0.35]).distribution
        let odd = "quote \" back\\slash\nnew line \t tab \u{2028} sep \u{01} ctl é ü 😀 “curly”"
        return [
            RelabeledRecord(id: "u1", reference: reference, outcome: .relabeled(Relabel(adjusted: adjusted, raw: [0.1, 0.2, 0, 0, 1e-7, 0.3, 0.05, 0.35], reason: "plain", sumWasOff: false)),
                            promptVersion: "p@1", provider: "openai", model: "m"),
            RelabeledRecord(id: odd, reference: reference, outcome: .relabeled(Relabel(adjusted: adjusted, raw: [1e21, 2, 0, 0, 0, 0, 0, 0.123456789012345], reason: odd, sumWasOff: true, reasonWasCut: true)),
                            promptVersion: odd, provider: odd, model: odd),
            RelabeledRecord(id: "u3", reference: reference, outcome: .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: nil, sumWasOff: false)),
                            promptVersion: "p@1", provider: "openai", model: "m"),
            RelabeledRecord(id: "u4", reference: reference, outcome: .failed(ItemFailure(.providerError, odd, path: "/items/3", providerError: .rateLimited)),
                            promptVersion: "p@1", provider: "openai", model: "m"),
            RelabeledRecord(id: "u5", reference: reference, outcome: .failed(ItemFailure(.missingIndex, "no entry", path: nil)),
                            promptVersion: "p@1", provider: "openai", model: "m"),
            // The lab's carried columns (`keep`), in the mapping's order, odd text included.
            RelabeledRecord(id: "u6", reference: reference, outcome: .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: "r", sumWasOff: false)),
                            promptVersion: "p@1", provider: "openai", model: "m", method: "logprob",
                            keep: JSONObject([("transcript", .string(odd)), ("speaker", .string("s1")), ("empty", .string(""))])),
        ]
    }

    @Test func journalLinesWrittenDirectlyEqualTheJSONTreeLines() throws {
        for record in Self.records() {
            var bytes: [UInt8] = []
            record.appendJSONLine(to: &bytes)
            #expect(bytes.last == 0x0A)
            #expect(String(decoding: bytes.dropLast(), as: UTF8.self) == record.jsonLine)
            #expect(try RelabeledRecord.parse(line: record.jsonLine, file: "t", line: 1) == record)
        }
    }

    @Test func numbersAreFormattedAsPrintfFormatsThem() {
        var generator = SplitMix64(seed: 5)
        var values: [Double] = [0, 1, 0.5, 1.0 / 3, 1.0 / 6, 1.0 / 32, 1.0 / 64, 0.125, 0.0625, 7.0 / 11, 1.0 / 23, 0.00005, 0.99995, 2.5, 12345.6789]
        for _ in 0..<20_000 { values.append(Double(generator.next() % 1_000_000_007) / 1_000_000_007) }
        for k in 1...64 { values.append(Double(k) / 64); values.append(Double(k) / 3 / 100) }
        for decimals in 1...12 {
            for value in values {
                var expected = String(format: "%.\(decimals)f", value)
                while expected.hasSuffix("0") && !expected.hasSuffix(".0") { expected.removeLast() }
                #expect(PromptVersion.format(value, decimals: decimals) == expected, "\(value) at \(decimals)")
            }
        }
    }

    /// The sanitiser before its fast path, kept here as the reference.
    static func slowSanitize(_ description: String, separator: String) -> String {
        var text = ""
        for scalar in description.unicodeScalars {
            switch scalar {
            case "#": text += " "
            case "{", "[": text += "("
            case "}", "]": text += ")"
            case "\"": text += "'"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .lineSeparator
                    || scalar.properties.generalCategory == .paragraphSeparator || scalar.properties.isWhitespace {
                    text += " "
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        let visible = separator.trimmingWhitespace()
        if !visible.isEmpty { text = text.replacingOccurrences(of: visible, with: " ") }
        text = text.split(whereSeparator: { $0 == " " }).joined(separator: " ")
        if text.count > PromptVersion.maximumDescriptionLength { text = String(text.prefix(PromptVersion.maximumDescriptionLength - 1)) + "…" }
        return text
    }

    @Test func theSanitiserFastPathChangesNothingTheSlowPathWouldChange() {
        let version = PromptVersion(name: "t", systemText: "s")
        let samples = ["Slightly Angry, calm", "happy", "  padded ", "double  space", "with #hash", "a | b", "a|b", "{json}", "[x]", "say \"hi\"",
                       "tab\there", "new\nline", "ünïcödé", String(repeating: "x", count: 300), String(repeating: "x", count: 301), "", " ", "Concerned,Interest", "a,b,c"]
        for sample in samples {
            #expect(version.sanitize(sample) == Self.slowSanitize(sample, separator: version.separator), "\(sample)")
        }
    }
}

@Suite struct NumberWritingTests {
    @Test func numbersWrittenDirectlyEqualTheStableForm() {
        var generator = SplitMix64(seed: 9)
        var values: [Double] = [0.1, 0.2, 0.25, 0.3, 0.6, 0.0001, 0.00012, 1e-5, 0.5, 12.5, 123456789.5, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 1e21, 1e-7,
                                -0.25, 0.9999, 0.99995, 999999999.9999, 1e9 + 0.5, 0.0625, 0.03125, 7.0 / 11]
        for _ in 0..<50_000 {
            let k = Int(generator.next() % 6)
            let n = Double(generator.next() % 100_000)
            values.append(n / [1, 10, 100, 1000, 10000, 7][k])
        }
        for value in values {
            var bytes: [UInt8] = []
            JSONSerializer.appendNumber(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == JSONSerializer.format(value), "\(value)")
        }
    }
}
