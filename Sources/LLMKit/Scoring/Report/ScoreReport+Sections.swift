import Foundation

extension ScoreReport {
    /// A table a tool adds to the report (an experiment's ranking and run-to-run spread): shown
    /// after the side-by-side table in the text, Markdown and HTML, under ``key`` in the JSON,
    /// and as long-CSV rows (`column,metric,value,low,high,n`) when it has any.
    public struct Section: Sendable {
        /// The JSON key (`ranking`, `spread`).
        public var key: String
        public var title: String
        /// One sentence: how the table was made.
        public var note: String
        public var header: [String]
        public var rows: [[String]]
        /// The table as JSON (an array of objects).
        public var json: JSONValue
        /// Rows for the long CSV, each `[column, metric, value, low, high, n]`.
        public var csvRows: [[String]]

        public init(key: String, title: String, note: String, header: [String], rows: [[String]], json: JSONValue, csvRows: [[String]] = []) {
            self.key = key
            self.title = title
            self.note = note
            self.header = header
            self.rows = rows
            self.json = json
            self.csvRows = csvRows
        }
    }

    /// The sections as plain text.
    var sectionsText: String {
        sections.map { "\n\n\($0.title) (\($0.note))\n" + Self.align([$0.header] + $0.rows) }.joined()
    }

    /// The sections as Markdown.
    var sectionsMarkdown: String {
        sections.map { s in
            "\n**\(s.title)** (\(s.note))\n\n| " + s.header.joined(separator: " | ") + " |\n|" + s.header.map { _ in "---|" }.joined() + "\n"
                + s.rows.map { "| " + $0.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }.joined()
        }.joined()
    }

    /// The sections as HTML.
    var sectionsHTML: String {
        sections.map { s in
            "<h2>\(Self.escape(s.title))</h2>\n<p class=\"meta\">\(Self.escape(s.note))</p>\n<div class=\"scroll\"><table><thead><tr>"
                + s.header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
                + s.rows.map { "<tr>" + $0.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</tbody></table></div>\n"
        }.joined()
    }

    /// The sections' long-CSV rows.
    var sectionsCSV: String {
        sections.flatMap(\.csvRows).map { $0.map(LabelExport.csvField).joined(separator: ",") + "\n" }.joined()
    }
}
