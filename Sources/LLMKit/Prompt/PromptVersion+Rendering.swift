import Foundation

/// The messages and schema for one chunk, ready to become a ``CompletionRequest``.
public struct RenderedChunk: Sendable, Hashable {
    /// The system message, then the user message with the numbered data points.
    public var messages: [ChatMessage]
    /// The answer's shape for this chunk's count.
    public var responseSchema: ResponseSchema
    /// The number of items (indices 1...count).
    public var count: Int

    /// A request for `model` with this chunk's messages and schema.
    public func request(model: String, temperature: Double? = nil, seed: Int? = nil, maxTokens: Int? = nil) -> CompletionRequest {
        CompletionRequest(model: model, messages: messages, responseSchema: responseSchema, temperature: temperature, seed: seed, maxTokens: maxTokens)
    }
}

extension PromptVersion {
    /// The longest description text written for one item, in characters.
    package static let maximumDescriptionLength = 300

    /// Renders a chunk: numbered data points `N. descriptions#d1,...,d8` joined by the separator,
    /// the user template filled in, and the response schema for `items.count` entries.
    public func render(_ items: [DatasetItem]) -> RenderedChunk {
        precondition(!items.isEmpty, "a chunk has at least one item")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(items.count * 96)
        let visibleSeparator = self.visibleSeparator
        for (offset, item) in items.enumerated() {
            if offset > 0 { bytes.append(contentsOf: separator.utf8) }
            appendDataPoint(number: offset + 1, item, visibleSeparator: visibleSeparator, to: &bytes)
        }
        let data = String(decoding: bytes, as: UTF8.self)
        let user = userTemplate.replacingPlaceholders(["data": data, "count": String(items.count)])
        return RenderedChunk(
            messages: [.system(systemText), .user(user)],
            responseSchema: ChunkAnswerSchema.responseSchema(count: items.count, includeReason: asksForReason, reasonLimit: askedReasonLimit),
            count: items.count)
    }

    /// One data point: `3. Slightly Angry, calm#0.4,0.4,0.0,0.0,0.0,0.2,0.0,0.0`.
    package func dataPoint(number: Int, _ item: DatasetItem) -> String {
        var bytes: [UInt8] = []
        appendDataPoint(number: number, item, visibleSeparator: visibleSeparator, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The separator without its surrounding whitespace, as UTF-8 (what sanitising removes).
    private var visibleSeparator: [UInt8] { Array(separator.trimmingWhitespace().utf8) }

    /// Appends one data point's UTF-8 bytes.
    private func appendDataPoint(number: Int, _ item: DatasetItem, visibleSeparator: [UInt8], to bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(number).utf8)
        bytes.append(contentsOf: ". ".utf8)
        if let itemTemplate {
            var values: [String: String] = [:]
            for column in columns {
                let clean = sanitize(item.keep[column]?.stringValue ?? "", visibleSeparator: visibleSeparator)
                values[column] = clean.isEmpty ? "(none)" : clean
            }
            let marker = "\u{0}descriptions\u{0}"
            values["descriptions"] = marker
            let parts = itemTemplate.replacingPlaceholders(values).components(separatedBy: marker)
            for (i, part) in parts.enumerated() {
                if i > 0 { appendDescriptions(item, visibleSeparator: visibleSeparator, to: &bytes) }
                bytes.append(contentsOf: part.utf8)
            }
        } else {
            appendDescriptions(item, visibleSeparator: visibleSeparator, to: &bytes)
        }
        bytes.append(UInt8(ascii: "#"))
        for (i, value) in item.reference.values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendFormatted(value, decimals: decimals, to: &bytes)
        }
    }

    /// The item's descriptions, sanitised and joined by commas, or `(none)`.
    private func appendDescriptions(_ item: DatasetItem, visibleSeparator: [UInt8], to bytes: inout [UInt8]) {
        var wrote = false
        for description in item.descriptions {
            let clean = sanitize(description, visibleSeparator: visibleSeparator)
            guard !clean.isEmpty else { continue }
            if wrote { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: clean.utf8)
            wrote = true
        }
        if !wrote { bytes.append(contentsOf: "(none)".utf8) }
    }

    /// Makes a description safe to embed in a data point: no item's text can add, end or
    /// shift a data point. Control characters and newlines become spaces; `#` (which starts
    /// the reference) and the separator are removed; JSON brackets become parentheses and
    /// double quotes single quotes, so no description reads as JSON; whitespace is collapsed;
    /// the text is cut at ``maximumDescriptionLength`` characters. What remains (words,
    /// commas, even instructions) is data inside one numbered point.
    package func sanitize(_ description: String) -> String {
        sanitize(description, visibleSeparator: visibleSeparator)
    }

