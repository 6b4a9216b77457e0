extension PromptVersion {
    /// The reference as this version shows it to the model: each value rendered by
    /// ``formatValue(_:)`` at ``decimals`` (exactly as ``dataPoint(number:_:)`` writes it), read
    /// back, and renormalised the same way an answer is (exact sum, then division). A model that
    /// copies what it was shown returns these values; "unchanged (as shown)" compares the
    /// renormalised answer with them within 1e-9, so a copy scores as unchanged at any decimals
    /// (1/3 shown as 0.3333 at 4 decimals, 0.333333333 at 9).
    package func shownReference(_ reference: EmotionDistribution) -> EmotionDistribution {
        let shown = reference.values.map { Double(formatValue($0)) ?? $0 }
        // A rendered reference is finite, >= 0 and has a positive sum (its maximum is >= 1/8),
        // so renormalising under the flagging policy cannot fail.
        return (try? EmotionDistribution.normalizing(shown, policy: .default).distribution) ?? reference
    }
}
