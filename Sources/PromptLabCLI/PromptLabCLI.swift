import ArgumentParser
import Foundation
public import LLMKit
import Providers
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `promptlab` command-line tool as a library, so a downstream package can build its own
/// `promptlab` with extra providers:
///
///     var registry = BuiltinProviders.registry()
///     registry.register("mine", summary: "...") { config in MyProvider(config) }
///     await PromptLabCLI.main(registry: registry)
///
/// Every subcommand parses its options, makes one library call and prints.
public enum PromptLabCLI {
    static let registryStore = Mutex(ProviderRegistry())

    /// At most one glibc malloc arena per core, unless `MALLOC_ARENA_MAX` says otherwise.
    /// glibc gives a thread that finds the heap busy an arena of its own, up to 8 per core; a
    /// run's many small allocations, spread over the I/O pool's, libcurl's and the cooperative
    /// pool's threads, then leave free memory scattered over a dozen arenas. A 150,000-item
    /// Batch API run peaked at 90-99 MiB of RSS with glibc's default and at 78-83 MiB with one
    /// arena per core, its heap itself never above 20 MiB (heaptrack), at the same CPU time
    /// (`scripts/batch-measure.sh`). No more arenas than cores can use at once costs no
    /// parallelism. A setting in the environment wins (`MALLOC_ARENA_MAX`, or any
    /// `GLIBC_TUNABLES`, which may set `glibc.malloc.arena_max`).
    static func capMallocArenas() {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil, getenv("GLIBC_TUNABLES") == nil,
              // <malloc.h> is not in Swift's Glibc module: `int mallopt(int, int)` by name.
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, Int32(max(1, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }

    /// The providers the commands resolve `--provider NAME` with.
    static var registry: ProviderRegistry { registryStore.withLock { $0 } }

    /// Parses the process's arguments and runs the command, with `registry`'s providers.
    /// Caps glibc's malloc arenas at one per core for the whole process unless the environment
    /// sets `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` (it keeps a long run's memory flat).
    /// Exits the process with the command's status: 0, 1 for bad input or a failed run, 64
    /// for a usage error, 130 when interrupted.
    public static func main(registry: ProviderRegistry, arguments: [String]? = nil) async -> Never {
        registryStore.withLock { $0 = registry }
        capMallocArenas()
        // The command as parsed, so an error's hint can take the options given into account.
        var parsed: (any ParsableCommand)?
        do {
            var command = try PromptLabCommand.parseAsRoot(arguments)
            parsed = command
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            PromptLabCommand.exit()
        } catch {
            if let failure = Failure(error, command: parsed) {
                FileHandle.standardError.write(Data((failure.message + "\n").utf8))
                PromptLabCommand.exit(withError: ExitCode(failure.status))
            }
            if PromptLabCommand.exitCode(for: error) == .validationFailure {
                // A bad invocation: one line, the cause and where the options are explained
                // (instead of the parser's cause, usage and hint on three lines).
                let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
                let names = PromptLabCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
                let help = arguments.first.flatMap { names.contains($0) ? "promptlab \($0) --help" : nil } ?? "promptlab --help"
                FileHandle.standardError.write(Data("Error: \(PromptLabCommand.message(for: error)) (see '\(help)')\n".utf8))
                PromptLabCommand.exit(withError: ExitCode.validationFailure)
            }
            PromptLabCommand.exit(withError: error)
        }
    }
}

/// `promptlab`: relabel speech-emotion datasets with LLMs and measure prompt versions.
struct PromptLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promptlab",
        abstract: "Relabel speech-emotion data with LLMs and measure prompt versions.",
        discussion: """
            Datasets are the project's JSONL (one item per line: id, descriptions, votes or \
            reference, optional gold) or EMO-SUPERB's CSV (',angry,...,happy,words'). See the README.
            """,
        version: "promptlab 0.2.0 (jansson \(StrictJSON.janssonVersion), \(SystemLibraries.curl))",
        subcommands: [RelabelCommand.self, ScoreCommand.self, CompareCommand.self, ImportCommand.self, ExportCommand.self,
                      PromptsCommand.self, ProvidersCommand.self, BatchesCommand.self, RenderCommand.self, ParseCommand.self, InspectCommand.self,
                      ExperimentCommand.self, FitCommand.self]
    )
}
