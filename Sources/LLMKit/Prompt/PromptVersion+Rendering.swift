import Foundation

/// The messages and schema for one batch, ready to become a ``CompletionRequest``.
public struct RenderedBatch: Sendable, Hashable {
    public var messages: [ChatMessage]
    public var responseSchema: ResponseSchema
    /// The number of items (indices 1...count).
    public var count: Int

    /// A request for `model` with this batch's messages and schema.
    public func request(model: String, temperature: Double? = nil, seed: Int? = nil, maxTokens: Int? = nil) -> CompletionRequest {
        CompletionRequest(model: model, messages: messages, responseSchema: responseSchema, temperature: temperature, seed: seed, maxTokens: maxTokens)
    }
}

extension PromptVersion {
    /// The longest description text written for one item, in characters.
    public static let maximumDescriptionLength = 300

    /// Renders a batch: numbered data points `N. descriptions#d1,...,d8` joined by the separator,
    /// the user template filled in, and the response schema for `items.count` entries.
    public func render(_ items: [DatasetItem]) -> RenderedBatch {
        precondition(!items.isEmpty, "a batch has at least one item")
        let data = items.enumerated().map { offset, item in dataPoint(number: offset + 1, item) }.joined(separator: separator)
        let user = userTemplate.replacingPlaceholders(["data": data, "count": String(items.count)])
        return RenderedBatch(
            messages: [.system(systemText), .user(user)],
            responseSchema: BatchResponseSchema.responseSchema(count: items.count, includeReason: asksForReason, reasonLimit: asksForReason ? reasonLimit : nil),
            count: items.count)
    }

    /// One data point: `3. Slightly Angry, calm#0.4,0.4,0.0,0.0,0.0,0.2,0.0,0.0`.
    public func dataPoint(number: Int, _ item: DatasetItem) -> String {
        let words = item.descriptions.map(sanitize).filter { !$0.isEmpty }.joined(separator: ",")
        let values = item.reference.values.map { formatValue($0) }.joined(separator: ",")
        return "\(number). \(words.isEmpty ? "(none)" : words)#\(values)"
    }

    /// Makes a description safe to embed in a data point: no item's text can add, end or
    /// shift a data point. Control characters and newlines become spaces; `#` (which starts
    /// the reference) and the separator are removed; JSON brackets become parentheses and
    /// double quotes single quotes, so no description reads as JSON; whitespace is collapsed;
    /// the text is cut at ``maximumDescriptionLength`` characters. What remains (words,
    /// commas, even instructions) is data inside one numbered point.
    public func sanitize(_ description: String) -> String {
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

    /// A reference value with at most ``decimals`` decimals and at least one (`0.0`, `0.25`, `0.0833`).
    public func formatValue(_ value: Double) -> String {
        var text = String(format: "%.\(decimals)f", value)
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return text
    }
}
