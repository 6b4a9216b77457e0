/// Writes ``JSONValue`` trees as JSON text.
///
/// The canonical form (``JSONValue/canonicalString``) sorts object keys by their UTF-8 bytes,
/// writes no whitespace and formats numbers stably: integral values below 2^53 as integers
/// (`1.0` and `1` both become `1`), other reals in Swift's shortest round-trip form with the
/// exponent written `e-7`/`e+21`. Equal values therefore always produce equal bytes, which is
/// what request hashing needs.
public enum JSONSerializer {
    /// Output layout.
    public enum Style: Sendable {
        /// Keys in insertion order, no whitespace.
        case compact
        /// Keys sorted, no whitespace, stable number formatting.
        case canonical
        /// Keys in insertion order, two-space indentation.
        case pretty
    }

    /// Serialises `value` in the given style.
    public static func string(_ value: JSONValue, style: Style = .compact) -> String {
        var out = ""
        write(value, style: style, indent: 0, into: &out)
        return out
    }

    /// The stable textual form of a number.
    public static func format(_ number: JSONNumber) -> String {
        switch number {
        case .integer(let i): return String(i)
        case .real(let d): return format(d)
        }
    }

    /// The stable textual form of a finite double (see ``JSONSerializer``).
    public static func format(_ d: Double) -> String {
        precondition(d.isFinite, "JSON cannot represent \(d)")
        if d == 0 { return "0" }
        if d.rounded(.towardZero) == d, abs(d) < 9_007_199_254_740_992 {
            return String(Int64(d))
        }
        var text = "\(d)"
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var mantissa = String(text[..<e])
            var exponent = String(text[text.index(after: e)...])
            var sign = "+"
            if exponent.hasPrefix("-") { sign = "-"; exponent.removeFirst() } else if exponent.hasPrefix("+") { exponent.removeFirst() }
            while exponent.count > 1 && exponent.hasPrefix("0") { exponent.removeFirst() }
            if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
            text = "\(mantissa)e\(sign)\(exponent)"
        }
        return text
    }

    private static func write(_ value: JSONValue, style: Style, indent: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += format(n)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                newline(style, indent + 1, &out)
                write(element, style: style, indent: indent + 1, into: &out)
            }
            newline(style, indent, &out)
            out += "]"
        case .object(let object):
            if object.isEmpty { out += "{}"; return }
            let keys = style == .canonical ? object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } : object.keys
            out += "{"
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                newline(style, indent + 1, &out)
                writeString(key, into: &out)
                out += style == .pretty ? ": " : ":"
                write(object[key]!, style: style, indent: indent + 1, into: &out)
            }
            newline(style, indent, &out)
            out += "}"
        }
    }

    private static func newline(_ style: Style, _ indent: Int, _ out: inout String) {
        guard style == .pretty else { return }
        out += "\n"
        out += String(repeating: "  ", count: indent)
    }

    /// Writes a JSON string literal: quotes, backslashes and control characters escaped,
    /// everything else (including non-ASCII) as UTF-8.
    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    public var description: String { JSONSerializer.string(self, style: .compact) }
    /// Canonical JSON text: sorted keys, no whitespace, stable numbers (see ``JSONSerializer``).
    public var canonicalString: String { JSONSerializer.string(self, style: .canonical) }
}
