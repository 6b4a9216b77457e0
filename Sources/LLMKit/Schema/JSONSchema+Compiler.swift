import Foundation

extension JSONSchema {
    /// Turns a schema document into compiled nodes, checking every keyword.
    struct Compiler {
        let document: JSONValue
        var nodes: [Node] = []
        var locations: [String: Int] = [:]
        var pendingReferences: [(target: String, from: String)] = []

        init(document: JSONValue) { self.document = document }

        mutating func compile(_ schema: JSONValue, at pointer: String) throws(SchemaLoadError) -> Int {
            if let existing = locations[pointer] { return existing }
            let index = nodes.count
            nodes.append(.always(true))
            locations[pointer] = index
            switch schema {
            case .bool(let b):
                nodes[index] = .always(b)
            case .object(let object):
                nodes[index] = .keywords(try keywords(object, at: pointer))
            default:
                throw SchemaLoadError(pointer: pointer, keyword: nil, reason: "a schema must be an object or a boolean, not \(schema.typeName)")
            }
            return index
        }

        mutating func resolvePendingReferences() throws(SchemaLoadError) {
            while let (target, from) = pendingReferences.popLast() {
                if locations[target] != nil { continue }
                guard let value = JSONPointer.resolve(target, in: document) else {
                    throw SchemaLoadError(pointer: from, keyword: "$ref", reason: "'#\(target)' points to nothing in this schema")
                }
                _ = try compile(value, at: target)
            }
        }

