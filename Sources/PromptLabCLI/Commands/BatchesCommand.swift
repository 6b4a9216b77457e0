import ArgumentParser
import Foundation
import LLMKit
import Providers

/// `promptlab batches list|status|cancel`: the Batch API batches of a relabel output.
struct BatchesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "Show or cancel the Batch API batches of a relabel output (its <out>.batches.json).",
        subcommands: [List.self, Status.self, Cancel.self])

    /// Where the batches are recorded and how to reach their server.
    struct Target: ParsableArguments {
        @Option(help: ArgumentHelp("The relabel output whose batches to show (its state is <file>.batches.json).", valueName: "file"))
        var out: String

        @Option(help: "The server's base URL (default: the one recorded in the state file).")
        var baseURL: String?

        func inspector() throws -> BatchInspector {
            // The files first: a missing output is the answer, whatever the credentials.
            let path = BatchState.path(forOutput: out)
            guard FileManager.default.fileExists(atPath: path) else {
                let what = FileManager.default.fileExists(atPath: out) ? "\(out) has no batch state \(path): was it made with --batch-api?"
                    : "\(out) does not exist (nor its batch state \(path))"
                throw ValidationError(what)
            }
            let recorded = (try? BatchState.load(path: BatchState.path(forOutput: out)))?.baseURL
            // The provider the run was made with (its journal header): OpenAI's Batch API or Anthropic's Message Batches.
            let start = FileHandle(forReadingAtPath: out).map { handle in defer { try? handle.close() }; return handle.readData(ofLength: 1 << 20) } ?? Data()
            let header = String(decoding: start, as: UTF8.self).split(separator: "\n", maxSplits: 1).first.flatMap { JournalHeader(line: String($0)) }
            // No guess: a key goes only to the provider the journal names.
            guard let provider = header?.fingerprint.provider else {
                throw ValidationError("\(out): no journal header names the provider the batches were sent to; nothing is asked (a key would go to a guessed server)")
            }
            let service = try BatchOptions.service(provider: ProviderID(provider), baseURL: baseURL ?? recorded, output: out)
            return try BatchInspector(output: out, service: service)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per input file: its wave, requests, batch id and status now.")
        @OptionGroup var target: Target

        func run() async throws {
            let entries = try await target.inspector().entries()
            let rows = entries.map { e -> [String] in
                let counts = e.info.map { "\($0.completed + $0.failed)/\($0.total) done, \($0.failed) failed" } ?? ""
                let status = e.info?.status.name ?? e.error.map { "unknown (\($0.message))" } ?? (e.file.fileID == nil ? "planned" : "uploaded")
                return [e.file.name, String(e.file.wave), String(e.file.requests.count), e.file.batchID ?? "-", status, counts, e.file.collected ? "yes" : "no"]
            }
            print(Table.render(header: ["file", "wave", "requests", "batch", "status", "requests done", "collected"], rows: rows))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each batch in detail (or one): status, counts, files, validation errors.")
        @OptionGroup var target: Target
        @Argument(help: "A batch id (default: every batch of the output).")
        var batchID: String?

        func run() async throws {
            let entries = try await target.inspector().entries(batchID: batchID)
            if let batchID, entries.isEmpty { throw ValidationError("no batch \(batchID) in the state of \(target.out)") }
            for e in entries {
                print("\(e.file.name): batch \(e.file.batchID ?? "not created"), input file \(e.file.fileID ?? "not uploaded"), \(e.file.requests.count) requests, collected: \(e.file.collected ? "yes" : "no")")
                if let error = e.error { print("  cannot ask the server: \(error.description)") }
                guard let info = e.info else { continue }
                print("  status \(info.status), \(info.total) requests: \(info.completed) completed, \(info.failed) failed; output file \(info.outputFileID ?? "-"), error file \(info.errorFileID ?? "-")")
                for error in info.errors { print("  error: \(error)") }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel the batches still running (or one); --resume then collects what they finished.")
        @OptionGroup var target: Target
        @Argument(help: "A batch id (default: every running batch of the output).")
        var batchID: String?

        func run() async throws {
            let entries = try await target.inspector().cancel(batchID: batchID)
            if entries.isEmpty { print("nothing to cancel: no batch of \(target.out) is running") }
            for e in entries {
                print("\(e.file.batchID ?? "-"): \(e.error.map { "not cancelled: \($0.description)" } ?? "now \(e.info?.status.name ?? "?")")")
            }
            if entries.contains(where: { $0.error != nil }) { throw ExitCode(1) }
        }
    }
}
