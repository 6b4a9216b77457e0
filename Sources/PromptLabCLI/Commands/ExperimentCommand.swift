import ArgumentParser
import Experiments
import Foundation
import LLMKit
import Providers

/// `promptlab experiment`: a grid of relabel runs declared in one YAML file.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run, price, follow and report a grid of relabel runs declared in a YAML file.",
        discussion: """
            The file declares datasets × methods × prompt versions × models × repeats (see the \
            DocC article 'Experiments' and Examples/experiment.yaml). Every cell is a normal \
            relabel run with its own journal in the experiment folder; 'run' again finishes \
            what is missing and reruns only the cells whose settings changed.
            """,
        subcommands: [Run.self, Status.self, Plan.self, Report.self])

    /// The experiment file and where its folder is.
    struct FileOptions: ParsableArguments {
        @Argument(help: ArgumentHelp("The experiment file (YAML).", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("The experiment folder (default: the file's 'output', else out/experiments/<name>).", valueName: "dir"))
        var out: String?

        @OptionGroup var directories: PromptDirectoryOptions

        func load() throws -> ExperimentFile {
            try ExperimentFile.load(file, library: directories.library, output: out)
        }
    }

    /// `experiment run FILE`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every cell that is not done, then write the ensembles.",
            discussion: """
                Cells against one endpoint run one after another with its whole concurrency; \
                endpoints run at the same time. After a kill, run again (or pass --resume): \
                finished cells are reused, partial ones continue from their journals. Exit \
                status 1 when a cell failed (see 'experiment status').
                """)

        @OptionGroup var options: FileOptions

        @Flag(help: "Continue an interrupted experiment (what 'run' always does; accepted for symmetry with relabel).")
        var resume = false

        @Option(help: ArgumentHelp("Response cache folder (default: the standard one, see relabel --cache).", valueName: "dir"))
        var cache: String?

        @Flag(help: "Do not read or write the response cache.")
        var noCache = false

        @Flag(help: "No progress lines on stderr.")
        var quiet = false

        func validate() throws {
            if cache != nil && noCache { throw ValidationError("--cache and --no-cache contradict each other") }
        }

        func run() async throws {
            let experiment = try options.load()
            let runner = ExperimentRunner(
                experiment: experiment, registry: PromptLabCLI.registry, environment: ProcessInfo.processInfo.environment,
                bundledRecordings: { method in Locations.bundledRecordings(method == .logprob ? Locations.logprobRecordings : "fixtures/recordings/gemma3-270m") },
                cache: noCache ? .off : cache.map { .at(URL(fileURLWithPath: $0)) } ?? .standard)
            let quiet = self.quiet
            let outcomes = try await Interrupt.cancelling {
                try await runner.run { line in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
            }
            let count = { (reuse: String) in outcomes.filter { $0.reuse == reuse }.count }
            let failed = outcomes.filter { $0.state == "failed" }
            print("experiment \(experiment.name): \(outcomes.count) cells: \(count("reused")) reused, \(count("resumed")) resumed, "
                + "\(count("new")) new, \(count("changed")) run again (settings changed); \(failed.count) failed; folder \(experiment.output)")
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }

    /// `experiment status FILE`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each cell: done, partial with counts, not started, or failed with its kind.")

        @OptionGroup var options: FileOptions

        func run() async throws {
            let experiment = try options.load()
            let status = try experiment.status()
            var rows = status.cells.map { [$0.id, $0.state.rawValue, $0.summary] }
            for (ensemble, (_, written)) in zip(experiment.ensembles, status.ensembles) {
                rows.append(["ensemble \(ensemble.name)", written ? "written" : "waiting", written ? experiment.ensembleFile(ensemble) : "its members are not all done"])
            }
            print(Table.render(header: ["cell", "state", ""], rows: rows))
            if status.fileChanged { print("the file changed since the last run: 'experiment run' reruns the cells whose settings changed") }
        }
    }

    /// `experiment plan FILE`.
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Price the whole grid without sending anything: requests, tokens and dollars per cell and in total, synchronous vs Batch API.",
            discussion: "Each cell's figures are relabel --dry-run's for the same settings (re-asks and split requests not included).")

        @OptionGroup var options: FileOptions

        @Option(help: ArgumentHelp("Also write the plan as JSON.", valueName: "file"))
        var json: String?

        func run() async throws {
            let experiment = try options.load()
            let started = ContinuousClock.now
            let plan = try await experiment.plan()
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            print(ExperimentPlanText.render(plan))
            print(String(format: "%d cells planned in %.2f s; prices: %@, %@", plan.rows.count, seconds, experiment.prices.source, experiment.prices.date))
            if let json { try AtomicFileWriter.write(JSONSerializer.string(ExperimentPlanText.json(plan), style: .pretty), to: json) }
        }
    }

    /// `experiment report FILE`.
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every finished cell and ensemble side by side, with paired tests across the grid, the spread over repeats and a ranking.",
            discussion: "Writes HTML, Markdown, JSON and long CSV per dataset into <folder>/report/ unless given (one dataset).")

        @OptionGroup var options: FileOptions
        @OptionGroup var outputs: ScoreOutputOptions

        func run() async throws {
            let experiment = try options.load()
            for dataset in experiment.datasets {
                var report = try experiment.report(dataset: dataset.name)
                var files = outputs.files
                if files.paths.isEmpty || experiment.datasets.count > 1 {
                    let stem = "\(experiment.output)/report/\(dataset.name)"
                    files = .init(json: "\(stem).json", csv: "\(stem).csv", markdown: "\(stem).md", html: "\(stem).html")
                }
                report.warnings = report.warnings.map { "\(dataset.name): \($0)" }
                try files.check(against: [dataset.path])
                var written = outputs
                written.json = files.json
                written.csv = files.csv
                written.csvWide = files.csvWide
                written.markdown = files.markdown
                written.html = files.html
                try written.finish(report)
            }
        }
    }
}

