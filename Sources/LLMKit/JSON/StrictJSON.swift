internal import CJansson
import Foundation

/// A strict JSON parser over jansson, with a fast path for valid texts (`FastJSON`).
///
/// Stricter than `JSONSerialization`: duplicate object keys are rejected, `NaN`, `Infinity`
/// and numbers that overflow a double are rejected, trailing content after the value is
/// rejected, and every error carries line, column and an excerpt of the text around it.
/// Scalars are accepted at the top level (RFC 8259). `\u0000` inside strings is allowed.
public enum StrictJSON {
    /// Parses one JSON text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer -> Result<JSONValue, JSONParseError> in
            do throws(JSONParseError) { return .success(try parse(buffer: buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses one JSON text given as UTF-8 bytes.
    public static func parse(bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<JSONValue, JSONParseError> in
            do throws(JSONParseError) { return .success(try parse(buffer: buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses the bytes in place: ``FastJSON`` first, jansson for whatever it declines (every
    /// error, and the rare valid text outside the fast path's subset).
    private static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        if let value = FastJSON.parse(buffer) { return value }
        return try parseWithJansson(buffer: buffer)
    }

    /// Parses the bytes with jansson alone (nothing is copied unless there is an error).
    static func parseWithJansson(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var error = json_error_t()
        let flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL
        let root: UnsafeMutablePointer<json_t>? = buffer.withMemoryRebound(to: CChar.self) { chars in
            json_loadb(chars.baseAddress, chars.count, Int(flags), &error)
        }
        guard let root else {
            let bytes = Array(buffer)
            // jansson reads a raw NUL byte as the end of the text and then reports "end of
            // file expected near end of file": name the NUL instead.
            if let nul = bytes.firstIndex(of: 0) {
                throw JSONParseError(offset: nul, reason: "a NUL byte (raw, not \\u0000 inside a string)", source: bytes)
            }
            throw JSONParseError(jansson: error, source: bytes)
        }
        defer { json_decref(root) }
        return convert(root)
    }

    private static func convert(_ node: UnsafeMutablePointer<json_t>) -> JSONValue {
        switch llmkit_json_typeof(node) {
        case JSON_OBJECT:
            var object = JSONObject()
            var iter = json_object_iter(node)
            while let current = iter {
                let key = String(cString: json_object_iter_key(current))
                if let value = json_object_iter_value(current) {
                    object.appendNew(key, convert(value))
                }
                iter = json_object_iter_next(node, current)
            }
            return .object(object)
        case JSON_ARRAY:
            let count = json_array_size(node)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for i in 0..<count {
                if let element = json_array_get(node, i) { elements.append(convert(element)) }
            }
            return .array(elements)
        case JSON_STRING:
            let length = json_string_length(node)
            guard let chars = json_string_value(node) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: chars, count: length)
            return .string(String(decoding: buffer, as: UTF8.self))
        case JSON_INTEGER:
            return .number(.integer(Int64(json_integer_value(node))))
        case JSON_REAL:
            return .number(.real(json_real_value(node)))
        case JSON_TRUE:
            return .bool(true)
        case JSON_FALSE:
            return .bool(false)
        default:
            return .null
        }
    }
}

/// Why a JSON text could not be parsed, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the error.
    public var line: Int
    /// 1-based column (in characters) of the error.
    public var column: Int
    /// 0-based byte offset of the error.
    public var offset: Int
    /// The parser's explanation, e.g. `duplicate object key`.
    public var reason: String
    /// Up to 40 characters of the text around the error, newlines shown as `⏎`.
    public var excerpt: String

    package init(line: Int, column: Int, offset: Int, reason: String, excerpt: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.reason = reason
        self.excerpt = excerpt
    }

    /// Builds the error from jansson's report. jansson points just past the offending token
    /// and names it ("near 'NaN'"); the position reported here is where the token starts,
    /// which is where a reader looks.
    init(jansson error: json_error_t, source: [UInt8]) {
        var error = error
        let reason = withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        var offset = max(0, min(Int(error.position), source.count))
        if let near = reason.range(of: " near '", options: .backwards), reason.hasSuffix("'") {
            let token = Array(reason[near.upperBound...].dropLast().utf8)
            if !token.isEmpty, token.count <= offset, Array(source[(offset - token.count)..<offset]) == token {
                offset -= token.count
            }
        }
        self.init(offset: offset, reason: reason, source: source)
    }

    /// An error at byte `offset` of `source`, with line, column and excerpt computed from it.
    init(offset: Int, reason: String, source: [UInt8]) {
        var line = 1, column = 1
        for byte in source[..<offset] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        var start = max(0, offset - 20)
        while start > 0 && source[start] & 0xC0 == 0x80 { start -= 1 }
        var end = min(source.count, offset + 20)
        while end < source.count && source[end] & 0xC0 == 0x80 { end += 1 }
        let excerpt = String(decoding: source[start..<end].map { $0 == 0 ? UInt8(ascii: "?") : $0 }, as: UTF8.self).replacingNewlines()
        self.init(line: line, column: column, offset: offset, reason: reason, excerpt: excerpt)
    }

    /// `invalid JSON at line L, column C: reason (near "excerpt")`.
    public var description: String {
        "invalid JSON at line \(line), column \(column): \(reason) (near \"\(excerpt)\")"
    }
}

extension String {
    /// The string with CR/LF shown as `⏎`, for one-line excerpts.
    func replacingNewlines() -> String {
        var out = ""
        for ch in self { out += (ch == "\n" || ch == "\r\n" || ch == "\r") ? "⏎" : String(ch) }
        return out
    }
}

extension StrictJSON {
    /// The linked jansson's version, e.g. `2.14`.
    package static var janssonVersion: String { String(cString: jansson_version_str()) }
}
