import Foundation

extension ScoreReport {
    /// The class an item's descriptions name clearly: at least one of their words is a class
    /// word (``LogProbMethod/emotion(forToken:)``: `angry`, `Sadness`, `disgusted`, ...) and all
    /// such words name the same class; `nil` otherwise. Synonyms do not count, so the choice
    /// does not lean on any method's own lexicon.
    static func clearClass(_ descriptions: [String]) -> Emotion? {
        let named = Set(descriptions.flatMap { $0.split { !$0.isLetter } }.compactMap { LogProbMethod.emotion(forToken: String($0)) })
        return named.count == 1 ? named.first : nil
    }

    /// The items shown across every column: up to 4 whose descriptions name a class clearly
    /// (one per class first, seeded; those whose reference does not already have that class on
    /// top before the others), then up to 2 others at random; only items every column has an
    /// answer or a failure for.
    static func pickAcross(_ columns: [Column], seed: UInt64 = Scoring.defaultSeed) -> [(why: String, id: String)] {
        guard let first = columns.first else { return [] }
        let byColumn = columns.map { Dictionary($0.items.map { ($0.id, $0) }, uniquingKeysWith: { $1 }) }
        var rng = SplitMix64(seed: seed)
        var pool = first.items.filter { item in byColumn.allSatisfy { $0[item.id] != nil } }
        for i in pool.indices.reversed() where i > 0 { pool.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        // Items whose reference does not already have the named class on top first: there a
        // method that follows the descriptions visibly moves the answer.
        let visible = { (item: ScoredItem) in clearClass(item.descriptions).map { !item.reference.argmaxSet.contains($0) } ?? false }
        pool = pool.filter(visible) + pool.filter { !visible($0) }
        var picked: [(String, String)] = []
        var classesShown: Set<Emotion> = []
        for pass in 0..<2 {
            for item in pool where picked.count < 4 && !picked.contains(where: { $0.1 == item.id }) {
                guard let named = clearClass(item.descriptions), pass == 1 || !classesShown.contains(named) else { continue }
                classesShown.insert(named)
                picked.append(("descriptions name \(named.name)", item.id))
            }
        }
        let clear = picked.count
        for item in pool where picked.count < clear + 2 && !picked.contains(where: { $0.1 == item.id }) && clearClass(item.descriptions) == nil {
            picked.append(("random", item.id))
        }
        return picked
    }

    /// One answer's cells: the distribution (or the failure), the change, the reason or evidence.
    static func acrossCells(_ item: ScoredItem) -> (answer: String, change: String, reason: String) {
        guard let adjusted = item.adjusted else { return ("failed: \(item.failure ?? "?")", "—", "—") }
        let change = item.noEvidence ? "No (no evidence)" : Self.change(item)
        return (show(adjusted), change, item.reason ?? "—")
    }

    /// The paper's Table III widened: each picked item once, with its descriptions and
    /// reference, and every column's answer, change and reason (or evidence) beneath.
    var acrossMethods: String {
        guard columns.count >= 2 else { return "" }
        let byColumn = columns.map { Dictionary($0.items.map { ($0.id, $0) }, uniquingKeysWith: { $1 }) }
        var out = "<div class=\"scroll\"><table class=\"examples across\"><thead><tr><th>item</th><th>column</th><th>answer</th><th>change</th>"
            + "<th>reason or evidence</th></tr></thead><tbody>\n"
        for (why, id) in Self.pickAcross(columns) {
            guard let base = byColumn[0][id] else { continue }
            let gold = base.gold.map { "<br>gold: \(Self.escape(Self.show($0)))" } ?? ""
            let head = "<td rowspan=\"\(columns.count)\" class=\"words\"><span class=\"tag random\">\(Self.escape(why))</span><br><code>\(Self.escape(id))</code><br>"
                + "<strong>\(base.descriptions.isEmpty ? "(no descriptions)" : Self.escape(base.descriptions.joined(separator: "; ")))</strong><br>"
                + "reference: \(Self.escape(Self.show(base.reference)))\(ArgmaxClass(base.reference) == .tie ? " <em>(tie)</em>" : "")\(gold)</td>"
            for (c, column) in columns.enumerated() {
                guard let item = byColumn[c][id] else { continue }
                let cells = Self.acrossCells(item)
                out += "<tr>" + (c == 0 ? head : "") + "<td>\(Self.escape(column.card.label))</td><td class=\"dist\">\(Self.escape(cells.answer))</td>"
                    + "<td>\(Self.escape(cells.change))</td><td class=\"reason\">\(Self.escape(cells.reason))</td></tr>\n"
            }
        }
        return out + "</tbody></table></div>\n"
    }

    /// ``acrossMethods`` in Markdown: one small table per item.
    var acrossMethodsMarkdown: String {
        guard columns.count >= 2 else { return "" }
        let byColumn = columns.map { Dictionary($0.items.map { ($0.id, $0) }, uniquingKeysWith: { $1 }) }
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var out = "\n**One item across the columns** (the paper's Table III widened)\n"
        for (why, id) in Self.pickAcross(columns) {
            guard let base = byColumn[0][id] else { continue }
            out += "\n`\(id)` (\(why)): descriptions **\(cell(base.descriptions.isEmpty ? "(none)" : base.descriptions.joined(separator: "; ")))**; "
                + "reference \(Self.show(base.reference))\(base.gold.map { "; gold \(Self.show($0))" } ?? "")\n\n"
            out += "| column | answer | change | reason or evidence |\n|---|---|---|---|\n"
            for (c, column) in columns.enumerated() {
                guard let item = byColumn[c][id] else { continue }
                let cells = Self.acrossCells(item)
                out += "| \(cell(column.card.label)) | \(cell(cells.answer)) | \(cell(cells.change)) | \(cell(cells.reason)) |\n"
            }
        }
        return out
    }
}
