import Foundation
import Testing
@testable import LLMKit

/// The fast path must never accept what jansson refuses, nor read a value differently: for every
/// text, either it declines (and jansson decides) or jansson accepts the text with the very same
/// value (numbers compared by type and bit pattern, strings by bytes, members in order).
@Suite struct FastJSONTests {
    enum Verdict: Equatable {
        case value(String)
        case declined
        case error
    }

    /// A rendering that tells apart what `==` on JSONValue does not: integer vs real, -0.0 vs 0,
    /// member order, canonically equivalent strings.
    static func exact(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(.integer(let i)): return "i\(i)"
        case .number(.real(let d)): return "r\(d.bitPattern)"
        case .string(let s): return "s" + s.utf8.map { String($0, radix: 16) }.joined(separator: ".")
        case .array(let a): return "[" + a.map(exact).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { exact(.string($0.key)) + ":" + exact($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func fast(_ bytes: [UInt8]) -> Verdict {
        bytes.withUnsafeBufferPointer { FastJSON.parse($0) }.map { .value(exact($0)) } ?? .declined
    }

    static func jansson(_ bytes: [UInt8]) -> Verdict {
        do {
            let value = try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in try StrictJSON.parseWithJansson(buffer: buffer) }
            return .value(exact(value))
        } catch { return .error }
    }

    /// Checks one text; returns whether the fast path took it.
    @discardableResult
    static func agree(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let f = fast(bytes)
        guard f != .declined else { return false }
        #expect(f == jansson(bytes), "fast path and jansson differ on \(String(decoding: bytes, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        return true
    }

    @Test(arguments: [
        #"{"items": [{"index": 1, "angry": 0.15, "sad": 0, "reason": "Sounds tired, \"flat\" tone."}]}"#,
        "0", "-0", "-0.0", "0.1", "1e2", "1E+2", "1e-2", "-1.5e-7", "123456789012345", "9223372036854775807",
        "-9223372036854775808", "0.16666666666666666", "1e-400", "2.2250738585072014e-308", "4.9e-324",
        "1.7976931348623157e308", "0.30000000000000004", "123456789012345678.5",
        "1e22", "1e23", "1e21", "9007199254740993.0", "0.000000000000000000000000000001", "[]", "{}", "[[[]]]", "\"\"",
        #""\u00e9\u20AC\ud83d\ude00\n\t\/\\\"\b\f\r""#, #""\u0000 in a value""#, "\"é€😀 raw UTF-8\"", " \t\r\n[1 , 2 ] \n",
        "true", "false", "null", #"{"a": {"b": {"c": [1, {"d": null}]}}}"#, #"{"": 1, " ": 2}"#,
    ])
    func validTextsTakeTheFastPathWithJanssonsValues(_ text: String) {
        #expect(Self.agree(Array(text.utf8)), "declined: \(text)")
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "1e", "1e+", "+1", "--1", "0x10", "NaN", "Infinity",
        "1e400", "-1e400", "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
        "{\"a\":1,\"a\":2}", #"{"\u0000": 1}"#, #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\x""#, #""\u12""#,
        "\"tab\there\"", "\"unterminated", "[1] [2]", "{'a': 1}", "tru", "nul", "[1 2]", "{\"a\" 1}", "{1: 2}",
    ])
    func invalidOrUnusualTextsAreDeclined(_ text: String) {
        #expect(Self.fast(Array(text.utf8)) == .declined, "accepted: \(text)")
    }

    @Test func invalidUTF8IsDeclined() {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98]] {
            #expect(Self.fast([0x22] + bad + [0x22]) == .declined, "\(bad)")
        }
        #expect(Self.fast([0x5B, 0x31, 0x00, 0x5D]) == .declined, "a raw NUL")
    }

    @Test func nestingBeyondTheFastPathsDepthIsLeftToJansson() {
        let deep = Array(String(repeating: "[", count: 600).utf8) + Array(String(repeating: "]", count: 600).utf8)
        #expect(Self.fast(deep) == .declined)
        #expect(Self.jansson(deep) != .error)
    }

    /// Generated documents (random shapes, numbers of every form, strings with escapes and
    /// multi-byte text), then random mutations of them: thousands of texts, valid and not.
    @Test func generatedAndMutatedTextsAgree() {
        var rng = SplitMix(seed: 20261129)
        let pieces: [[UInt8]] = ["{", "}", "[", "]", ",", ":", "\"", "\\", "u", "0", "1", "9", ".", "e", "-", "+", " ", "\n",
                                 "\\u0000", "\\ud83d", "é", "\u{0}", "true", "nul"].map { Array($0.utf8) }
        var fastTaken = 0, mutated = 0
        for _ in 0..<3000 {
            let text = Array(Self.document(&rng, depth: 0).utf8)
            #expect(Self.agree(text))
            fastTaken += 1
            for _ in 0..<4 {
                var m = text
                let position = Int(rng.next() % UInt64(m.count + 1))
                switch rng.next() % 3 {
                case 0: m.insert(contentsOf: pieces[Int(rng.next() % UInt64(pieces.count))], at: position)
                case 1: if position < m.count { m.remove(at: position) }
                default: if position < m.count { m[position] = UInt8(truncatingIfNeeded: rng.next()) }
                }
                if Self.agree(m) { mutated += 1 }
            }
        }
        #expect(fastTaken == 3000)
        #expect(mutated > 0, "some mutations stay valid, and those must agree too")
    }

    static func document(_ rng: inout SplitMix, depth: Int) -> String {
        let pick = depth > 3 ? 3 + rng.next() % 4 : rng.next() % 7
        switch pick {
        case 0:
            let n = Int(rng.next() % 5)
            return "{" + (0..<n).map { k in "\"k\(k)\(Self.stringBody(&rng, key: true))\": " + document(&rng, depth: depth + 1) }.joined(separator: ", ") + "}"
        case 1, 2:
            let n = Int(rng.next() % 5)
            return "[" + (0..<n).map { _ in document(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        case 3, 4: return number(&rng)
        case 5: return "\"" + stringBody(&rng) + "\""
        default: return ["true", "false", "null"][Int(rng.next() % 3)]
        }
    }

    static func number(_ rng: inout SplitMix) -> String {
        switch rng.next() % 6 {
        case 0: return String(Int64(bitPattern: rng.next()) >> (rng.next() % 64))
        case 1: return String(format: "%.\(rng.next() % 6)f", Double(rng.next() % 100_000) / 1000)
        case 2: return "\(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF))"
        case 3: return "\(rng.next() % 2 == 0 ? "-" : "")\(rng.next() % 1000)e\(Int(rng.next() % 620) - 330)"
        case 4: return "0.\(String(repeating: "0", count: Int(rng.next() % 25)))\(rng.next() % 100_000_000_000_000_000)"
        default: return "\(rng.next() % 10_000_000_000_000_000_000).\(rng.next() % 1000)"
        }
    }

    /// String contents; keys without `\u0000` (jansson refuses a NUL in a key).
    static func stringBody(_ rng: inout SplitMix, key: Bool = false) -> String {
        let parts = ["a", "calm", " ", "é", "😀", "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", key ? "\\u0041" : "\\u0000", "\\/", "€", "\\t"]
        return (0..<Int(rng.next() % 6)).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }.joined()
    }
}

/// A small seeded generator (SplitMix64), so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
