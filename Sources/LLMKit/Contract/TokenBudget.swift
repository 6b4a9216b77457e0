/// The most tokens an honest answer to a batch can need, sent as `max_tokens` /
/// `max_completion_tokens` so that a model that never stops (rambling, repeating, writing past
/// the closing brace) costs at most that, and stops at once when streaming.
///
/// Per item of the output contract:
///
///     item = 12                                  index key and value, braces, commas
///          + 8 × (4 + (decimals + 2))            8 emotion keys (~4 tokens each with quotes
///                                                and colon) and 8 numbers written digit by
///                                                digit at the prompt's decimals ("0.", digits)
///          + (reason ? 8 + ceil(maxReason / 3) : 0)   the "reason" key and its text at no
///                                                fewer than 3 characters per token
///     budget = ceil(1.25 × (16 + count × item))  the root object, plus a 25% margin
///
/// The per-number count assumes the worst tokenizer (one token per digit, as Gemma's and
/// Llama's do); tokenizers that group digits (OpenAI's) need fewer. Measured on Gemma 3 270M
/// with llama.cpp, an honest item costs well under the budget (see the README's "Bounded
/// generation" section). A truncated answer (`finish_reason: length`) still splits the batch,
/// so an honest but long answer gets through in smaller batches.
public enum TokenBudget {
    /// Tokens of the root object (`{"items": [` ... `]}`).
    public static let rootTokens = 16
    /// The margin over the per-item estimate.
    public static let margin = 1.25

    /// Tokens one item may need.
    public static func perItem(decimals: Int, reasonLimit: Int?) -> Int {
        let numbers = Emotion.count * (4 + decimals + 2)
        let reason = reasonLimit.map { 8 + ($0 + 2) / 3 } ?? 0
        return 12 + numbers + reason
    }

    /// The budget of a batch of `count` items.
    public static func tokens(count: Int, decimals: Int, reasonLimit: Int?) -> Int {
        let raw = Double(rootTokens + count * perItem(decimals: decimals, reasonLimit: reasonLimit))
        return Int((raw * margin).rounded(.up))
    }

    /// The budget of a batch of `count` items rendered with `prompt`.
    public static func tokens(count: Int, prompt: PromptVersion) -> Int {
        tokens(count: count, decimals: prompt.decimals, reasonLimit: prompt.asksForReason ? prompt.reasonLimit : nil)
    }
}
