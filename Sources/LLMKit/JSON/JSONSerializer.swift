/// Writes ``JSONValue`` trees as JSON text.
///
/// The canonical form (``JSONValue/canonicalString``) sorts object keys by their UTF-8 bytes,
/// writes no whitespace and formats numbers stably: integral values below 2^53 as integers
/// (`1.0` and `1` both become `1`), other reals in Swift's shortest round-trip form with the
/// exponent written `e-7`/`e+21`. Equal values therefore always produce equal bytes, which is
/// what request hashing needs.
package enum JSONSerializer {
    /// Output layout.
    package enum Style: Sendable {
        /// Keys in insertion order, no whitespace.
        case compact
        /// Keys sorted, no whitespace, stable number formatting.
        case canonical
        /// Keys in insertion order, two-space indentation.
        case pretty
    }

    /// Serialises `value` in the given style.
    package static func string(_ value: JSONValue, style: Style = .compact) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, style: style, indent: 0, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value`'s JSON text to `out` (UTF-8 bytes).
    package static func append(_ value: JSONValue, style: Style = .compact, to out: inout [UInt8]) {
        write(value, style: style, indent: 0, into: &out)
    }

    /// The stable textual form of a number.
    package static func format(_ number: JSONNumber) -> String {
        switch number {
        case .integer(let i): return String(i)
        case .real(let d): return format(d)
        }
    }

    /// The stable textual form of a finite double (see ``JSONSerializer``).
    package static func format(_ d: Double) -> String {
        precondition(d.isFinite, "JSON cannot represent \(d)")
        if d == 0 { return "0" }
        if d.rounded(.towardZero) == d, abs(d) < 9_007_199_254_740_992 {
            return String(Int64(d))
        }
        var text = d.description
        guard text.utf8.contains(UInt8(ascii: "e")) || text.utf8.contains(UInt8(ascii: "E")) else { return text }
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

    /// The bytes that may need escaping in a string: quote, backslash, controls, and 0xE2 (the
    /// first byte of U+2028 and U+2029).
    private static let special: [Bool] = (0..<256).map { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }

    /// Appends a finite double in the stable form of ``format(_:)-(Double)``. Values with at
    /// most 4 decimals that round-trip (0.25, 0.0833 written as such, 0.6) are written from
    /// their integer digits without building a string; the others as ``format(_:)-(Double)``.
    static func appendNumber(_ d: Double, to out: inout [UInt8]) {
        if d == 0 { out.append(UInt8(ascii: "0")); return }
        if d.rounded(.towardZero) == d, abs(d) < 9_007_199_254_740_992 {
            out.append(contentsOf: String(Int64(d)).utf8)
            return
        }
        let magnitude = abs(d)
        if magnitude >= 1e-4 && magnitude < 1e9 {
            for k in 1...4 {
                let scale = Self.decimalScales[k]
                let units = (magnitude * scale).rounded()
                guard units / scale == magnitude else { continue }
                if d < 0 { out.append(UInt8(ascii: "-")) }
                appendFixed(UInt64(units), decimals: k, to: &out)
                return
            }
        }
        out.append(contentsOf: format(d).utf8)
    }

    private static let decimalScales: [Double] = [1, 10, 100, 1000, 10000]

    /// `units / 10^decimals` in decimal, with a leading `0` when below 1 (`0.25`, `12.5`).
    private static func appendFixed(_ units: UInt64, decimals: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var n = units, count = 0
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            } while n > 0 || count <= decimals
            for k in stride(from: count - 1, through: 0, by: -1) {
                if k == decimals - 1 { out.append(UInt8(ascii: ".")) }
                out.append(buffer[k])
            }
        }
    }

    private static func write(_ value: JSONValue, style: Style, indent: Int, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(.integer(let i)): out.append(contentsOf: String(i).utf8)
        case .number(.real(let d)): appendNumber(d, to: &out)
        case .string(let s): appendString(s, to: &out)
        case .array(let elements):
            if elements.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(style, indent + 1, &out)
                write(element, style: style, indent: indent + 1, into: &out)
            }
            newline(style, indent, &out)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty { out.append(contentsOf: "{}".utf8); return }
            // Members in order (each looked up once); canonical output sorts them by key bytes.
            let members = style == .canonical ? object.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : Array(object)
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(style, indent + 1, &out)
                appendString(member.key, to: &out)
                out.append(contentsOf: (style == .pretty ? ": " : ":").utf8)
                write(member.value, style: style, indent: indent + 1, into: &out)
            }
            newline(style, indent, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ style: Style, _ indent: Int, _ out: inout [UInt8]) {
        guard style == .pretty else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    /// Appends a JSON string literal: quotes, backslashes and control characters escaped,
    /// U+2028 and U+2029 as `\u2028`/`\u2029`, everything else (including non-ASCII) as UTF-8,
    /// copied in runs between the bytes that need escaping.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            var i = 0
            func flush(upTo end: Int) {
                if end > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<end])) }
            }
            while i < bytes.count {
                let byte = bytes[i]
                guard Self.special[Int(byte)] else {
                    i += 1
                    continue
                }
                var escape: String?
                var width = 1
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0x08: escape = "\\b"
                case 0x0C: escape = "\\f"
                case 0..<0x20:
                    let hex = String(byte, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    escape = bytes[i + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    width = 3
                default: break
                }
                if let escape {
                    flush(upTo: i)
                    out.append(contentsOf: escape.utf8)
                    i += width
                    runStart = i
                } else {
                    i += 1
                }
            }
            flush(upTo: bytes.count)
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    public var description: String { JSONSerializer.string(self, style: .compact) }
    /// Canonical JSON text: sorted keys, no whitespace, stable numbers (see ``JSONSerializer``).
    package var canonicalString: String { JSONSerializer.string(self, style: .canonical) }
}