    private func sanitize(_ description: String, visibleSeparator: [UInt8]) -> String {
        if isAlreadyClean(description, separator: visibleSeparator) { return description }
        var text = ""
        for scalar in description.unicodeScalars {
            switch scalar {
            case "#": text += " "
            case "{", "[": text += "("
            case "}", "]": text += ")"
            case "\"": text += "'"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .lineSeparator
                    || scalar.properties.generalCategory == .paragraphSeparator || scalar.properties.isWhitespace {
                    text += " "
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        let visibleSeparator = separator.trimmingWhitespace()
        if !visibleSeparator.isEmpty { text = text.replacingOccurrences(of: visibleSeparator, with: " ") }
        text = text.split(whereSeparator: { $0 == " " }).joined(separator: " ")
        if text.count > Self.maximumDescriptionLength { text = String(text.prefix(Self.maximumDescriptionLength - 1)) + "…" }
        return text
    }

    /// Whether sanitising would leave `text` as it is: printable ASCII without `#`, brackets,
    /// braces, double quotes or the separator, single spaces only, no space at either end, at
    /// most ``maximumDescriptionLength`` characters (the common case, checked in one pass).
    private func isAlreadyClean(_ text: String, separator visibleSeparator: [UInt8]) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maximumDescriptionLength, bytes.first != 0x20, bytes.last != 0x20 else { return false }
        let separatorByte: UInt8? = visibleSeparator.count == 1 ? visibleSeparator.first : nil
        var previous: UInt8 = 0
        for byte in bytes {
            switch byte {
            case 0x21...0x7E where byte != UInt8(ascii: "#") && byte != UInt8(ascii: "{") && byte != UInt8(ascii: "}")
                && byte != UInt8(ascii: "[") && byte != UInt8(ascii: "]") && byte != UInt8(ascii: "\"") && byte != separatorByte: break
            case 0x20 where previous != 0x20: break
            default: return false
            }
            previous = byte
        }
        return separatorByte != nil || visibleSeparator.isEmpty || text.utf8.firstRange(of: visibleSeparator) == nil
    }

    /// A reference value with at most ``decimals`` decimals and at least one (`0.0`, `0.25`, `0.0833`):
    /// `%.Nf` rounding (to nearest, ties to even on the exact binary value) without trailing zeros.
    package func formatValue(_ value: Double) -> String {
        Self.format(value, decimals: decimals)
    }

    /// `value` rounded to `decimals` decimals as `%.Nf` rounds it, trailing zeros removed (one kept).
    /// Integer arithmetic for the common case; `String(format:)` when the scaled value is within
    /// 1e-6 of a tie (where double arithmetic could round the other way) or out of range.
    static func format(_ value: Double, decimals: Int) -> String {
        var bytes: [UInt8] = []
        appendFormatted(value, decimals: decimals, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``format(_:decimals:)``'s digits.
    static func appendFormatted(_ value: Double, decimals: Int, to bytes: inout [UInt8]) {
        let scale = Self.powersOfTen[decimals]
        let scaled = value * scale
        let fraction = scaled - scaled.rounded(.down)
        guard value >= 0, scaled < 1e15, abs(fraction - 0.5) > 1e-6 else {
            var text = String(format: "%.\(decimals)f", value)
            while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
            bytes.append(contentsOf: text.utf8)
            return
        }
        let units = UInt64(scaled.rounded(.toNearestOrEven))
        let divisor = UInt64(scale)
        var whole = units / divisor
        var fractionPart = units % divisor
        // The integer part, most significant digit first.
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var n = 0
            repeat {
                buffer[n] = UInt8(ascii: "0") + UInt8(whole % 10)
                whole /= 10
                n += 1
            } while whole > 0
            for k in stride(from: n - 1, through: 0, by: -1) { bytes.append(buffer[k]) }
            bytes.append(UInt8(ascii: "."))
            // The fraction: `decimals` digits, trailing zeros dropped (one kept).
            var count = decimals
            while count > 1 && fractionPart % 10 == 0 {
                fractionPart /= 10
                count -= 1
            }
            for k in stride(from: count - 1, through: 0, by: -1) {
                buffer[k] = UInt8(ascii: "0") + UInt8(fractionPart % 10)
                fractionPart /= 10
            }
            bytes.append(contentsOf: buffer[0..<count])
        }
    }

    private static let powersOfTen: [Double] = (0...15).map { pow(10, Double($0)) }
}
