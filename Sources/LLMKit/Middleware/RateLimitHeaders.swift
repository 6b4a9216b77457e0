package import Foundation

/// Reading the retry and rate-limit headers OpenAI-compatible servers send (REFERENCE.md 4).
package enum RateLimitHeaders {
    /// Parses a Go-style duration as in `x-ratelimit-reset-*`: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, `250us`.
    package static func goDuration(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return .seconds(double: total)
    }

    /// The delay a server asked for: `retry-after-ms`, else `retry-after` in seconds
    /// (fractions allowed) or as an HTTP date (relative to `now`), else — for a rate limit —
    /// the `x-ratelimit-reset-*` of the exhausted limit (both when neither says which).
    package static func requestedDelay(_ headers: [String: String], now: Date) -> Duration? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init), ms >= 0 { return .seconds(double: ms / 1000) }
        if let value = headers["retry-after"] {
            if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(double: seconds) }
            if let date = httpDate(value) { return .seconds(double: max(0, date.timeIntervalSince(now))) }
        }
        let requestsExhausted = headers["x-ratelimit-remaining-requests"].flatMap(Int.init) == 0
        let tokensExhausted = headers["x-ratelimit-remaining-tokens"].flatMap(Int.init) == 0
        let resets = [
            (requestsExhausted || !tokensExhausted) ? headers["x-ratelimit-reset-requests"].flatMap(goDuration) : nil,
            (tokensExhausted || !requestsExhausted) ? headers["x-ratelimit-reset-tokens"].flatMap(goDuration) : nil,
        ].compactMap { $0 }
        return resets.max()
    }

    /// Parses an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`).
    package static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text.trimmingCharacters(in: .whitespaces))
    }
}
