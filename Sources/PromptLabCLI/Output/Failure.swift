import ArgumentParser
import LLMKit

/// A library error as the command line shows it: one line, the cause, and what to do about it
/// in terms of this tool's flags (library messages name no flags), with the exit status.
struct Failure {
    var message: String
    var status: Int32

    /// `nil` for the errors ArgumentParser reports itself (usage errors, exit codes).
    init?(_ error: any Error) {
        switch error {
        case let run as RunError:
            message = "Error: \(run.description)" + (Self.hint(run).map { "; \($0)" } ?? "")
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

    static func hint(_ error: RunError) -> String? {
        switch error.code {
        case .outputExists: "pass --resume to continue it or --overwrite to replace it"
        case .differentRun: "pass --force-resume to continue anyway (both fingerprints are recorded), or choose another --out"
        case .unknownRun: "pass --force-resume to continue it anyway, or choose another --out"
        case .damagedOutput: "choose another --out, or --overwrite to start it again"
        case .limitTooSmall: "raise --tpm, or lower --batch-size or --max-tokens"
        case .stopped: "fix the cause, then continue with --resume (nothing was marked failed)"
        case .interrupted: "continue with --resume"
        default: nil
        }
    }

    static func hint(_ error: LLMError) -> String? {
        switch error.kind {
        case .configuration where error.context.setting == "model": "pass --model"
        case .configuration where error.context.setting == "fixtures": "pass --fixtures DIR"
        case .configuration where error.context.setting == "recording": "record it with --record DIR against a live provider (see the README's 'Recordings')"
        case .unavailable where error.context.provider == "llamacpp": "start it with scripts/llama-server start, or pass --base-url"
        case .unavailable: "check that the server at --base-url is running"
        default: nil
        }
    }
}
