/// The most tokens an honest answer to a chunk can need, sent as `max_tokens` /
/// `max_completion_tokens` so that a model that never stops (rambling, repeating, writing past
/// the closing brace) costs at most that, and stops at once when streaming.
///
/// The formula (measured on Gemma 3 270M with llama.cpp, whose tokenizer writes every digit as
/// a token, the worst case; tokenizers that group digits, like OpenAI's, need fewer):
///
///     item   = ceil(1.15 × (76 + 8 × (decimals + 2) + (reason ? 4 + ceil(limit / 4) : 0)))
///     budget = 80 + count × item
///
/// - 76 tokens: an item's keys, quotes, colons, commas and braces, and its index;
/// - 8 × (decimals + 2): the 8 values, each written digit by digit (`0.1234` is 6 tokens);
/// - 4 + ceil(limit / 4): the `"reason"` key and a reason of at most `limit` characters at no
///   fewer than 4 characters a token (English runs at 4.5 to 5);
/// - × 1.15: the whitespace models put between tokens (an honest answer measured 1.01 to
///   1.11 times its compact token count);
/// - 80: the root object and the chat template's end.
///
/// With the prompt's defaults (4 decimals, reasons of at most 160 characters) an item may use
/// 194 tokens; Gemma 3 270M's honest answers used 97 to 128. A truncated answer
/// (`finish_reason: length`) still splits the chunk, so an honest but long answer gets through
/// in smaller chunks.
public enum TokenBudget {
    /// Tokens of the root object and the template's end.
    public static let rootTokens = 80
    /// The margin over the per-item estimate.
    public static let margin = 1.15

    /// Tokens one item may need.
    public static func perItem(decimals: Int, reasonLimit: Int?) -> Int {
        let reason = reasonLimit.map { 4 + ($0 + 3) / 4 } ?? 0
        let raw = Double(76 + Emotion.count * (decimals + 2) + reason)
        return Int((raw * margin).rounded(.up))
    }

    /// The budget of a chunk of `count` items.
    public static func tokens(count: Int, decimals: Int, reasonLimit: Int?) -> Int {
        rootTokens + count * perItem(decimals: decimals, reasonLimit: reasonLimit)
    }

    /// The budget of a chunk of `count` items rendered with `prompt`.
    public static func tokens(count: Int, prompt: PromptVersion) -> Int {
        tokens(count: count, decimals: prompt.decimals, reasonLimit: prompt.askedReasonLimit)
    }
}
