/// A scoring request that cannot be carried out (a bad threshold, labels that do not fit the
/// columns), with one sentence a user can act on. Problems with a file are ``DatasetError``s.
public struct ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One sentence a user can act on.
    public var message: String

    /// An error with its message.
    package init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
