/// A JSON value: the tree that ``StrictJSON`` produces and the canonical serialiser consumes.
///
/// Numbers keep the distinction jansson makes between integer and real literals
/// (``JSONNumber``), but compare mathematically: `1` equals `1.0`, as JSON Schema's
/// `enum` and `const` require.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in order.
    case object(JSONObject)

    /// The value's JSON type name as JSON Schema spells it (`"integer"` is reported as `"number"`).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        if case .number(let n) = self { return n.doubleValue }
        return nil
    }

    /// The number as an `Int`, if this is a number with no fractional part that fits.
    public var intValue: Int? {
        if case .number(let n) = self { return n.exactInt }
        return nil
    }

    /// The boolean, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Member lookup for objects; `nil` for other values or absent keys.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

/// A JSON number: an integer literal that fits in 64 bits, or a finite real.
///
/// Equality and hashing are mathematical, so `.integer(1) == .real(1.0)`.
public enum JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// An integer literal that fits in 64 bits.
    case integer(Int64)
    /// A finite real.
    case real(Double)

    /// The value as a `Double` (integers beyond 2^53 round).
    public var doubleValue: Double {
        switch self {
        case .integer(let i): Double(i)
        case .real(let d): d
        }
    }

    /// The value as an `Int64` when it has no fractional part and fits.
    public var exactInteger: Int64? {
        switch self {
        case .integer(let i): return i
        case .real(let d):
            guard d.isFinite, d.rounded(.towardZero) == d, let i = Int64(exactly: d) else { return nil }
            return i
        }
    }

    /// The value as an `Int` when it has no fractional part and fits.
    public var exactInt: Int? { exactInteger.flatMap { Int(exactly: $0) } }

    /// Whether the value has no fractional part (JSON Schema's `integer`: `1.0` counts).
    public var isIntegral: Bool {
        switch self {
        case .integer: true
        case .real(let d): d.isFinite && d.rounded(.towardZero) == d
        }
    }

    /// Mathematical equality: `.integer(1) == .real(1.0)`.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.integer(let a), .real(let b)), (.real(let b), .integer(let a)):
            guard let exact = Int64(exactly: b) else { return false }
            return exact == a
        case (.real(let a), .real(let b)): return a == b
        }
    }

    /// Hashes the value as a `Double`, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(doubleValue)
    }

    /// The number's stable JSON text (`1`, `0.25`, `1e-07`).
    public var description: String { JSONSerializer.format(self) }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` as `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .number(.integer(value)) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(.real(value)) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal, keeping the literal's key order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }

    /// A number from an `Int`.
    public static func int(_ value: Int) -> JSONValue { .number(.integer(Int64(value))) }
    /// A number from a `Double`; non-finite values cannot be represented in JSON and become `null`.
    public static func double(_ value: Double) -> JSONValue { value.isFinite ? .number(.real(value)) : .null }
}

extension JSONValue {
    /// JSON equality: strings compare by code points (not Unicode canonical equivalence, which
    /// Swift's `String ==` uses), numbers mathematically, objects regardless of member order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }

    /// Hashes consistently with `==` (code points, mathematical numbers, member order ignored).
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): for scalar in s.unicodeScalars { hasher.combine(scalar.value) }
        case .array(let a): hasher.combine(a)
        case .object(let o): hasher.combine(o)
        }
    }
}
