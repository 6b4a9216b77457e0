import Foundation

extension ScoreReport {
    /// Why an example was picked.
    enum ExampleKind: String {
        case random = "random sample"
        case largest = "largest edit"
        case unchanged = "unchanged"

        var cssClass: String {
            switch self {
            case .random: "random"
            case .largest: "largest"
            case .unchanged: "unchanged"
            }
        }
    }

    /// The examples of one column: a seeded random sample of 4 relabeled items, the 3 largest
    /// edits and 2 unchanged items (as shown, else tau 1e-6), without repeats, in that order.
    static func pickExamples(_ items: [ScoredItem], seed: UInt64 = Scoring.defaultSeed) -> [(ExampleKind, ScoredItem)] {
        let relabeled = items.filter { $0.adjusted != nil }
        var rng = SplitMix64(seed: seed)
        var pool = relabeled
        var picked: [(ExampleKind, ScoredItem)] = []
        for _ in 0..<min(4, pool.count) { picked.append((.random, pool.remove(at: Int(rng.next() % UInt64(pool.count))))) }
        let taken = { (item: ScoredItem) in picked.contains { $0.1.id == item.id } }
        let largest = relabeled.filter { !taken($0) && !isUnchanged($0) }
            .sorted { ($0.totalVariation!, $1.id) > ($1.totalVariation!, $0.id) }.prefix(3)
        picked += largest.map { (.largest, $0) }
        picked += relabeled.filter { !taken($0) && isUnchanged($0) }.prefix(2).map { (.unchanged, $0) }
        return picked
    }

    static func isUnchanged(_ item: ScoredItem) -> Bool { item.isUnchangedAsShown ?? item.isUnchanged(tau: 1e-6) ?? false }

    /// Non-zero classes of a distribution, largest first: `neutral 0.60, happy 0.20`.
    static func show(_ d: EmotionDistribution) -> String {
        Emotion.allCases.filter { d[$0] > 0.0005 }.sorted { (d[$0], $1.rawValue) > (d[$1], $0.rawValue) }
            .map { "\($0.name) \(String(format: "%.2f", d[$0]))" }.joined(separator: ", ")
    }

    /// The change column: `No (as shown)`, or `Yes: +0.20 happy, −0.20 neutral (TV 0.20)`.
    static func change(_ item: ScoredItem) -> String {
        guard let p = item.adjusted else { return "—" }
        if isUnchanged(item) { return item.isUnchangedAsShown != nil ? "No (as shown)" : "No" }
        let moves = Emotion.allCases.map { ($0, p[$0] - item.reference[$0]) }.filter { abs($0.1) > 0.005 }
            .sorted { (abs($0.1), $1.0.rawValue) > (abs($1.1), $0.0.rawValue) }.prefix(3)
            .map { String(format: "%@%.2f %@", $0.1 > 0 ? "+" : "−", abs($0.1), $0.0.name) }
        return "Yes: " + moves.joined(separator: ", ") + String(format: " (TV %.2f)", item.totalVariation!)
    }

    /// One Table III-style table per column.
    var examples: String {
        columns.map { column in
            var out = "<h3>\(Self.escape(column.card.label))</h3>\n<div class=\"scroll\"><table class=\"examples\"><thead><tr>"
                + "<th>picked as</th><th>change</th><th>id</th><th>typed descriptions</th><th>reference</th><th>adjusted</th><th>reason</th></tr></thead><tbody>\n"
            for (kind, item) in Self.pickExamples(column.items) {
                let cells = [
                    "<td><span class=\"tag \(kind.cssClass)\">\(kind.rawValue)</span></td>",
                    "<td>\(Self.escape(Self.change(item)))</td>",
                    "<td class=\"id\"><code>\(Self.escape(item.id))</code></td>",
                    "<td class=\"words\">\(item.descriptions.isEmpty ? "<em>(none)</em>" : Self.escape(item.descriptions.joined(separator: "; ")))</td>",
                    "<td class=\"dist\">\(Self.escape(Self.show(item.reference)))\(ArgmaxClass(item.reference) == .tie ? " <em>(tie)</em>" : "")</td>",
                    "<td class=\"dist\">\(Self.escape(Self.show(item.adjusted!)))</td>",
                    "<td class=\"reason\">\(Self.escape(item.reason ?? "—"))</td>",
                ]
                out += "<tr>" + cells.joined() + "</tr>\n"
            }
            return out + "</tbody></table></div>\n"
        }.joined()
    }
}
