import Foundation
import Testing
@testable import LLMKit

/// Runs the official JSON-Schema-Test-Suite (draft 2020-12) from `../shared` at test time.
/// The suite's files are never committed; set `JSON_SCHEMA_TEST_SUITE` to point elsewhere.
@Suite struct JSONSchemaTestSuiteTests {
    static let suite = TestPaths.schemaSuite
    static let available: Bool = {
        let ok = TestPaths.exists(suite.path)
        if !ok {
            FileHandle.standardError.write(Data("""
                !!! JSON-Schema-Test-Suite NOT FOUND at \(suite.path): the official suite test is SKIPPED.
                !!! Set JSON_SCHEMA_TEST_SUITE to its tests/draft2020-12 folder to run it.\n
                """.utf8))
        }
        return ok
    }()

    @Test(.enabled(if: available, "JSON-Schema-Test-Suite folder not found; set JSON_SCHEMA_TEST_SUITE"))
    func officialSuite() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.suite.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(!files.isEmpty)
        var loadedCases = 0, refusedCases = 0, passedTests = 0, testsInRefusedCases = 0
        var refusedKeywords: [String: Int] = [:]
        for file in files {
            let text = try String(contentsOf: Self.suite.appendingPathComponent(file), encoding: .utf8)
            guard case .array(let cases) = try StrictJSON.parse(text) else { Issue.record("\(file) is not an array"); continue }
            for testCase in cases {
                let description = testCase["description"]?.stringValue ?? "?"
                let tests = testCase["tests"]?.arrayValue ?? []
                let schemaValue = testCase["schema"]!
                let usesOnlySubset = Self.usesOnlySupportedKeywords(schemaValue)
                let schema: JSONSchema
                do {
                    schema = try JSONSchema(schemaValue)
                } catch {
                    refusedCases += 1
                    testsInRefusedCases += tests.count
                    refusedKeywords[error.keyword ?? "(none)", default: 0] += 1
                    // A refusal is right when the schema uses a keyword outside the subset, or a
                    // supported keyword in an unsupported way (a remote $ref).
                    let justified = !usesOnlySubset || error.keyword == "$ref"
                    #expect(justified, "\(file) / \(description): refused although it uses only supported keywords: \(error)")
                    continue
                }
                #expect(usesOnlySubset, "\(file) / \(description): loaded although it uses a keyword outside the subset")
                loadedCases += 1
                for test in tests {
                    let expected = test["valid"]?.boolValue ?? false
                    let actual = schema.isValid(test["data"]!)
                    #expect(actual == expected, "\(file) / \(description) / \(test["description"]?.stringValue ?? "?")")
                    if actual == expected { passedTests += 1 }
                }
            }
        }
        let summary = "JSON-Schema-Test-Suite draft2020-12: \(files.count) files; \(loadedCases) cases loaded, \(passedTests) tests passed; \(refusedCases) cases (\(testsInRefusedCases) tests) refused at load; refused by keyword: \(refusedKeywords.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        print(summary)
        #expect(loadedCases > 100)
    }

    /// An independent walk of the schema document: true when every keyword at every schema
    /// position is in the supported subset.
    static func usesOnlySupportedKeywords(_ schema: JSONValue) -> Bool {
        let allowed = JSONSchema.assertionKeywords.union(JSONSchema.annotationKeywords)
        guard case .object(let o) = schema else { return true }
        for (keyword, value) in o {
            guard allowed.contains(keyword) else { return false }
            switch keyword {
            case "properties", "$defs":
                for (_, sub) in value.objectValue ?? JSONObject() where !usesOnlySupportedKeywords(sub) { return false }
            case "additionalProperties", "items":
                if !usesOnlySupportedKeywords(value) { return false }
            case "anyOf":
                for sub in value.arrayValue ?? [] where !usesOnlySupportedKeywords(sub) { return false }
            default:
                break
            }
        }
        return true
    }
}
