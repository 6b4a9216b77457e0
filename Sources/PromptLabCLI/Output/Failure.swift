import ArgumentParser
import LLMKit
import Providers

/// A library error as the command line shows it: one line, the cause, and what to do about it
/// in terms of this tool's flags (library messages name no flags), with the exit status. The
/// hint takes the command's options into account: it never advises an option already given.
struct Failure {
    var message: String
    var status: Int32

    /// `nil` for the errors ArgumentParser reports itself (usage errors, exit codes).
    /// `command` is the command as parsed, when parsing got that far.
    init?(_ error: any Error, command: (any ParsableCommand)? = nil) {
        switch error {
        case let run as RunError:
            message = "Error: \(run.description)" + (Self.hint(run, command: command).map { "; \($0)" } ?? "")
            status = run.code == .interrupted ? 130 : 1
        case let dataset as DatasetError:
            message = "Error: \(dataset.description)"
            status = 1
        case let prompt as PromptLoadError:
            message = "Error: \(prompt.description)"
            status = 1
        case let llm as LLMError:
            message = "Error: \(llm.description)" + (Self.hint(llm).map { "; \($0)" } ?? "")
            status = 1
        default:
            return nil
        }
    }

    static func hint(_ error: RunError, command: (any ParsableCommand)? = nil) -> String? {
        let relabel = command as? RelabelCommand
        let forced = relabel?.forceResume == true
        switch error.code {
        case .outputExists: return "pass --resume to continue it or --overwrite to replace it"
        case .batchesElsewhere where relabel == nil:
            return "leave out --base-url to reach the server recorded for them"
        case .batchesElsewhere:
            return (forced ? "--force-resume does not move batches to another server: " : "batches stay with the server they were submitted to: ")
                + "resume with the --base-url they were submitted to, or choose another --out"
        case .differentRun where forced, .unknownRun where forced:
            return "--force-resume does not cover this: choose another --out, or --overwrite to start it again"
        case .differentRun: return "pass --force-resume to continue anyway (both fingerprints are recorded), or choose another --out"
        case .unknownRun: return "pass --force-resume to continue it anyway, or choose another --out"
        case .damagedOutput: return "choose another --out, or --overwrite to start it again"
        case .limitTooSmall: return "raise --tpm, or lower --items-per-request or --max-tokens"
        case .stopped where error.providerError?.context.setting == .recording:
            // A request nobody recorded: record the missing answers, then the same command replays them.
            return "record the missing answers with --record DIR --record-mode new_episodes against a live provider (for example --provider llamacpp); --fixtures DIR replays them (nothing was marked failed)"
        case .stopped: return "fix the cause, then continue with --resume (nothing was marked failed)"
        case .interrupted: return "continue with --resume"
        default: return nil
        }
    }

    static func hint(_ error: LLMError) -> String? {
        switch error.kind {
        case .configuration where error.context.setting == .model: "pass --model"
        case .configuration where error.context.setting == .fixtures: "pass --fixtures DIR, or record the run there with --record DIR against a live provider (for example --provider llamacpp)"
        case .configuration where error.context.setting == .recording: "record it with --record DIR --record-mode new_episodes against a live provider (for example --provider llamacpp), then replay it with --fixtures DIR"
        case .unavailable where error.context.provider == ProviderID.llamaCpp.name: "start it with scripts/llama-server start, or pass --base-url"
        case .unavailable: "check that the server at --base-url is running"
        default: nil
        }
    }
}
