/// A one-pass JSON parser for the texts on the hot path (chat completions, answers, dataset
/// lines), building ``JSONValue``s straight from the UTF-8 bytes.
///
/// It is a fast path in front of jansson, not a second judge: it accepts a subset of what
/// jansson accepts and returns `nil` for everything else (any syntax error, a duplicate key,
/// an integer beyond 64 bits, a real that overflows, a `\u0000` in a key, nesting deeper than
/// 512, invalid UTF-8). ``StrictJSON`` then parses the same bytes with jansson, which reports
/// the error with its position or, for the rare valid text declined here, returns the value.
/// Values are the same as jansson's: integers as `Int64` (`-0` is `0`), reals correctly rounded
/// (Clinger's exact fast path for up to 15 significant digits and exponents within ±22, the
/// standard library's correctly rounded conversion otherwise), strings with escapes decoded and
/// `\u0000` kept. A differential test holds the two parsers to this on generated and mutated
/// texts.
struct FastJSON {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0
    private var scratch: [UInt8] = []
    private static let maximumDepth = 512

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The value of `bytes`, or `nil` when jansson has to decide.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        var parser = FastJSON(bytes)
        guard let value = parser.value() else { return .none }
        parser.skipWhitespace()
        return parser.i == bytes.count ? value : .none
    }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    private mutating func value() -> JSONValue? {
        skipWhitespace()
        guard i < bytes.count else { return .none }
        switch bytes[i] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""):
            guard let (s, _) = string() else { return .none }
            return .string(s)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return .none
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n else { return .none }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return .none }
        i += n
        return value
    }

    private mutating func object() -> JSONValue? {
        depth += 1
        guard depth <= Self.maximumDepth else { return .none }
        defer { depth -= 1 }
        i += 1
        var object = JSONObject()
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return .none }
            guard let (key, hasNUL) = string(), !hasNUL else { return .none }
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return .none }
            i += 1
            guard let member = value(), object[key] == nil else { return .none }
            object.appendNew(key, member)
            skipWhitespace()
            guard i < bytes.count else { return .none }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
            return .none
        }
    }

    private mutating func array() -> JSONValue? {
        depth += 1
        guard depth <= Self.maximumDepth else { return .none }
        defer { depth -= 1 }
        i += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
        while true {
            guard let element = value() else { return .none }
            elements.append(element)
            skipWhitespace()
            guard i < bytes.count else { return .none }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
            return .none
        }
    }

    /// A string at `i` (on its opening quote), and whether it holds U+0000.
    private mutating func string() -> (String, Bool)? {
        i += 1
        let start = i
        // The common case: printable ASCII up to the closing quote, no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return (s, false)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { break }
            i += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
        var hasNUL = false
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return (String(decoding: scratch, as: UTF8.self), hasNUL)
            } else if b == UInt8(ascii: "\\") {
                guard escape(&hasNUL) else { return nil }
            } else if b < 0x20 {
                return nil
            } else if b < 0x80 {
                scratch.append(b)
                i += 1
            } else {
                guard let length = Self.utf8SequenceLength(bytes, at: i) else { return nil }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                i += length
            }
        }
        return nil
    }

    /// Decodes the escape at `i` (on its backslash) into `scratch`; `false` when it is not one
    /// jansson would decode to the same text (unknown escapes, lone surrogates).
    private mutating func escape(_ hasNUL: inout Bool) -> Bool {
        guard i + 1 < bytes.count else { return false }
        i += 2
        switch bytes[i - 1] {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            guard var scalar = hex4() else { return false }
            if scalar >= 0xD800 && scalar < 0xDC00 {
                guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return false }
                i += 2
                guard let low = hex4(), low >= 0xDC00 && low < 0xE000 else { return false }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar < 0xE000 {
                return false
            }
            if scalar == 0 { hasNUL = true }
            appendUTF8(scalar)
        default:
            return false
        }
        return true
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - i >= 4 else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(digit)
            i += 1
        }
        return v
    }

    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case ..<0x80: scratch.append(UInt8(v))
        case ..<0x800: scratch.append(contentsOf: [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)])
        case ..<0x10000: scratch.append(contentsOf: [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)])
        default: scratch.append(contentsOf: [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)])
        }
    }

    /// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF) starting at `i`, or `nil`.
    static func utf8SequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let b0 = bytes[i]
        func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i + k < bytes.count && bytes[i + k] >= low && bytes[i + k] <= high
        }
        switch b0 {
        case 0xC2...0xDF: return continuation(1) ? 2 : nil
        case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : nil
        case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default: return nil
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }

    /// A number's digits, read once: up to 19 significant digits as an integer, the decimal
    /// exponent that scales it, and whether the text was an integer literal.
    private struct Digits {
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var isInteger = true
    }

    private mutating func number() -> JSONValue? {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard let digits = scanNumber() else { return .none }
        if digits.isInteger {
            // jansson reads integers as 64-bit and refuses larger ones: leave those to it.
            guard digits.significant <= 19, digits.exponent == 0 else { return .none }
            let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
            guard digits.mantissa <= limit else { return .none }
            return .number(.integer(negative ? Int64(bitPattern: 0 &- digits.mantissa) : Int64(digits.mantissa)))
        }
        if digits.significant <= 15 && digits.mantissa < (1 << 53) && abs(digits.exponent) <= 22 {
            // Exact: the mantissa and the power of ten are doubles, one correctly rounded operation.
            let m = Double(digits.mantissa)
            let d = digits.exponent < 0 ? m / Self.powersOfTen[-digits.exponent] : m * Self.powersOfTen[digits.exponent]
            return .number(.real(negative ? -d : d))
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let parsed = Double(text), parsed.isFinite else { return .none }
        return .number(.real(parsed))
    }

    /// Reads the digits after the sign: `0` or `[1-9][0-9]*`, then an optional fraction and
    /// exponent; `nil` when the grammar is broken.
    private mutating func scanNumber() -> Digits? {
        var d = Digits()
        guard i < bytes.count, isDigit(bytes[i]) else { return nil }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) {
                if d.significant < 19 { d.mantissa = d.mantissa * 10 + UInt64(bytes[i] - UInt8(ascii: "0")) } else { d.exponent += 1 }
                d.significant += 1
                i += 1
            }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            d.isInteger = false
            i += 1
            let fractionStart = i
            while i < bytes.count, isDigit(bytes[i]) {
                if d.significant < 19 {
                    if d.mantissa != 0 || bytes[i] != UInt8(ascii: "0") { d.significant += 1 }
                    d.mantissa = d.mantissa * 10 + UInt64(bytes[i] - UInt8(ascii: "0"))
                    d.exponent -= 1
                } else {
                    d.significant += 1
                }
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            d.isInteger = false
            i += 1
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                negative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let digitsStart = i
            var written = 0
            while i < bytes.count, isDigit(bytes[i]) {
                if written < 100_000 { written = written * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
                i += 1
            }
            guard i > digitsStart else { return nil }
            d.exponent += negative ? -written : written
        }
        return d
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
