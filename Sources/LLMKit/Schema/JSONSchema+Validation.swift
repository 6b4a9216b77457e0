extension JSONSchema {
    /// Walks an instance against compiled nodes.
    struct Validator {
        let schema: JSONSchema
        /// `$ref` chains deeper than this are a cycle that consumes no input.
        static let maximumDepth = 256
        var depth = 0

        init(schema: JSONSchema) { self.schema = schema }

        mutating func check(
            _ value: JSONValue, node index: Int, instancePath: String, schemaPath: String,
            into violations: inout [SchemaViolation]
        ) {
            switch schema.nodes[index] {
            case .always(true):
                return
            case .always(false):
                violations.append(SchemaViolation(instancePath: instancePath, keyword: "false", schemaPath: schemaPath, message: "no value is allowed here"))
            case .keywords(let k):
                check(value, k, instancePath: instancePath, schemaPath: schemaPath, into: &violations)
            }
        }

        private mutating func check(
            _ value: JSONValue, _ k: Keywords, instancePath: String, schemaPath: String,
            into violations: inout [SchemaViolation]
        ) {
            func report(_ keyword: String, _ message: String, at path: String = instancePath) {
                violations.append(SchemaViolation(
                    instancePath: path, keyword: keyword,
                    schemaPath: JSONPointer.appending(schemaPath, keyword), message: message))
            }

            if let target = k.ref, let node = schema.locations[target] {
                depth += 1
                if depth > Self.maximumDepth {
                    report("$ref", "reference cycle: '$ref' chains deeper than \(Self.maximumDepth) without consuming the value")
                } else {
                    check(value, node: node, instancePath: instancePath, schemaPath: "#" + target, into: &violations)
                }
                depth -= 1
            }
            if let types = k.types, !types.contains(where: { Self.matches(value, type: $0) }) {
                report("type", "expected \(types.joined(separator: " or ")), found \(value.typeName)")
            }
            if let options = k.enumValues, !options.contains(value) {
                report("enum", "\(Self.short(value)) is not one of the allowed values")
            }
            if let constant = k.constValue, constant != value {
                report("const", "must equal \(Self.short(constant))")
            }
            if let subs = k.anyOf {
                var matched = false
                for sub in subs {
                    var scratch: [SchemaViolation] = []
                    check(value, node: sub, instancePath: instancePath, schemaPath: schemaPath, into: &scratch)
                    if scratch.isEmpty { matched = true; break }
                }
                if !matched { report("anyOf", "matches none of the \(subs.count) alternatives") }
            }

            switch value {
            case .object(let object):
                for name in k.required where object[name] == nil {
                    report("required", "missing required property '\(name)'")
                }
                for (name, node) in k.properties {
                    guard let member = object[name] else { continue }
                    let path = JSONPointer.appending(instancePath, name)
                    check(member, node: node, instancePath: path,
                          schemaPath: JSONPointer.appending(JSONPointer.appending(schemaPath, "properties"), name), into: &violations)
                }
                if let extra = k.additionalProperties {
                    let known = Set(k.properties.map(\.name))
                    for (name, member) in object where !known.contains(name) {
                        let path = JSONPointer.appending(instancePath, name)
                        var scratch: [SchemaViolation] = []
                        check(member, node: extra, instancePath: path, schemaPath: JSONPointer.appending(schemaPath, "additionalProperties"), into: &scratch)
                        if case .always(false) = schema.nodes[extra] {
                            report("additionalProperties", "unexpected property '\(name)'", at: path)
                        } else {
                            violations += scratch
                        }
                    }
                }
            case .array(let elements):
                if let min = k.minItems, elements.count < min { report("minItems", "has \(elements.count) items, fewer than \(min)") }
                if let max = k.maxItems, elements.count > max { report("maxItems", "has \(elements.count) items, more than \(max)") }
                if let items = k.items {
                    for (i, element) in elements.enumerated() {
                        check(element, node: items, instancePath: JSONPointer.appending(instancePath, i),
                              schemaPath: JSONPointer.appending(schemaPath, "items"), into: &violations)
                    }
                }
            case .number(let n):
                if let m = k.minimum, Self.compare(n, m) < 0 { report("minimum", "\(n) is less than \(m)") }
                if let m = k.maximum, Self.compare(n, m) > 0 { report("maximum", "\(n) is greater than \(m)") }
                if let m = k.exclusiveMinimum, Self.compare(n, m) <= 0 { report("exclusiveMinimum", "\(n) is not greater than \(m)") }
                if let m = k.exclusiveMaximum, Self.compare(n, m) >= 0 { report("exclusiveMaximum", "\(n) is not less than \(m)") }
                if let m = k.multipleOf, !Self.isMultiple(n, of: m) { report("multipleOf", "\(n) is not a multiple of \(m)") }
            case .string(let s):
                if k.minLength != nil || k.maxLength != nil {
                    let length = s.unicodeScalars.count
                    if let min = k.minLength, length < min { report("minLength", "is \(length) characters long, shorter than \(min)") }
                    if let max = k.maxLength, length > max { report("maxLength", "is \(length) characters long, longer than \(max)") }
                }
                if let pattern = k.pattern, !pattern.matches(s) { report("pattern", "does not match the pattern '\(pattern.source)'") }
            default:
                break
            }
        }

        static func matches(_ value: JSONValue, type: String) -> Bool {
            switch (type, value) {
            case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array),
                ("string", .string), ("number", .number):
                return true
            case ("integer", .number(let n)):
                return n.isIntegral
            default:
                return false
            }
        }

        /// Three-way comparison, exact for two integers.
        static func compare(_ a: JSONNumber, _ b: JSONNumber) -> Int {
            if case .integer(let x) = a, case .integer(let y) = b { return x < y ? -1 : (x > y ? 1 : 0) }
            let x = a.doubleValue, y = b.doubleValue
            return x < y ? -1 : (x > y ? 1 : 0)
        }

        static func isMultiple(_ n: JSONNumber, of m: JSONNumber) -> Bool {
            if case .integer(let x) = n, case .integer(let y) = m { return x % y == 0 }
            let quotient = n.doubleValue / m.doubleValue
            guard quotient.isFinite else { return false }
            // Decimal divisors (0.01) are not exact in binary: accept a quotient within a few
            // ulps of an integer.
            return abs(quotient - quotient.rounded()) <= 1e-9 * max(1, abs(quotient))
        }

        static func short(_ value: JSONValue) -> String {
            let text = value.description
            return text.count > 40 ? String(text.prefix(37)) + "..." : text
        }
    }
}
