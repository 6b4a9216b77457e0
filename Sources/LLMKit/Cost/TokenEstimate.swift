/// Prompt tokens estimated from text without a tokenizer, by character class, calibrated on
/// Gemma 3's tokenizer through llama.cpp's `/tokenize` (164 system prompts, user messages and
/// single data points of the bundled sample with the three bundled prompt versions; a least
/// squares fit, largest error on a whole message 3%, on a single data point 12%):
///
///     tokens = 1.0 × digits + 1.1 × other symbols + 0.45 × words + 0.09 × letters + 0.8 × newlines
///
/// plus 38 for the chat template of a system and a user message (4 + 17 per message).
/// Digits dominate a relabel prompt (each reference value is written digit by digit, and
/// Gemma's tokenizer, like Llama's, gives every digit its own token), so a flat
/// characters ÷ 4 undercounts the user message threefold. Tokenizers that group digits
/// (OpenAI's take up to three per token) need fewer: for them this is an upper estimate.
package enum TokenEstimate {
    /// Tokens the chat template adds: the start, and each message's role markers.
    package static let templateTokens = 4
    package static let tokensPerMessage = 17

    /// The estimated tokens of one text.
    package static func tokens(in text: String) -> Double {
        var digits = 0, symbols = 0, words = 0, letters = 0, newlines = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            if scalar.value >= 0x30 && scalar.value <= 0x39 {
                digits += 1
                inWord = false
            } else if properties.isAlphabetic {
                letters += 1
                if !inWord { words += 1 }
                inWord = true
            } else if scalar == "\n" {
                newlines += 1
                inWord = false
            } else if properties.isWhitespace {
                inWord = false
            } else {
                symbols += 1
                inWord = false
            }
        }
        return Double(digits) + 1.1 * Double(symbols) + 0.45 * Double(words) + 0.09 * Double(letters) + 0.8 * Double(newlines)
    }

    /// The estimated prompt tokens of a request: its messages and the chat template, or the
    /// raw prompt of a next-token request (``CompletionRequest/prompt``) and the start; the raw
    /// prompt counts as one message, as an OpenAI-compatible chat server receives it (llama.cpp's
    /// `/completion` takes it bare: a few tokens over, never under).
    package static func promptTokens(_ request: CompletionRequest) -> Int {
        let text = request.messages.reduce(request.prompt.map { tokens(in: $0) } ?? 0) { $0 + tokens(in: $1.content) }
        return Int(text.rounded()) + templateTokens + tokensPerMessage * (request.messages.count + (request.prompt == nil ? 0 : 1))
    }

    /// The completion tokens an honest answer is expected to take per item: 110 with a reason
    /// at 4 decimals (measured on Gemma 3 270M answers to `paper-reason`; the bundled recordings
    /// average 100), 80 without (the recordings of `paper-no-reason`), 8 more or fewer per
    /// decimal. An expectation, not a bound: the token budget is the bound.
    package static func expectedCompletionPerItem(_ prompt: PromptVersion) -> Int {
        max(20, (prompt.asksForReason ? 110 : 80) + 8 * (prompt.decimals - 4))
    }
}
