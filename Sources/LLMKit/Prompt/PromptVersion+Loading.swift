public import Foundation

/// A prompt file that cannot be used, with the file and line at fault.
public struct PromptLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at fault (`(built-in) name.prompt` for a built-in version).
    public var file: String
    /// 1-based line, when the problem has one.
    public var line: Int?
    /// What is wrong.
    public var reason: String

    package init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`, or `file: reason` without a line.
    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

extension PromptVersion {
    /// Placeholders allowed in the system text (the same for every chunk, so servers can cache it).
    package static let systemPlaceholders: Set<String> = ["emotions", "separator", "batch_size"]
    /// Placeholders allowed in the user text.
    package static let userPlaceholders: Set<String> = systemPlaceholders.union(["count", "data"])

    /// Loads a prompt version file.
    ///
    /// A file ending in `.prompt` has an optional header between `---` lines, then sections:
    ///
    ///     ---
    ///     name: paper-reason
    ///     summary: The paper's five parts, with a reason per item.
    ///     batch_size: 30
    ///     separator: " | "
    ///     reason: true
    ///     decimals: 4
    ///     reason_max_length: 160
    ///     reason_overflow: cut
    ///     ---
    ///     === system ===
    ///     You relabel emotions ... {{emotions}} ...
    ///     === user ===
    ///     Here are {{count}} data points: {{data}}
    ///
    /// Header lines are `key: value`; a value in double quotes is a JSON string (for separators
    /// with spaces); lines starting with `#` are comments. Every key is optional. Placeholders
    /// are `{{name}}`: `emotions`, `separator`, `batch_size` anywhere; `count` and `data` in the
    /// user text only, which must contain `{{data}}` (default user text: `{{data}}`). An unknown
    /// key, section or placeholder fails with the file and line.
    ///
    /// A version can use carried columns of a lab's table (``DatasetItem/keep``): the header
    /// declares them (`columns: transcript`) and a one-line `=== item ===` section says how a
    /// data point's text is written, with `{{descriptions}}` and each declared column
    /// (`{{descriptions}} (said: "{{transcript}}")`). A declared column that is not used, or a
    /// placeholder that is not declared, fails at load; a run on a dataset that does not carry
    /// a declared column fails before it sends anything.
    ///
    /// Any other file (`Prompt.txt`) is taken whole, unchanged, as the system text, with the
    /// defaults for the rest: name from the file name, chunk size 30, separator `" | "`,
    /// a reason per item, user text `{{data}}`.
    public static func load(contentsOf url: URL) throws(PromptLoadError) -> PromptVersion {
        let file = url.path
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw PromptLoadError(file: file, line: nil, reason: "cannot read the file (\(error.localizedDescription))")
        }
        let stem = url.deletingPathExtension().lastPathComponent
        if url.pathExtension == "prompt" {
            return try parse(text, file: file, defaultName: stem)
        }
        guard !text.trimmingWhitespace().isEmpty else { throw PromptLoadError(file: file, line: nil, reason: "the file is empty") }
        return PromptVersion(name: stem, summary: "plain-text system prompt from \(url.lastPathComponent)", systemText: text)
    }

    /// Parses the `.prompt` format (see ``load(contentsOf:)``).
    public static func parse(_ text: String, file: String, defaultName: String) throws(PromptLoadError) -> PromptVersion {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        func fail(_ line: Int?, _ reason: String) -> PromptLoadError { PromptLoadError(file: file, line: line, reason: reason) }

        var version = PromptVersion(name: defaultName, systemText: "")
        var cursor = 0
        if lines.first?.trimmingWhitespace() == "---" {
            cursor = try version.readHeader(lines, file: file)
        }

        var sections: [String: (line: Int, lines: [String])] = [:]
        var current: String?
        while cursor < lines.count {
            let line = lines[cursor]
            let lineNumber = cursor + 1
            cursor += 1
            let trimmed = line.trimmingWhitespace()
            if trimmed.hasPrefix("==="), trimmed.hasSuffix("==="), trimmed.count > 6 {
                let name = String(trimmed.dropFirst(3).dropLast(3)).trimmingWhitespace()
                guard name == "system" || name == "user" || name == "item" else { throw fail(lineNumber, "unknown section '\(name)' (sections: system, user, item)") }
                guard sections[name] == nil else { throw fail(lineNumber, "section '\(name)' appears twice") }
                sections[name] = (lineNumber + 1, [])
                current = name
                continue
            }
            guard let section = current else {
                if trimmed.isEmpty { continue }
                throw fail(lineNumber, "text before the first section; start it with '=== system ==='")
            }
            sections[section]!.lines.append(line)
        }
        guard let system = sections["system"] else { throw fail(nil, "no '=== system ===' section") }
        let systemText = system.lines.joined(separator: "\n").trimmingWhitespace()
        guard !systemText.isEmpty else { throw fail(system.line - 1, "the system section is empty") }
        let user = sections["user"] ?? (0, ["{{data}}"])
        let userText = user.lines.joined(separator: "\n").trimmingWhitespace()

        try checkPlaceholders(system.lines, firstLine: system.line, allowed: systemPlaceholders, file: file, section: "system", columns: version.columns)
        try checkPlaceholders(user.lines, firstLine: user.line, allowed: userPlaceholders, file: file, section: "user", columns: version.columns)
        guard userText.contains("{{data}}") else { throw fail(user.line > 0 ? user.line - 1 : nil, "the user section must contain {{data}}") }

        version.systemText = version.substituteStatic(in: systemText)
        version.userTemplate = version.substituteStatic(in: userText)
        if let item = sections["item"] {
            let lines = item.lines.filter { !$0.trimmingWhitespace().isEmpty }
            guard lines.count == 1 else { throw fail(item.line - 1, "the item section must be one line (a data point is one line), not \(lines.count)") }
            let itemLine = item.line + item.lines.firstIndex(of: lines[0])!
            try checkPlaceholders([lines[0]], firstLine: itemLine, allowed: Set(["descriptions"] + version.columns), file: file, section: "item",
                                  columns: version.columns)
            guard lines[0].contains("{{descriptions}}") else { throw fail(itemLine, "the item section must contain {{descriptions}}") }
            let visible = version.separator.trimmingWhitespace()
            if lines[0].contains("#") || lines[0].contains(visible) {
                throw fail(itemLine, "the item section may not contain '#' or the separator '\(visible)': they delimit data points")
            }
            for column in version.columns where !lines[0].contains("{{\(column)}}") {
                throw fail(itemLine, "the header declares the column '\(column)' but the item section does not use {{\(column)}}")
            }
            version.itemTemplate = lines[0].trimmingWhitespace()
        } else if let column = version.columns.first {
            throw fail(nil, "the header declares the column '\(column)': use it as {{\(column)}} in an '=== item ===' section")
        }
        return version
    }

    /// Reads the `---` header that starts `lines` into this version; returns the index of the
    /// first line after it.
    private mutating func readHeader(_ lines: [String], file: String) throws(PromptLoadError) -> Int {
        func fail(_ line: Int?, _ reason: String) -> PromptLoadError { PromptLoadError(file: file, line: line, reason: reason) }
        var cursor = 1
        var seen: Set<String> = []
        while cursor < lines.count {
            let lineNumber = cursor + 1
            let trimmed = lines[cursor].trimmingWhitespace()
            cursor += 1
            if trimmed == "---" { return cursor }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else { throw fail(lineNumber, "expected 'key: value', found '\(trimmed)'") }
            let key = String(trimmed[..<colon]).trimmingWhitespace()
            let raw = String(trimmed[trimmed.index(after: colon)...]).trimmingWhitespace()
            guard seen.insert(key).inserted else { throw fail(lineNumber, "'\(key)' is given twice") }
            var value = raw
            if raw.hasPrefix("\"") {
                guard case .string(let s)? = try? StrictJSON.parse(raw) else { throw fail(lineNumber, "\(key): \(raw) is not a valid double-quoted string") }
                value = s
            }
            if let reason = apply(key: key, value: value) { throw fail(lineNumber, reason) }
        }
        throw fail(1, "the header opened with '---' is never closed")
    }

    /// Sets one header key; returns what is wrong with it, or `nil`.
    private mutating func apply(key: String, value: String) -> String? {
        switch key {
        case "name":
            guard !value.isEmpty, !value.contains("@"), !value.contains(where: \.isWhitespace) else { return "name must be non-empty, without spaces or '@'" }
            name = value
        case "summary": summary = value
        case "batch_size":
            guard let n = Int(value), (1...500).contains(n) else { return "batch_size must be an integer from 1 to 500, not '\(value)'" }
            chunkSize = n
        case "separator":
            guard !value.trimmingWhitespace().isEmpty else { return "separator must contain a visible character" }
            for forbidden in ["#", ",", "\n", "{", "}"] where value.contains(forbidden) {
                return "separator must not contain '\(forbidden == "\n" ? "\\n" : forbidden)': data points use it"
            }
            separator = value
        case "reason":
            guard let b = Bool(value) else { return "reason must be true or false, not '\(value)'" }
            asksForReason = b
        case "decimals":
            guard let n = Int(value), (1...12).contains(n) else { return "decimals must be an integer from 1 to 12, not '\(value)'" }
            decimals = n
        case "reason_max_length":
            guard let n = Int(value), (10...2000).contains(n) else { return "reason_max_length must be an integer from 10 to 2000, not '\(value)'" }
            reasonLimit = n
        case "columns":
            let names = value.split(separator: ",").map { String($0).trimmingWhitespace() }
            guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && !$0.contains("{") && !$0.contains("}") }) else {
                return "columns must list carried column names separated by commas, not '\(value)'"
            }
            let reserved = Self.userPlaceholders.union(["descriptions"])
            if let clash = names.first(where: reserved.contains) { return "columns: '\(clash)' is a placeholder of its own; a carried column needs another name" }
            guard Set(names).count == names.count else { return "columns: a column is named twice" }
            columns = names
        case "reason_overflow":
            guard let overflow = ReasonOverflow(rawValue: value) else { return "reason_overflow must be cut or reject, not '\(value)'" }
            reasonOverflow = overflow
        default:
            return "unknown key '\(key)' (known: name, summary, batch_size, separator, reason, decimals, reason_max_length, reason_overflow, columns)"
        }
        return nil
    }

    private static func checkPlaceholders(_ lines: [String], firstLine: Int, allowed: Set<String>, file: String, section: String,
                                          columns: [String]) throws(PromptLoadError) {
        for (offset, line) in lines.enumerated() {
            var rest = line[...]
            while let open = rest.range(of: "{{") {
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    throw PromptLoadError(file: file, line: firstLine + offset, reason: "'{{' is not closed by '}}'")
                }
                let name = String(rest[open.upperBound..<close.lowerBound]).trimmingWhitespace()
                if !allowed.contains(name) {
                    let hint = if section == "item" {
                        "unknown placeholder {{\(name)}} in the item section (known: descriptions\(columns.map { ", " + $0 }.joined()); a carried column of your table is declared in the header: columns: \(name))"
                    } else if columns.contains(name) || name == "descriptions" {
                        "{{\(name)}} is only allowed in the item section (one data point)"
                    } else if userPlaceholders.contains(name) {
                        "{{\(name)}} is only allowed in the user section"
                    } else {
                        "unknown placeholder {{\(name)}} (known: \(userPlaceholders.sorted().joined(separator: ", ")); a carried column goes in the item section, declared in the header: columns: \(name))"
                    }
                    throw PromptLoadError(file: file, line: firstLine + offset, reason: hint)
                }
                rest = rest[close.upperBound...]
            }
        }
    }

    /// Replaces the placeholders that do not change between chunks.
    func substituteStatic(in text: String) -> String {
        text.replacingPlaceholders([
            "emotions": Emotion.allCases.map(\.name).joined(separator: ", "),
            "separator": separator.trimmingWhitespace(),
            "batch_size": String(chunkSize),
        ])
    }
}

extension String {
    /// Replaces `{{name}}` (spaces inside the braces allowed) with the given values; others stay.
    func replacingPlaceholders(_ values: [String: String]) -> String {
        var out = ""
        var rest = self[...]
        while let open = rest.firstRange(of: "{{"), let close = rest[open.upperBound...].firstRange(of: "}}") {
            out += rest[..<open.lowerBound]
            let name = String(rest[open.upperBound..<close.lowerBound]).trimmingWhitespace()
            out += values[name] ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }
}
