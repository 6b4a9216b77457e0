/// Sums of doubles that do not depend on the order of the terms.
///
/// A plain `reduce(0, +)` rounds after every addition, so the same 8 values summed in another
/// order can differ in the last bit (`0.2 + 0.2 + 0.3 + 0.1` is 0.8 in one order and
/// 0.7999999999999999 in another), and a renormalised value then lands on either side of a
/// threshold such as 1/8 (REFERENCE.md section 3). ``sum(_:)`` is Shewchuk's exact summation
/// with a correctly rounded result, the algorithm of Python's `math.fsum`: the result is the
/// exact sum of the values rounded once, so it is the same for every order of the terms and
/// bit-for-bit the same as `math.fsum` (which `scripts/check_scores.py` uses).
package enum ExactSum {
    /// The correctly rounded sum of `values`, independent of their order. NaN or infinite
    /// terms give the IEEE result of adding them (NaN, or an infinity).
    package static func sum<S: Sequence>(_ values: S) -> Double where S.Element == Double {
        var partials: [Double] = []
        var nonFinite = 0.0
        var sawNonFinite = false
        for value in values {
            guard value.isFinite else { nonFinite += value; sawNonFinite = true; continue }
            var x = value
            var kept = 0
            for index in partials.indices {
                var y = partials[index]
                if abs(x) < abs(y) { swap(&x, &y) }
                let high = x + y
                let low = y - (high - x)
                if low != 0 { partials[kept] = low; kept += 1 }
                x = high
            }
            partials.removeSubrange(kept...)
            partials.append(x)
        }
        if sawNonFinite { return nonFinite }
        return roundedSum(of: partials)
    }

    /// The mean of `values` from their exact sum (NaN when there are none).
    package static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : sum(values) / Double(values.count)
    }

    /// Rounds the non-overlapping partials (increasing magnitude) to the nearest double, with
    /// the half-way correction of CPython's `math_fsum_impl`.
    private static func roundedSum(of partials: [Double]) -> Double {
        guard var n = partials.indices.last else { return 0 }
        var high = partials[n]
        var low = 0.0
        while n > 0 {
            let x = high
            n -= 1
            let y = partials[n]
            high = x + y
            low = y - (high - x)
            if low != 0 { break }
        }
        // Round half-even would be wrong when the remaining partials push the tie one way.
        if n > 0 && ((low < 0 && partials[n - 1] < 0) || (low > 0 && partials[n - 1] > 0)) {
            let y = low * 2
            let x = high + y
            if y == x - high { high = x }
        }
        return high
    }
}
