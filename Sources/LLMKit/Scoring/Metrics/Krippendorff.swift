/// Krippendorff's alpha with coders (runs, providers) and units (items); a coder may miss units.
///
/// Coincidences `o_ck = sum_u n_uc (n_uk - [c=k]) / (m_u - 1)` over units with `m_u >= 2`;
/// `n_c = sum_k o_ck`, `n = sum_c n_c`; `e_ck = (n_c n_k - [c=k] n_c) / (n - 1)`;
/// `alpha = 1 - sum(o*d) / sum(e*d)`; nominal `d = [c != k]`, interval `d = (v_c - v_k)^2`
/// (REFERENCE.md section 3). Oracle (Wikipedia's 3 coders x 15 units): nominal
/// 0.691358024691358, interval 0.8108448928121059.
enum Krippendorff {
    /// The distance between values: nominal (`[c != k]`) or interval (`(v_c - v_k)^2`).
    enum Metric: Sendable { case nominal, interval }

    /// `data[coder][unit]`, `nil` for a missing value. Returns NaN when there is no pairable
    /// value or no disagreement is possible (every value the same).
    static func alpha(_ data: [[Double?]], metric: Metric) -> Double {
        guard let units = data.first?.count else { return .nan }
        var values: [Double] = []
        for row in data { for case let v? in row where !values.contains(v) { values.append(v) } }
        values.sort()
        let c = values.count
        guard c > 0 else { return .nan }
        let index = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
        var o = [[Double]](repeating: [Double](repeating: 0, count: c), count: c)
        for u in 0..<units {
            var counts = [Double](repeating: 0, count: c)
            var m = 0.0
            for row in data { if let v = row[u] { counts[index[v]!] += 1; m += 1 } }
            guard m >= 2 else { continue }
            for i in 0..<c where counts[i] > 0 {
                for k in 0..<c { o[i][k] += counts[i] * (counts[k] - (i == k ? 1 : 0)) / (m - 1) }
            }
        }
        // Exact sums: relabelling the categories (permuting the emotions) only moves entries.
        let nc = o.map { ExactSum.sum($0) }
        let n = ExactSum.sum(nc)
        guard n > 1 else { return .nan }
        func d(_ i: Int, _ k: Int) -> Double {
            switch metric {
            case .nominal: i == k ? 0 : 1
            case .interval: (values[i] - values[k]) * (values[i] - values[k])
            }
        }
        var observedTerms: [Double] = [], expectedTerms: [Double] = []
        for i in 0..<c {
            for k in 0..<c {
                observedTerms.append(o[i][k] * d(i, k))
                expectedTerms.append((nc[i] * nc[k] - (i == k ? nc[i] : 0)) / (n - 1) * d(i, k))
            }
        }
        let observed = ExactSum.sum(observedTerms), expected = ExactSum.sum(expectedTerms)
        guard expected > 0 else { return .nan }
        return 1 - observed / expected
    }
}
