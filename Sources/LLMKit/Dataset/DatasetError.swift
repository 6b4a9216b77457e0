/// A dataset or output file that cannot be read, with the file, line and field at fault.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line, when the problem has one.
    public var line: Int?
    /// The column or key at fault, when one is.
    public var field: String?
    /// The 1-based column of a table (CSV, TSV) at fault, when one is.
    public var column: Int?
    public var reason: String

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.reason = reason
    }

    /// `file:line:column: field 'x': reason`, one line (the column for tables only).
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if line != nil, let column { text += ":\(column)" }
        text += ": "
        if let field { text += "field '\(field)': " }
        return text + reason
    }
}