/// The plan as a table and as JSON.
enum ExperimentPlanText {
    static func render(_ plan: ExperimentPlan) -> String {
        func dollars(_ pair: (expected: Double, most: Double)?) -> String {
            pair.map { "\(CostOptions.money($0.expected)) (≤ \(CostOptions.money($0.most)))" } ?? "n/a"
        }
        var rows: [[String]] = plan.rows.map { (r: ExperimentPlan.Row) -> [String] in
            let requests: String = r.estimate.map { String($0.requests) } ?? "0"
            let prompt: String = r.estimate.map { String($0.promptTokens) } ?? "n/a"
            let completion: String = r.estimate.map { "\($0.expectedCompletion) (≤ \($0.completionBudget))" } ?? "n/a"
            return [r.cell, String(r.items), requests, prompt, completion, dollars(r.synchronous), dollars(r.batch), r.note ?? ""]
        }
        let t = plan.total
        rows.append(["total", "\(plan.rows.reduce(0) { $0 + $1.items })", "\(t.requests)", "\(t.promptTokens)", "\(t.expectedCompletion) (≤ \(t.completionBudget))",
                     dollars(plan.totalSynchronous), dollars(plan.totalBatch),
                     plan.rows.contains { $0.batch == nil && $0.synchronous != nil }
                        ? "priced cells only; the Batch API total counts cells it cannot run at their synchronous price" : "priced cells only"])
        let table = Table.render(header: ["cell", "items", "requests", "prompt tokens", "completion tokens", "synchronous", "Batch API", ""], rows: rows)
        guard plan.calibrationRequests > 0 else { return table }
        return table + "\nincluded: \(plan.calibrationRequests) calibration requests of the logprob cells (\(LogProbMethod.contentFreeInputs.count) content-free inputs per cell; "
            + "'calibrate: false' leaves them out)"
    }

    static func json(_ plan: ExperimentPlan) -> JSONValue {
        func estimate(_ e: DryRunEstimate) -> JSONValue {
            ["items": .int(e.items), "requests": .int(e.requests), "prompt_tokens": .int(e.promptTokens),
             "completion_tokens_expected": .int(e.expectedCompletion), "completion_tokens_at_most": .int(e.completionBudget)]
        }
        func dollars(_ pair: (expected: Double, most: Double)?) -> JSONValue {
            pair.map { ["expected": .double($0.expected), "at_most": .double($0.most)] } ?? .null
        }
        return [
            "cells": .array(plan.rows.map { r in
                ["cell": .string(r.cell), "method": .string(r.method.name), "model": .string(r.model), "items": .int(r.items),
                 "estimate": r.estimate.map(estimate) ?? .null, "calibration_requests": .int(r.calibrationRequests),
                 "synchronous": dollars(r.synchronous), "batch_api": dollars(r.batch),
                 "note": r.note.map(JSONValue.string) ?? .null]
            }),
            "total": ["estimate": estimate(plan.total), "calibration_requests": .int(plan.calibrationRequests),
                      "synchronous": dollars(plan.totalSynchronous), "batch_api": dollars(plan.totalBatch)],
        ]
    }
}
