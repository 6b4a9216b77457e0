import Foundation

/// Finds the one JSON object in a model's answer, reporting what was stripped around it.
///
/// Models wrap JSON in prose ("Here are the labels: {...} Hope this helps") or Markdown code
/// fences. Extraction is an explicit step: the result says whether a fence was removed and
/// which text came before and after, so callers can count and show it instead of hiding it.
public struct JSONExtraction: Sendable, Hashable {
    /// The JSON text that was found.
    public var json: String
    /// Non-whitespace text before the JSON (outside any fence), or empty.
    public var leadingText: String
    /// Non-whitespace text after the JSON (outside any fence), or empty.
    public var trailingText: String
    /// The info string of the Markdown fence the JSON was in (`"json"`, `""`), or `nil` when there was none.
    public var fence: String?

    /// Whether anything besides whitespace surrounded the JSON.
    public var strippedAnything: Bool { !leadingText.isEmpty || !trailingText.isEmpty || fence != nil }

    /// Why no JSON object could be found.
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case noObject
        case unterminatedObject

        var description: String {
            switch self {
            case .empty: "the answer is empty"
            case .noObject: "the answer contains no JSON object"
            case .unterminatedObject: "the JSON object in the answer is not closed (truncated?)"
            }
        }
    }

    /// Extracts the JSON object from `text`.
    ///
    /// Order: the whole text when it starts with `{` (or `[`) and that value closes at the end
    /// (one pass, no searching: the common case of a clean answer); else the first Markdown
    /// code fence whose content holds an object; else the first balanced `{...}` (brackets
    /// inside strings are skipped). The JSON text itself is not validated here: that is
    /// ``StrictJSON``'s job. Scanning works on UTF-8 bytes.
    static func extract(from text: String) throws(Failure) -> JSONExtraction {
        let trimmed = text.trimmingWhitespace()
        guard let first = trimmed.utf8.first else { throw .empty }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
           let range = balancedObject(in: trimmed, from: trimmed.startIndex), range.upperBound == trimmed.endIndex {
            return JSONExtraction(json: trimmed, leadingText: "", trailingText: "", fence: nil)
        }
        if let fenced = fencedBlock(in: trimmed) {
            let inner = fenced.content.trimmingWhitespace()
            if let range = balancedObject(in: inner), range.lowerBound == inner.startIndex {
                return JSONExtraction(
                    json: String(inner[range]),
                    leadingText: fenced.before.trimmingWhitespace(),
                    trailingText: fenced.after.trimmingWhitespace() + String(inner[range.upperBound...]).trimmingWhitespace(),
                    fence: fenced.info)
            }
        }
        guard let open = trimmed.utf8.firstIndex(of: UInt8(ascii: "{")) else { throw .noObject }
        guard let range = balancedObject(in: trimmed, from: open) else { throw .unterminatedObject }
        return JSONExtraction(
            json: String(trimmed[range]),
            leadingText: String(trimmed[..<range.lowerBound]).trimmingWhitespace(),
            trailingText: String(trimmed[range.upperBound...]).trimmingWhitespace(),
            fence: nil)
    }

    private static func fencedBlock(in text: String) -> (before: Substring, info: String, content: Substring, after: Substring)? {
        guard let open = text.range(of: "```") else { return nil }
        let afterOpen = text[open.upperBound...]
        guard let lineEnd = afterOpen.firstIndex(of: "\n") else { return nil }
        let info = String(afterOpen[..<lineEnd]).trimmingWhitespace()
        guard !info.contains(" ") else { return nil }
        let body = afterOpen[afterOpen.index(after: lineEnd)...]
        guard let close = body.range(of: "```") else { return nil }
        return (text[..<open.lowerBound], info, body[..<close.lowerBound], body[close.upperBound...])
    }

    /// The range of the balanced `{...}` (or `[...]`) starting at `start` (default: the first `{`).
    private static func balancedObject(in text: String, from start: String.Index? = nil) -> Range<String.Index>? {
        let utf8 = text.utf8
        guard let begin = start ?? utf8.firstIndex(of: UInt8(ascii: "{")), begin < utf8.endIndex,
              utf8[begin] == UInt8(ascii: "{") || utf8[begin] == UInt8(ascii: "[") else { return nil }
        let offset = utf8.distance(from: utf8.startIndex, to: begin)
        var text = text
        let end: Int? = text.withUTF8 { bytes in
            var depth = 0
            var inString = false
            var escaped = false
            var i = offset
            while i < bytes.count {
                let byte = bytes[i]
                if inString {
                    if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                } else if byte == UInt8(ascii: "\"") {
                    inString = true
                } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    depth += 1
                } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return i + 1 }
                }
                i += 1
            }
            return nil
        }
        guard let end else { return nil }
        return begin..<utf8.index(utf8.startIndex, offsetBy: end)
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines.
    func trimmingWhitespace() -> String {
        // The common case: nothing to trim (ASCII letters or punctuation at both ends).
        let whole = String(self)
        if let first = whole.utf8.first, let last = whole.utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 { return whole }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
