import ArgumentParser
import Foundation
import LLMKit

/// Where scores go, the column labels, and the thresholds that fail the command.
struct ScoreOutputOptions: ParsableArguments {
    @Option(name: .customLong("label"), help: ArgumentHelp("A column's label (repeatable, one per column, in column order).", valueName: "name"))
    var labels: [String] = []

    @Option(help: ArgumentHelp("Write the scores as JSON (format llmkit-score/2).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write every metric as long CSV: column,metric,value,low,high,n.", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Write the point values as a wide CSV (one row per metric, one column per scored column).", valueName: "file"))
    var csvWide: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report with charts.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("Write the tables as Markdown.", valueName: "file"))
    var markdown: String?

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is below VALUE (repeatable), e.g. macro_f1=0.6; METRIC is a key of the score JSON.", valueName: "metric=value"))
    var failUnder: [String] = []

    @Option(help: ArgumentHelp("Exit 1 when a column's METRIC is above VALUE (repeatable), e.g. unchanged.as_shown=0.5.", valueName: "metric=value"))
    var failOver: [String] = []

    func validate() throws { _ = try thresholds() }

    func thresholds() throws -> [ScoreThreshold] {
        do {
            return try failUnder.map { try ScoreThreshold(parsing: $0, direction: .under) } + failOver.map { try ScoreThreshold(parsing: $0, direction: .over) }
        } catch let error as ScoringError {
            throw ValidationError(error.message)
        }
    }

    /// The files asked for.
    var files: ScoreReport.Outputs { .init(json: json, csv: csv, csvWide: csvWide, markdown: markdown, html: html) }

    /// Refuses, before any work, outputs that would replace an input or one another.
    func check(inputs: [String?]) throws { try files.check(against: inputs.compactMap { $0 }) }

    /// Prints the warnings and the table, writes the files, and exits 1 when a threshold is crossed.
    func finish(_ report: ScoreReport) throws {
        let stderr = FileHandle.standardError
        if let votes = report.votes { stderr.write(Data((votes.sentence + "\n").utf8)) }
        for warning in report.warnings { stderr.write(Data("warning: \(warning)\n".utf8)) }
        FileHandle.standardOutput.write(Data((report.text + "\n").utf8))
        let written = try report.write(files)
        for path in written { stderr.write(Data("wrote \(path)\n".utf8)) }
        let outcome = ScoreThreshold.check(try thresholds(), on: report)
        for line in outcome.unchecked { stderr.write(Data("warning: \(line)\n".utf8)) }
        if !outcome.passed {
            stderr.write(Data(("threshold failed: " + outcome.failures.joined(separator: "; ") + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
