import Foundation

/// A JSON Schema (draft 2020-12 subset) loaded and checked once, then used to validate values.
///
/// Supported: boolean schemas; `type`, `enum`, `const`; `properties`, `required`,
/// `additionalProperties`; `items`, `minItems`, `maxItems`; `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`; `pattern`, `minLength`, `maxLength`;
/// `anyOf`; `$defs` and `$ref` to local JSON pointers (`#`, `#/$defs/name`, any `#/...`).
/// These are the keywords OpenAI's strict structured outputs accept, plus string lengths.
///
/// `format` and the annotations `$schema` (which must name draft 2020-12), `title`,
/// `description`, `$comment`, `default` and `examples` are accepted and not asserted, as
/// draft 2020-12 specifies by default. Any other keyword (`not`, `if`, `allOf`, `$id`,
/// `prefixItems`, ...) makes loading fail with ``SchemaLoadError``: a validator that silently
/// ignored a keyword would accept values the schema's author meant to reject.
package struct JSONSchema: Sendable {
    /// The schema document as given.
    package let document: JSONValue
    let nodes: [Node]
    /// Compiled node index for each schema location (a normalised JSON pointer).
    let locations: [String: Int]

    /// The draft 2020-12 meta-schema URI that `$schema` may name.
    package static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    /// The keywords that are checked.
    package static let assertionKeywords: Set<String> = [
        "type", "enum", "const", "properties", "required", "additionalProperties", "items",
        "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "pattern", "minLength", "maxLength", "anyOf", "$ref", "$defs",
    ]
    /// The keywords that are accepted and not asserted.
    package static let annotationKeywords: Set<String> = [
        "$schema", "title", "description", "$comment", "default", "examples", "format",
    ]

    /// Loads and checks a schema document.
    package init(_ document: JSONValue) throws(SchemaLoadError) {
        var compiler = Compiler(document: document)
        _ = try compiler.compile(document, at: "")
        try compiler.resolvePendingReferences()
        self.document = document
        self.nodes = compiler.nodes
        self.locations = compiler.locations
    }

    /// Loads a schema from JSON text.
    package init(json text: String) throws(SchemaLoadError) {
        let value: JSONValue
        do { value = try StrictJSON.parse(text) } catch {
            throw SchemaLoadError(pointer: "", keyword: nil, reason: error.description)
        }
        try self.init(value)
    }

    /// Validates `instance`, returning every violation found (empty when valid).
    package func validate(_ instance: JSONValue) -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        var validator = Validator(schema: self)
        validator.check(instance, node: 0, into: &violations)
        return violations
    }

    /// Whether `instance` is valid.
    package func isValid(_ instance: JSONValue) -> Bool { validate(instance).isEmpty }
}

/// A schema that cannot be used, with the location and keyword at fault.
package struct SchemaLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer of the schema location at fault (`""` is the root).
    package var pointer: String
    /// The keyword at fault, when one is.
    package var keyword: String?
    /// What is wrong.
    package var reason: String

    package init(pointer: String, keyword: String?, reason: String) {
        self.pointer = pointer
        self.keyword = keyword
        self.reason = reason
    }

    package var description: String {
        let at = pointer.isEmpty ? "the schema root" : "schema location #\(pointer)"
        if let keyword { return "\(at): keyword '\(keyword)': \(reason)" }
        return "\(at): \(reason)"
    }
}

/// One way a value fails a schema.
package struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer of the failing value inside the instance (`""` is the whole value).
    package var instancePath: String
    /// The keyword that failed (`"type"`, `"required"`, `"maximum"`, `"false"` for a false schema, ...).
    package var keyword: String
    /// JSON pointer of the failing keyword inside the schema.
    package var schemaPath: String
    /// A short explanation.
    package var message: String

    package init(instancePath: String, keyword: String, schemaPath: String, message: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.schemaPath = schemaPath
        self.message = message
    }

    package var description: String {
        "\(instancePath.isEmpty ? "(root)" : instancePath): \(message) [\(keyword)]"
    }
}

// MARK: - Compiled form

/// A compiled regular expression; `NSRegularExpression` is immutable and safe to share.
struct CompiledPattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    func matches(_ string: String) -> Bool {
        let range = NSRange(string.startIndex..<string.endIndex, in: string)
        return regex.firstMatch(in: string, options: [], range: range) != nil
    }
}

enum Node: Sendable {
    case always(Bool)
    case keywords(Keywords)
}

/// One schema object's keywords, compiled. A class so that validation reads them in place
/// instead of copying two dozen fields per node visited; the compiler fills it in before the
/// schema is published and nothing mutates it afterwards, hence `@unchecked Sendable`.
final class Keywords: @unchecked Sendable {
    var types: [String]? {
        didSet { typeMask = types.map(TypeMask.init(names:)) }
    }
    /// `types` as a bit mask, for checking without comparing strings.
    private(set) var typeMask: TypeMask?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var properties: [(name: String, node: Int)] = [] {
        didSet { propertyNames = Set(properties.map(\.name)) }
    }
    /// The names in `properties`, for `additionalProperties`.
    private(set) var propertyNames: Set<String> = []
    var required: [String] = []
    var additionalProperties: Int?
    var items: Int?
    var minItems: Int?
    var maxItems: Int?
    var minimum: JSONNumber?
    var maximum: JSONNumber?
    var exclusiveMinimum: JSONNumber?
    var exclusiveMaximum: JSONNumber?
    var multipleOf: JSONNumber?
    var pattern: CompiledPattern?
    var minLength: Int?
    var maxLength: Int?
    var anyOf: [Int]?
    /// Normalised target location of `$ref`.
    var ref: String?
}

/// JSON Schema type names as bits.
struct TypeMask: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeMask(rawValue: 1), boolean = TypeMask(rawValue: 2), object = TypeMask(rawValue: 4), array = TypeMask(rawValue: 8)
    static let number = TypeMask(rawValue: 16), integer = TypeMask(rawValue: 32), string = TypeMask(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(names: [String]) {
        var mask: TypeMask = []
        for name in names {
            switch name {
            case "null": mask.insert(.null)
            case "boolean": mask.insert(.boolean)
            case "object": mask.insert(.object)
            case "array": mask.insert(.array)
            case "number": mask.insert(.number)
            case "integer": mask.insert(.integer)
            case "string": mask.insert(.string)
            default: break
            }
        }
        self = mask
    }

    /// Whether `value` is of one of the types.
    func matches(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .object: contains(.object)
        case .array: contains(.array)
        case .string: contains(.string)
        case .number(let n): contains(.number) || (contains(.integer) && n.isIntegral)
        }
    }
}
