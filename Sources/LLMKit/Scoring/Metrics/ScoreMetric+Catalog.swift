extension ScoreMetric {
    /// Every metric, in table order: the summary, then the unchanged rate by class, then the
    /// failure counts by kind. Definitions: REFERENCE.md section 3, with the 1e-9 tolerance.
    public static let all: [ScoreMetric] = summary + byClass.topic("Unchanged by reference class") + failureCounts.topic("Failures")

    private static let summary: [ScoreMetric] = validity.topic("Validity") + laziness.topic("Laziness")
        + agreement.topic("Agreement with the reference") + gold.topic("Agreement with the gold relabeling")
        + other.topic("Degenerate answers") + consistency.topic("Self-consistency") + cost.topic("Cost")

    private static let validity: [ScoreMetric] = [
        ScoreMetric("items", "items", .count, definition: "Items in the dataset (after --limit).") {
            Estimate(value: Double($0.items), low: .nan, high: .nan, n: $0.items)
        },
        ScoreMetric("relabeled", "relabeled", .rate, definition: "Share of all items the output turned into a distribution.") { $0.relabeled },
        ScoreMetric("valid", "valid (sum within tolerance)", .rate,
                    definition: "Share of all items relabeled with a raw sum within the renormalisation tolerance of 1.") { $0.valid },
    ]

    private static let laziness: [ScoreMetric] = [
        ScoreMetric("unchanged.as_shown", "unchanged: as shown (= reference as rendered)", .rate,
                    pairing: .binary { $0.isUnchangedAsShown },
                    definition: "Share of relabeled items whose answer equals the reference as the prompt showed it (each value "
                        + "rendered at the prompt version's decimals, then renormalised like the answer), every value within 1e-9. "
                        + "What a lazy model copies. n/a when the prompt is unknown.") { $0.unchangedAsShown }
    ] + Scorecard.taus.enumerated().map { i, tau in
        let name = Comparison.tauName(tau)
        return ScoreMetric("unchanged.\(name)", "unchanged: tau \(name)" + (i == 0 ? " (max|p-r| <= tau)" : ""), .rate,
                           pairing: .binary { $0.isUnchanged(tau: tau) },
                           definition: "Share of relabeled items with max_i |p_i - r_i| <= \(name) + 1e-9.") { $0.unchanged[i] }
    } + [
        ScoreMetric("argmax_unchanged", "argmax set unchanged", .rate,
                    pairing: .binary(\.isArgmaxUnchanged),
                    definition: "Share of relabeled items whose set of maximal classes (values within 1e-9 of the maximum) is the same before and after.") {
            $0.argmaxUnchanged
        },
        ScoreMetric("mean_total_variation", "mean total variation (edit size)", .mean,
                    pairing: .continuous { $0.totalVariation },
                    definition: "Mean over relabeled items of 0.5 * sum_i |p_i - r_i|.") { $0.meanTotalVariation },
    ]

    private static let agreement: [ScoreMetric] = [
        ScoreMetric("argmax_agreement", "argmax agreement (ties: any shared max)", .rate,
                    pairing: .binary { item in item.adjusted.map { $0.sharesArgmax(with: item.reference) } },
                    definition: "Share of relabeled items where p and r share at least one maximal class (values within 1e-9 of the maximum count as maximal).") {
            $0.agreement.argmaxAgreement
        },
        ScoreMetric("mean_js_divergence", "mean JS divergence", .mean,
                    pairing: .continuous { item in item.adjusted.map { $0.jsDivergence(to: item.reference) } },
                    definition: "Mean Jensen-Shannon divergence (natural log, zero-mass terms skipped) between p and r.") {
            $0.agreement.meanJSDivergence
        },
        ScoreMetric("mean_js_distance", "mean JS distance", .mean,
                    pairing: .continuous { item in item.adjusted.map { $0.jsDistance(to: item.reference) } },
                    definition: "Mean of sqrt(JSD) between p and r (scipy's jensenshannon).") { $0.agreement.meanJSDistance },
        ScoreMetric("macro_f1", "macro-F1 at 1/8", .score,
                    pairing: .corpus { items in
                        let counts = MacroF1Counts(items.map { $0.adjusted! }, items.map(\.reference))
                        return { indices in counts.value(over: indices) }
                    },
                    definition: "Both sides binarised with x > 1/8 + 1e-9; per class 2TP/(2TP+FP+FN) (0 if empty); mean over the 8 classes, over the corpus.") {
            $0.agreement.macroF1
        },
    ]

    private static let gold: [ScoreMetric] = [
        ScoreMetric("gold.argmax_agreement", "gold: argmax agreement", .rate,
                    definition: "argmax_agreement against the gold relabeling, over relabeled items that have one.") { $0.gold?.argmaxAgreement },
        ScoreMetric("gold.mean_js_divergence", "gold: mean JS divergence", .mean,
                    definition: "mean_js_divergence against the gold relabeling.") { $0.gold?.meanJSDivergence },
        ScoreMetric("gold.mean_js_distance", "gold: mean JS distance", .mean,
                    definition: "mean_js_distance against the gold relabeling.") { $0.gold?.meanJSDistance },
        ScoreMetric("gold.macro_f1", "gold: macro-F1 at 1/8", .score,
                    definition: "macro_f1 against the gold relabeling.") { $0.gold?.macroF1 },
    ]

    private static let other: [ScoreMetric] = [
        ScoreMetric("echo_rate", "echo rate (= the prompt's example)", .rate,
                    definition: "Share of relabeled items whose answer is the prompt's example distribution (max_i |p_i - e_i| <= 1e-6 + 1e-9). n/a when the prompt is unknown.") {
            $0.echoRate
        },
        ScoreMetric("no_evidence", "no evidence (method kept the reference)", .rate,
                    definition: "Share of relabeled items a method marked no_evidence: it found nothing in the descriptions (a lexicon method with no word in its lexicon) and kept the reference. Such items count as unchanged above, for want of evidence rather than by choice. n/a when no item says so (the prompted adjustment never does).") {
            $0.noEvidence
        },
        ScoreMetric("diversity", "diversity within a chunk", .mean,
                    definition: "Mean over chunks (the items of one request) of (distinct answers / relabeled items); answers within 1e-9 of each other are the same.") { $0.diversity },
    ]

    private static let consistency: [ScoreMetric] = [
        ScoreMetric("self_consistency.runs", "self-consistency: runs", .count, definition: "Runs of this column (--repeat).") {
            $0.consistency.map { Estimate(value: Double($0.runs), low: .nan, high: .nan, n: $0.runs) }
        },
        ScoreMetric("self_consistency.alpha_nominal", "alpha nominal (argmax set)", .value, undefinedText: "undefined (runs identical)",
                    definition: "Krippendorff's alpha over runs, nominal, on the argmax set (a tie is its own category).") {
            $0.consistency.map { Estimate(value: $0.alphaNominal, low: .nan, high: .nan, n: $0.runs) }
        },
        ScoreMetric("self_consistency.alpha_interval", "alpha interval (per emotion)", .value, undefinedText: "undefined (runs identical)",
                    definition: "Krippendorff's alpha over runs, interval, per emotion, averaged over the 8 emotions.") {
            $0.consistency.map { Estimate(value: $0.alphaInterval, low: .nan, high: .nan, n: $0.runs) }
        },
        ScoreMetric("self_consistency.mean_pairwise_js_distance", "mean pairwise JS distance", .mean,
                    definition: "Mean over items of the mean JS distance between pairs of runs.") { $0.consistency?.meanPairwiseJSDistance },
    ]

    private static let cost: [ScoreMetric] = [
        costMetric("requests", "requests", .count, 0, "Requests of the first run.") { Double($0.requests) },
        costMetric("retries", "retries", .count, 0, "Attempts beyond the first of each request sent to the server (answers from the cache are neither), first run.") { Double($0.retries) },
        costMetric("prompt_tokens_per_item", "prompt tokens per item", .value, 0, "Prompt tokens per dataset item.") { $0.promptTokensPerItem },
        costMetric("completion_tokens_per_item", "completion tokens per item", .value, 1, "Completion tokens per dataset item.") { $0.completionTokensPerItem },
        costMetric("share_at_token_budget", "requests at the token budget", .value, 3, "Share of requests whose answer used the whole token budget (cut off, or stopped while streaming).") { $0.shareAtBudget },
        costMetric("cached_tokens_per_item", "cached tokens per item", .value, 0, "Prompt tokens served from the server's cache, per item.") { $0.cachedTokensPerItem },
        costMetric("latency_p50_seconds", "latency p50 (s)", .value, 2, "Median seconds per request.") { $0.latencyP50 },
        costMetric("latency_p95_seconds", "latency p95 (s)", .value, 2, "95th percentile of seconds per request.") { $0.latencyP95 },
        ScoreMetric("cost.dollars_per_1000_items", "cost: dollars per 1,000 items", .value, decimals: 4,
                    definition: "The first run's tokens at the model's price (the built-in table or --prices), per 1,000 dataset items; n/a when no price is known.") { card in
            card.cost?.dollarsPer1000Items.map { Estimate(value: $0, low: .nan, high: .nan, n: card.items) }
        },
    ]

    private static func costMetric(_ member: String, _ label: String, _ kind: Kind, _ decimals: Int, _ definition: String,
                                   _ read: @escaping @Sendable (Scorecard.Cost) -> Double) -> ScoreMetric {
        ScoreMetric("cost.\(member)", "cost: \(label)", kind, decimals: decimals, definition: definition) { card in
            card.cost.map { Estimate(value: read($0), low: .nan, high: .nan, n: card.items) }
        }
    }

    private static let byClass: [ScoreMetric] = ArgmaxClass.all.map { c in
        ScoreMetric("unchanged_by_class.\(c.name)", c == .tie ? "unchanged, reference tied" : "unchanged, reference \(c.name)", .rate, section: .byClass,
                    definition: c == .tie
                        ? "Unchanged rate at tau 0.01 among relabeled items whose reference has tied maxima."
                        : "Unchanged rate at tau 0.01 among relabeled items whose reference's single maximum is \(c.name).") {
            $0.unchangedByClass[c.index]
        }
    }

    /// The failure kinds a scored column can report: the contract's, and items missing from the output.
    package static let failureKinds: [String] = ItemFailure.Kind.all.map(\.name) + ["missing_from_output"]

    private static let failureCounts: [ScoreMetric] = failureKinds.map { kind in
        ScoreMetric("failures.\(kind)", "failed: \(kind)", .count, section: .failures,
                    definition: "Items that failed with '\(kind)'.") {
            Estimate(value: Double($0.failures[kind] ?? 0), low: .nan, high: .nan, n: $0.items)
        }
    }
}
