import Synchronization

/// Removes credentials from text the project stores or prints.
///
/// Providers register the secret values they send (API keys, organisation and project ids,
/// any credential header) with ``register(_:)``; every error message, failure message,
/// recorded or cached body and log line is scrubbed of them before it is written, so a server
/// that echoes the `Authorization` header back in an error body cannot put a key into `--out`,
/// a fixture or a log. Process-wide, because a secret must not leak through any path.
public final class SecretRedactor: Sendable {
    /// The process-wide redactor every writer uses.
    public static let shared = SecretRedactor()

    /// What a secret is replaced with.
    package static let marker = "[REDACTED]"

    /// Secrets shorter than this are not registered (they would match ordinary words).
    package static let minimumLength = 8

    private let secrets = Mutex<[String]>([])

    /// An empty redactor (tests use their own; the project uses ``shared``).
    package init() {}

    /// Adds a secret value; values shorter than 8 UTF-8 bytes are ignored (they would match
    /// ordinary words).
    public func register(_ secret: String) {
        let value = secret.trimmingWhitespace()
        guard value.utf8.count >= Self.minimumLength else { return }
        secrets.withLock { list in
            if !list.contains(value) {
                list.append(value)
                // Longest first, so a key that contains another is removed whole.
                list.sort { $0.utf8.count > $1.utf8.count }
            }
        }
    }

    /// Whether any secret is registered (writers skip the scan when none is).
    package var isEmpty: Bool { secrets.withLock { $0.isEmpty } }

    /// `text` with every registered secret replaced by ``marker``.
    package func scrub(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        guard !list.isEmpty else { return text }
        var out = text
        for secret in list where out.contains(secret) {
            out = out.replacingAll(secret, with: Self.marker)
        }
        return out
    }
}

/// Caps stored text: a long message keeps its beginning and says how much was cut.
package enum TextLimit {
    /// `text` when it has at most `limit` UTF-8 bytes; otherwise its first bytes (cut at a
    /// character boundary) and `… [N more bytes]`.
    package static func capped(_ text: String, _ limit: Int) -> String {
        let count = text.utf8.count
        guard count > limit else { return text }
        var kept = 0
        var end = text.unicodeScalars.startIndex
        for scalar in text.unicodeScalars {
            let size = scalar.utf8.count
            if kept + size > limit { break }
            kept += size
            end = text.unicodeScalars.index(after: end)
        }
        return String(text.unicodeScalars[..<end]) + "… [\(count - kept) more bytes]"
    }
}

extension String {
    /// Replaces every occurrence of `target` (byte-wise, no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
