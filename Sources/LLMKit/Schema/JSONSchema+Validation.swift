extension JSONSchema {
    /// Walks an instance against compiled nodes.
    ///
    /// Paths are kept as stacks of tokens and turned into JSON Pointer strings only when a
    /// violation is reported, so validating a valid instance builds no strings at all.
    struct Validator {
        /// One step of a path: a member name or an array index.
        enum Token {
            case name(String)
            case index(Int)
        }

        let schema: JSONSchema
        /// `$ref` chains deeper than this are a cycle that consumes no input.
        static let maximumDepth = 256
        var depth = 0
        private var instance: [Token] = []
        /// The schema path: the location a `$ref` jumped to (`#/...`), then tokens.
        private var schemaBase = ""
        private var schemaTokens: [Token] = []

        init(schema: JSONSchema) { self.schema = schema }

        static func pointer(_ base: String, _ tokens: [Token]) -> String {
            var out = base
            for token in tokens {
                switch token {
                case .name(let name): out = JSONPointer.appending(out, name)
                case .index(let i): out = JSONPointer.appending(out, i)
                }
            }
            return out
        }

        private func violation(_ keyword: String, _ message: String, extra: Token? = nil) -> SchemaViolation {
            SchemaViolation(instancePath: Self.pointer("", extra.map { instance + [$0] } ?? instance), keyword: keyword,
                            schemaPath: Self.pointer(schemaBase, schemaTokens + [.name(keyword)]), message: message)
        }

        mutating func check(_ value: JSONValue, node index: Int, into violations: inout [SchemaViolation]) {
            switch schema.nodes[index] {
            case .always(true):
                return
            case .always(false):
                violations.append(SchemaViolation(instancePath: Self.pointer("", instance), keyword: "false",
                                                  schemaPath: Self.pointer(schemaBase, schemaTokens), message: "no value is allowed here"))
            case .keywords(let k):
                check(value, k, into: &violations)
            }
        }

        /// Checks `value` at `node` one level down: the instance path gains `token`, the schema
        /// path `first` (and `second`), pushed and popped without building arrays.
        private mutating func descend(_ value: JSONValue, node: Int, token: Token?, schema first: Token, _ second: Token? = nil,
                                      into violations: inout [SchemaViolation]) {
            if let token { instance.append(token) }
            schemaTokens.append(first)
            if let second { schemaTokens.append(second) }
            check(value, node: node, into: &violations)
            schemaTokens.removeLast(second == nil ? 1 : 2)
            if token != nil { instance.removeLast() }
        }

        private mutating func check(_ value: JSONValue, _ k: Keywords, into violations: inout [SchemaViolation]) {
            if let target = k.ref, let node = schema.locations[target] {
                depth += 1
                if depth > Self.maximumDepth {
                    violations.append(violation("$ref", "reference cycle: '$ref' chains deeper than \(Self.maximumDepth) without consuming the value"))
                } else {
                    let saved = (schemaBase, schemaTokens)
                    (schemaBase, schemaTokens) = ("#" + target, [])
                    check(value, node: node, into: &violations)
                    (schemaBase, schemaTokens) = saved
                }
                depth -= 1
            }
            if let types = k.types, let mask = k.typeMask, !mask.matches(value) {
                violations.append(violation("type", "expected \(types.joined(separator: " or ")), found \(value.typeName)"))
            }
            if let options = k.enumValues, !options.contains(value) {
                violations.append(violation("enum", "\(Self.short(value)) is not one of the allowed values"))
            }
            if let constant = k.constValue, constant != value {
                violations.append(violation("const", "must equal \(Self.short(constant))"))
            }
            if let subs = k.anyOf {
                var matched = false
                for sub in subs {
                    var scratch: [SchemaViolation] = []
                    check(value, node: sub, into: &scratch)
                    if scratch.isEmpty { matched = true; break }
                }
                if !matched { violations.append(violation("anyOf", "matches none of the \(subs.count) alternatives")) }
            }
            switch value {
            case .object(let object): checkObject(object, k, into: &violations)
            case .array(let elements): checkArray(elements, k, into: &violations)
            case .number(let n): checkNumber(n, k, into: &violations)
            case .string(let s): checkString(s, k, into: &violations)
            default: break
            }
        }

        private mutating func checkObject(_ object: JSONObject, _ k: Keywords, into violations: inout [SchemaViolation]) {
            for name in k.required where object[name] == nil {
                violations.append(violation("required", "missing required property '\(name)'"))
            }
            var declared = 0
            for (name, node) in k.properties {
                guard let member = object[name] else { continue }
                declared += 1
                descend(member, node: node, token: .name(name), schema: .name("properties"), .name(name), into: &violations)
            }
            // Keys are unique: when every member is a declared property, none is additional.
            guard let extra = k.additionalProperties, declared < object.count else { return }
            for (name, _) in object where !k.propertyNames.contains(name) {
                if case .always(false) = schema.nodes[extra] {
                    violations.append(violation("additionalProperties", "unexpected property '\(name)'", extra: .name(name)))
                } else {
                    descend(object[name]!, node: extra, token: .name(name), schema: .name("additionalProperties"), into: &violations)
                }
            }
        }

        private mutating func checkArray(_ elements: [JSONValue], _ k: Keywords, into violations: inout [SchemaViolation]) {
            if let min = k.minItems, elements.count < min { violations.append(violation("minItems", "has \(elements.count) items, fewer than \(min)")) }
            if let max = k.maxItems, elements.count > max { violations.append(violation("maxItems", "has \(elements.count) items, more than \(max)")) }
            if let items = k.items {
                for (i, element) in elements.enumerated() {
                    descend(element, node: items, token: .index(i), schema: .name("items"), into: &violations)
                }
            }
        }

        private func checkNumber(_ n: JSONNumber, _ k: Keywords, into violations: inout [SchemaViolation]) {
            if let m = k.minimum, Self.compare(n, m) < 0 { violations.append(violation("minimum", "\(n) is less than \(m)")) }
            if let m = k.maximum, Self.compare(n, m) > 0 { violations.append(violation("maximum", "\(n) is greater than \(m)")) }
            if let m = k.exclusiveMinimum, Self.compare(n, m) <= 0 { violations.append(violation("exclusiveMinimum", "\(n) is not greater than \(m)")) }
            if let m = k.exclusiveMaximum, Self.compare(n, m) >= 0 { violations.append(violation("exclusiveMaximum", "\(n) is not less than \(m)")) }
            if let m = k.multipleOf, !Self.isMultiple(n, of: m) { violations.append(violation("multipleOf", "\(n) is not a multiple of \(m)")) }
        }

        private func checkString(_ s: String, _ k: Keywords, into violations: inout [SchemaViolation]) {
            if k.minLength != nil || k.maxLength != nil {
                let length = s.unicodeScalars.count
                if let min = k.minLength, length < min { violations.append(violation("minLength", "is \(length) characters long, shorter than \(min)")) }
                if let max = k.maxLength, length > max { violations.append(violation("maxLength", "is \(length) characters long, longer than \(max)")) }
            }
            if let pattern = k.pattern, !pattern.matches(s) { violations.append(violation("pattern", "does not match the pattern '\(pattern.source)'")) }
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
