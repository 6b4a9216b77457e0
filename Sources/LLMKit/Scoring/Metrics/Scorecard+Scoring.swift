extension Scorecard {
    /// Scores one column.
    /// - Parameters:
    ///   - items: every item of the dataset, relabeled or not; items carrying ``ScoredItem/shown``
    ///     get the "unchanged (as shown)" rate.
    ///   - example: the prompt's example distribution (for the echo rate), when known.
    ///   - shownDecimals: the decimals the prompt showed references at (recorded with the rate).
    ///   - prompt: the prompt version id, when known (recorded).
    ///   - chunkSize: items per chunk, to group the output for diversity.
    ///   - label: the column's name in reports.
    ///   - repeats: the adjusted distributions of every run of this column (the first included), aligned with `items`.
    ///   - cost: what the column's runs used (requests, tokens, latencies), when known.
    ///   - seed: the bootstrap's seed (intervals are reproducible).
    public static func score(label: String, items: [ScoredItem], example: EmotionDistribution?, shownDecimals: Int? = nil,
                             prompt: String? = nil, chunkSize: Int, repeats: [[EmotionDistribution?]] = [],
                             cost: CostInput? = nil, seed: UInt64 = 20261128) -> Scorecard {
        let relabeled = items.filter { $0.adjusted != nil }
        let pairs = relabeled.map { ($0.adjusted!, $0.reference) }
        var failures: [String: Int] = [:]
        for item in items where item.adjusted == nil { failures[item.failure ?? "failed", default: 0] += 1 }

        func rate(_ flags: [Bool]) -> Estimate { Statistics.wilson(flags.filter { $0 }.count, flags.count) }
        let withShown = relabeled.compactMap(\.isUnchangedAsShown)
        var card = Scorecard(
            label: label, items: items.count,
            relabeled: Statistics.wilson(relabeled.count, items.count),
            valid: Statistics.wilson(relabeled.filter { !$0.sumOff }.count, items.count),
            failures: failures,
            unchanged: taus.map { tau in rate(relabeled.map { $0.isUnchanged(tau: tau)! }) },
            unchangedAsShown: withShown.isEmpty ? nil : rate(withShown),
            shownDecimals: withShown.isEmpty ? nil : shownDecimals,
            prompt: prompt,
            unchangedByClass: unchangedByClass(relabeled),
            transitions: ClassTransitions(pairs: pairs),
            argmaxUnchanged: rate(relabeled.map { $0.isArgmaxUnchanged! }),
            meanTotalVariation: Statistics.bootstrapMean(relabeled.map { $0.totalVariation! }, seed: seed),
            agreement: agreement(pairs, seed: seed),
            gold: nil, echoRate: nil,
            diversity: Statistics.bootstrapMean(diversityPerChunk(items, chunkSize: chunkSize), seed: seed),
            consistency: nil, cost: nil)
        let withGold = relabeled.compactMap { item in item.gold.map { (item.adjusted!, $0) } }
        if !withGold.isEmpty { card.gold = agreement(withGold, seed: seed) }
        card.uniformAnswers = relabeled.filter { $0.adjusted!.argmaxSet.count == Emotion.allCases.count }.count
        if let example { card.echoRate = rate(relabeled.map { $0.adjusted!.isWithin(echoTau, of: example) }) }
        if relabeled.contains(where: \.noEvidence) { card.noEvidence = rate(relabeled.map(\.noEvidence)) }
        if repeats.count >= 2 { card.consistency = consistency(repeats, seed: seed) }
        if let cost, !items.isEmpty { card.cost = Self.cost(cost, items: items.count) }
        return card
    }

    /// Per-item cost figures from a run's totals.
    static func cost(_ cost: CostInput, items: Int) -> Cost {
        let n = Double(items)
        let (p50, p95) = Statistics.p50p95(cost.latencies)
        return Cost(requests: cost.requests, retries: cost.retries,
                    promptTokensPerItem: Double(cost.usage.promptTokens) / n, completionTokensPerItem: Double(cost.usage.completionTokens) / n,
                    cachedTokensPerItem: Double(cost.usage.cachedTokens) / n, latencyP50: p50, latencyP95: p95,
                    shareAtBudget: cost.requests == 0 ? 0 : Double(cost.requestsAtBudget) / Double(cost.requests),
                    dollarsPer1000Items: cost.dollars.map { $0 / n * 1000 })
    }

    /// The unchanged rate at ``classTau`` for each reference argmax class (``ArgmaxClass/all`` order).
    static func unchangedByClass(_ relabeled: [ScoredItem]) -> [Estimate] {
        var hits = [Int](repeating: 0, count: ArgmaxClass.all.count), totals = hits
        for item in relabeled {
            let c = ArgmaxClass(item.reference).index
            totals[c] += 1
            if item.isUnchanged(tau: classTau)! { hits[c] += 1 }
        }
        return zip(hits, totals).map { Statistics.wilson($0, $1) }
    }

    /// Argmax agreement, JSD, JS distance and macro-F1 of (p, target) pairs.
    package static func agreement(_ pairs: [(EmotionDistribution, EmotionDistribution)], seed: UInt64 = 20261128) -> Agreement {
        let jsd = pairs.map { $0.0.jsDivergence(to: $0.1) }
        let f1 = MacroF1Counts(pairs.map(\.0), pairs.map(\.1))
        // The two JS means share one bootstrap; macro-F1 (a corpus statistic) has its own with
        // the same seed, so all three are resampled on the same indices.
        let means = Statistics.bootstrapMeans([jsd, jsd.map { $0.squareRoot() }], seed: seed)
        let f1Interval = Statistics.pairedBootstrap(count: pairs.count, seed: seed) { indices in (f1.value(over: indices), 0) }
        return Agreement(
            argmaxAgreement: Statistics.wilson(pairs.filter { $0.0.sharesArgmax(with: $0.1) }.count, pairs.count),
            meanJSDivergence: means[0], meanJSDistance: means[1],
            macroF1: Estimate(value: f1.value, low: f1Interval.low, high: f1Interval.high, n: pairs.count))
    }

    /// Macro-F1 at 1/C: both sides binarised with `> 1/C + 1e-9`
    /// (``EmotionDistribution/isAboveUniform(_:)``); per class `F1 = 2TP / (2TP + FP + FN)` (0
    /// when the denominator is 0); the unweighted mean over the C classes (summed exactly), over
    /// the whole corpus.
    package static func macroF1(_ predicted: [EmotionDistribution], _ target: [EmotionDistribution]) -> Double {
        MacroF1Counts(predicted, target).value
    }

    /// Share of distinct adjusted distributions among the relabeled items of each chunk
    /// (consecutive groups of `chunkSize` items in output order). Two answers are the same when
    /// every value is within 1e-9 (``EmotionDistribution/isWithin(_:of:)`` at tau 0); "distinct"
    /// counts the groups this links (connected components), which does not depend on order.
    package static func diversityPerChunk(_ items: [ScoredItem], chunkSize: Int) -> [Double] {
        let size = max(1, chunkSize)
        return stride(from: 0, to: items.count, by: size).compactMap { start in
            let batch = items[start..<min(items.count, start + size)].compactMap(\.adjusted)
            guard !batch.isEmpty else { return nil }
            return Double(distinctCount(batch)) / Double(batch.count)
        }
    }

    /// The number of groups of answers linked by "within 1e-9" (union-find).
    static func distinctCount(_ answers: [EmotionDistribution]) -> Int {
        var parent = Array(answers.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        for i in answers.indices {
            for j in answers.indices where j > i && answers[i].isWithin(0, of: answers[j]) {
                parent[root(j)] = root(i)
            }
        }
        return Set(answers.indices.map(root)).count
    }

    /// Krippendorff's alpha and mean pairwise JS distance over runs (`runs[run][item]`). The
    /// nominal alpha takes the argmax *set* as the category (a tie is a category of its own),
    /// so it does not depend on the order of the emotions.
    package static func consistency(_ runs: [[EmotionDistribution?]], seed: UInt64 = 20261128) -> Consistency {
        let units = runs.first?.count ?? 0
        func category(_ d: EmotionDistribution) -> Double { Double(d.argmaxSet.reduce(0) { $0 | (1 << $1.rawValue) }) }
        let nominal = Krippendorff.alpha(runs.map { run in run.map { $0.map(category) } }, metric: .nominal)
        let perEmotion = Emotion.allCases.map { e in
            Krippendorff.alpha(runs.map { run in run.map { $0.map { $0[e] } } }, metric: .interval)
        }.filter { !$0.isNaN }
        var pairwise: [Double] = []
        for u in 0..<units {
            let present = runs.compactMap { $0[u] }
            guard present.count >= 2 else { continue }
            var distances: [Double] = []
            for i in 0..<present.count { for j in (i + 1)..<present.count { distances.append(present[i].jsDistance(to: present[j])) } }
            pairwise.append(ExactSum.mean(distances))
        }
        return Consistency(runs: runs.count, alphaNominal: nominal,
                           alphaInterval: perEmotion.isEmpty ? .nan : ExactSum.mean(perEmotion),
                           meanPairwiseJSDistance: Statistics.bootstrapMean(pairwise, seed: seed))
    }
}
