import Testing
@testable import LLMKit

@Suite struct StrictJSONTests {
    @Test func parsesAllValueKindsPreservingOrder() throws {
        let value = try StrictJSON.parse(#"{"b": [1, 2.5, -3e2, true, false, null], "a": {"x": "é\n\u0000"}, "c": 9007199254740993}"#)
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o.keys == ["b", "a", "c"])
        #expect(o["b"] == [1, 2.5, -300.0, true, false, nil])
        #expect(o["a"]?["x"] == .string("é\n\u{0}"))
        #expect(o["c"] == .number(.integer(9_007_199_254_740_993)))
    }

    @Test func scalarsAtTheTopLevel() throws {
        #expect(try StrictJSON.parse("42") == 42)
        #expect(try StrictJSON.parse(" \"x\" ") == "x")
        #expect(try StrictJSON.parse("null") == nil)
    }

    @Test func duplicateKeysAreRejectedWithLineAndColumn() {
        let text = "{\n  \"angry\": 0.1,\n  \"angry\": 0.2\n}"
        #expect {
            try StrictJSON.parse(text)
        } throws: { error in
            guard let e = error as? JSONParseError else { return false }
            return e.line == 3 && e.column == 3 && e.offset == 20 && e.reason.contains("duplicate") && e.excerpt.contains("angry")
        }
    }

    @Test(arguments: ["NaN", "Infinity", "-Infinity", "nan"])
    func nonFiniteLiteralsAreRejected(_ literal: String) {
        let text = "{\"items\": [\n{\"fear\": \(literal)}]}"
        do {
            _ = try StrictJSON.parse(text)
            Issue.record("\(literal) was accepted")
        } catch {
            // The token starts at line 2, column 10: {"fear": NaN
            #expect(error.line == 2)
            #expect(error.column == 10)
            #expect(error.description.hasPrefix("invalid JSON at line 2, column 10: "))
        }
    }

    @Test func columnsCountCharactersNotBytes() {
        do {
            _ = try StrictJSON.parse("{\"é🐲\": 1,\n \"ü\": x}")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 7)
        }
    }

    @Test(arguments: ["1e400", "-1e999"])
    func overflowingNumbersAreRejected(_ literal: String) {
        #expect(throws: JSONParseError.self) { try StrictJSON.parse("[\(literal)]") }
    }

    @Test(arguments: ["{\"a\": 1} x", "{\"a\": 1,}", "[1 2]", "{'a': 1}", "", "{\"a\": tru}"])
    func malformedTextIsRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try StrictJSON.parse(text) }
    }

    @Test func numbersCompareMathematically() {
        #expect(JSONValue.number(.integer(1)) == .number(.real(1.0)))
        #expect(JSONValue.number(.integer(1)) != .number(.real(1.5)))
        #expect(JSONNumber.real(1.0).hashValue == JSONNumber.integer(1).hashValue)
        #expect(JSONValue.object(JSONObject([("a", 1), ("b", 2)])) == .object(JSONObject([("b", 2), ("a", 1)])))
    }
}

@Suite struct CanonicalSerializationTests {
    @Test func sortsKeysAndFormatsNumbersStably() {
        let value: JSONValue = ["b": 1.0, "a": ["z": 0.1, "y": 1e-7, "x": 1e21, "w": -0.0, "v": 2.5e-10], "é": "q\"\\\n\u{1}"]
        #expect(value.canonicalString == #"{"a":{"v":2.5e-10,"w":0,"x":1e+21,"y":1e-7,"z":0.1},"b":1,"é":"q\"\\\n\u0001"}"#)
    }

    @Test func equalValuesGiveEqualBytes() throws {
        let a = try StrictJSON.parse(#"{"t": 0.70, "m": [1.0, 2], "s": "x"}"#)
        let b = try StrictJSON.parse(#"{"s":"x","m":[1,2.0],"t":0.7}"#)
        #expect(a.canonicalString == b.canonicalString)
    }

    @Test(arguments: [
        #"{"a":[1,2.5,{"b":null}],"c":"\u2028 é 🐲","d":-1e-300,"e":123456789012345678}"#,
        #"[0.1,0.2,0.30000000000000004,1e+300,5e-324]"#,
    ])
    func roundTripsThroughTheParser(_ text: String) throws {
        let value = try StrictJSON.parse(text)
        #expect(try StrictJSON.parse(value.canonicalString) == value)
        #expect(try StrictJSON.parse(JSONSerializer.string(value, style: .pretty)) == value)
    }
}

@Suite struct JSONExtractionTests {
    @Test func plainObjectStripsNothing() throws {
        let e = try JSONExtraction.extract(from: "  {\"items\": []}\n")
        #expect(e.json == "{\"items\": []}")
        #expect(!e.strippedAnything)
    }

    @Test func proseAroundTheObjectIsReported() throws {
        let e = try JSONExtraction.extract(from: "Sure! Here are the labels:\n{\"items\": [{\"reason\": \"a } brace\"}]}\nHope this helps.")
        #expect(e.json == "{\"items\": [{\"reason\": \"a } brace\"}]}")
        #expect(e.leadingText == "Sure! Here are the labels:")
        #expect(e.trailingText == "Hope this helps.")
        #expect(e.fence == nil)
    }

    @Test func codeFenceIsRemovedAndNamed() throws {
        let e = try JSONExtraction.extract(from: "Result:\n```json\n{\"items\": [1, 2]}\n```\nDone")
        #expect(e.json == "{\"items\": [1, 2]}")
        #expect(e.fence == "json")
        #expect(e.leadingText == "Result:")
        #expect(e.trailingText == "Done")
    }

    @Test func failuresSayWhy() {
        #expect(throws: JSONExtraction.Failure.empty) { try JSONExtraction.extract(from: "  \n") }
        #expect(throws: JSONExtraction.Failure.noObject) { try JSONExtraction.extract(from: "I cannot help with that.") }
        #expect(throws: JSONExtraction.Failure.unterminatedObject) { try JSONExtraction.extract(from: "{\"items\": [{\"index\": 1, \"angry\": 0.") }
    }
}
