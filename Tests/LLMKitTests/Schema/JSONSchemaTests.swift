import Testing
@testable import LLMKit

@Suite struct JSONSchemaTests {
    @Test(arguments: ["not", "if", "allOf", "oneOf", "$id", "prefixItems", "patternProperties", "uniqueItems", "unevaluatedProperties"])
    func keywordsOutsideTheSubsetAreRefusedAtLoadWithTheKeywordNamed(_ keyword: String) {
        let schema: JSONValue = ["type": "object", "properties": ["a": .object(JSONObject([(keyword, ["type": "string"] as JSONValue)]))]]
        do {
            _ = try JSONSchema(schema)
            Issue.record("'\(keyword)' was accepted")
        } catch {
            #expect(error.keyword == keyword)
            #expect(error.pointer == "/properties/a")
            #expect(error.description.contains("'\(keyword)'"))
        }
    }

    @Test func annotationsAreAcceptedNotAsserted() throws {
        let schema = try JSONSchema([
            "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "description": "d",
            "$comment": "c", "default": 3, "examples": [1], "format": "email", "type": "string",
        ])
        #expect(schema.isValid("not an email"))
        #expect(!schema.isValid(3))
    }

    @Test func otherDraftsAreRefused() {
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["$schema": "http://json-schema.org/draft-07/schema#"]) }
    }

    @Test func remoteReferencesAreRefusedAndDanglingOnesToo() {
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["$ref": "https://example.com/s.json"]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["$ref": "#/$defs/missing"]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["$ref": "#anchor"]) }
    }

    @Test func malformedKeywordValuesAreRefused() {
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["type": "float"]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["minItems": -1]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["multipleOf": 0]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["pattern": "(unclosed"]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["required": ["a", "a"]]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(["anyOf": []]) }
        #expect(throws: SchemaLoadError.self) { try JSONSchema(3) }
    }

    @Test func violationsCarryThePointerAndKeyword() throws {
        let schema = try JSONSchema(ChunkAnswerSchema.schema(count: 2, includeReason: true))
        let answer = try StrictJSON.parse(#"{"items": [{"index": 1, "angry": 1.5, "sad": 0, "disgust": 0, "contempt": 0, "fear": 0, "neutral": 0, "surprise": 0, "happy": 0, "reason": "x"}, {"index": 2, "Angry": 1}]}"#)
        let violations = schema.validate(answer)
        #expect(violations.contains { $0.instancePath == "/items/0/angry" && $0.keyword == "maximum" })
        #expect(violations.contains { $0.instancePath == "/items/1/Angry" && $0.keyword == "additionalProperties" })
        #expect(violations.contains { $0.instancePath == "/items/1" && $0.keyword == "required" && $0.message.contains("'angry'") })
    }

    @Test func localReferencesIncludingRecursion() throws {
        let tree = try JSONSchema([
            "$defs": ["node": ["type": "object", "properties": ["value": ["type": "integer"], "children": ["type": "array", "items": ["$ref": "#/$defs/node"]]], "additionalProperties": false]],
            "$ref": "#/$defs/node",
        ])
        #expect(tree.isValid(["value": 1, "children": [["value": 2, "children": []]]]))
        let bad = tree.validate(["value": 1, "children": [["value": 2.5]]])
        #expect(bad.map(\.instancePath) == ["/children/0/value"])
        #expect(bad.first?.keyword == "type")
    }

    @Test func referenceCycleThatConsumesNothingIsReportedNotACrash() throws {
        let schema = try JSONSchema(["$defs": ["a": ["$ref": "#/$defs/b"], "b": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a"])
        #expect(schema.validate(1).first?.keyword == "$ref")
    }

    @Test func theBatchSchemaMeetsOpenAIStrictModeRules() throws {
        let schema = ChunkAnswerSchema.schema(count: 30, includeReason: true)
        _ = try JSONSchema(schema)
        func check(_ value: JSONValue, at path: String) {
            guard case .object(let o) = value else { return }
            if o["type"] == "object" {
                #expect(o["additionalProperties"] == false, "\(path) must forbid additional properties")
                let properties = o["properties"]?.objectValue?.keys ?? []
                let required = o["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(Set(properties) == Set(required), "\(path) must require every property")
            }
            for (k, v) in o { check(v, at: path + "/" + k) }
        }
        check(schema, at: "")
        #expect(schema["type"] == "object")
    }
}
