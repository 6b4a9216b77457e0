import LLMKit

/// A problem with an experiment file or its run, as one line: `file:line: key: cause`.
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
    /// The experiment file (or the file the problem is in).
    public var file: String
    /// The line in ``file`` (1-based), when the problem has one.
    public var line: Int?
    /// The key the problem is about (`models[1].api_key_env`), when there is one.
    public var key: String?
    /// The cause, one sentence.
    public var reason: String

    public init(file: String, line: Int? = nil, key: String? = nil, _ reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// `file:line: key: cause` (the cause alone when the file is empty: it names its own file).
    public var description: String {
        guard !file.isEmpty else { return reason }
        return file + (line.map { ":\($0)" } ?? "") + ": " + (key.map { "\($0): " } ?? "") + reason
    }
}