        /// Compiles one schema object's keywords. Long on purpose: one `case` per supported
        /// keyword, each with its own load-time check, is the table of what this validator
        /// understands, kept in one place.
        private mutating func keywords(_ object: JSONObject, at pointer: String) throws(SchemaLoadError) -> Keywords {
            let k = Keywords()
            func fail(_ keyword: String, _ reason: String) -> SchemaLoadError {
                SchemaLoadError(pointer: pointer, keyword: keyword, reason: reason)
            }
            for (keyword, value) in object {
                let here = JSONPointer.appending(pointer, keyword)
                switch keyword {
                case "$schema":
                    guard let uri = value.stringValue else { throw fail(keyword, "must be a string") }
                    let trimmed = uri.hasSuffix("#") ? String(uri.dropLast()) : uri
                    guard trimmed == JSONSchema.draft202012 else {
                        throw fail(keyword, "only draft 2020-12 (\(JSONSchema.draft202012)) is supported, not '\(uri)'")
                    }
                case "title", "description", "$comment":
                    guard value.stringValue != nil else { throw fail(keyword, "must be a string") }
                case "default", "format":
                    break
                case "examples":
                    guard value.arrayValue != nil else { throw fail(keyword, "must be an array") }
                case "type":
                    let names: [String]
                    switch value {
                    case .string(let s): names = [s]
                    case .array(let list):
                        var collected: [String] = []
                        for element in list {
                            guard let s = element.stringValue else { throw fail(keyword, "must list type names as strings") }
                            collected.append(s)
                        }
                        names = collected
                    default: throw fail(keyword, "must be a type name or an array of them")
                    }
                    let valid: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]
                    if let bad = names.first(where: { !valid.contains($0) }) { throw fail(keyword, "'\(bad)' is not a JSON Schema type") }
                    if Set(names).count != names.count { throw fail(keyword, "lists a type twice") }
                    k.types = names
                case "enum":
                    guard let list = value.arrayValue else { throw fail(keyword, "must be an array") }
                    k.enumValues = list
                case "const":
                    k.constValue = value
                case "properties":
                    guard let members = value.objectValue else { throw fail(keyword, "must be an object") }
                    for (name, sub) in members {
                        k.properties.append((name, try compile(sub, at: JSONPointer.appending(here, name))))
                    }
                case "required":
                    guard let list = value.arrayValue else { throw fail(keyword, "must be an array of strings") }
                    var names: [String] = []
                    for element in list {
                        guard let s = element.stringValue else { throw fail(keyword, "must be an array of strings") }
                        names.append(s)
                    }
                    if Set(names).count != names.count { throw fail(keyword, "lists a property twice") }
                    k.required = names
                case "additionalProperties":
                    k.additionalProperties = try compile(value, at: here)
                case "items":
                    guard value.objectValue != nil || value.boolValue != nil else {
                        throw fail(keyword, "must be a schema (an array form is prefixItems, which is not supported)")
                    }
                    k.items = try compile(value, at: here)
                case "minItems": k.minItems = try count(value, keyword)
                case "maxItems": k.maxItems = try count(value, keyword)
                case "minLength": k.minLength = try count(value, keyword)
                case "maxLength": k.maxLength = try count(value, keyword)
                case "minimum": k.minimum = try number(value, keyword)
                case "maximum": k.maximum = try number(value, keyword)
                case "exclusiveMinimum": k.exclusiveMinimum = try number(value, keyword)
                case "exclusiveMaximum": k.exclusiveMaximum = try number(value, keyword)
                case "multipleOf":
                    let n = try number(value, keyword)
                    guard n.doubleValue > 0 else { throw fail(keyword, "must be greater than 0") }
                    k.multipleOf = n
                case "pattern":
                    guard let source = value.stringValue else { throw fail(keyword, "must be a string") }
                    do {
                        k.pattern = CompiledPattern(source: source, regex: try NSRegularExpression(pattern: source))
                    } catch {
                        throw fail(keyword, "'\(source)' is not a valid regular expression")
                    }
                case "anyOf":
                    guard let list = value.arrayValue, !list.isEmpty else { throw fail(keyword, "must be a non-empty array of schemas") }
                    var subs: [Int] = []
                    for (i, sub) in list.enumerated() { subs.append(try compile(sub, at: JSONPointer.appending(here, i))) }
                    k.anyOf = subs
                case "$defs":
                    guard let members = value.objectValue else { throw fail(keyword, "must be an object") }
                    for (name, sub) in members { _ = try compile(sub, at: JSONPointer.appending(here, name)) }
                case "$ref":
                    guard let ref = value.stringValue else { throw fail(keyword, "must be a string") }
                    let target = try Self.localPointer(ref, at: pointer)
                    k.ref = target
                    pendingReferences.append((target, pointer))
                default:
                    throw fail(keyword, "is not supported by this validator (supported: \(JSONSchema.assertionKeywords.union(JSONSchema.annotationKeywords).sorted().joined(separator: ", ")))")
                }
            }
            return k

            func count(_ value: JSONValue, _ keyword: String) throws(SchemaLoadError) -> Int {
                guard case .number(let n) = value, let i = n.exactInt, i >= 0 else { throw fail(keyword, "must be a non-negative integer") }
                return i
            }
            func number(_ value: JSONValue, _ keyword: String) throws(SchemaLoadError) -> JSONNumber {
                guard case .number(let n) = value else { throw fail(keyword, "must be a number") }
                return n
            }
        }

        /// Normalises a `$ref` to a JSON pointer inside this document, or refuses it.
        static func localPointer(_ ref: String, at pointer: String) throws(SchemaLoadError) -> String {
            guard ref.hasPrefix("#") else {
                throw SchemaLoadError(pointer: pointer, keyword: "$ref", reason: "only local references ('#', '#/$defs/...') are supported, not '\(ref)'")
            }
            let fragment = String(ref.dropFirst())
            guard let decoded = fragment.removingPercentEncoding,
                let tokens = JSONPointer.tokens(decoded)
            else {
                throw SchemaLoadError(pointer: pointer, keyword: "$ref", reason: "'\(ref)' is not a JSON pointer (anchors are not supported)")
            }
            return tokens.map { "/" + JSONPointer.escape($0) }.joined()
        }
    }
}
