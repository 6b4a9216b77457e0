// fault-server: the fault-injecting OpenAI-compatible test server as a program, for benchmarks
// and manual runs. Serves on 127.0.0.1 only, on a free port unless --port says otherwise (so
// several can run side by side), and prints `listening on http://127.0.0.1:PORT/v1`. Stops on
// SIGINT/SIGTERM and then writes what it saw as JSON to --counts FILE or stdout.
import Foundation
import TestSupport

let faultNames = FaultServer.Fault.allCases.filter { $0 != .none }.map(\.rawValue).joined(separator: ", ")
let lineFaultNames = FaultServer.BatchFaults.lineFaults.map(\.rawValue).sorted().joined(separator: ", ")
let help = """
    usage: fault-server [OPTIONS]

    An OpenAI-compatible server on 127.0.0.1 that injects faults: /v1/chat/completions (also
    streamed), /v1/files and /v1/batches. It also speaks Anthropic's Messages API
    (/v1/messages, /v1/messages/batches; the 529 fault is its "overloaded") and Gemini's
    (/v1beta/models/MODEL:generateContent): give the providers --base-url http://127.0.0.1:PORT.
    Prints "listening on http://127.0.0.1:PORT/v1"; on SIGINT or SIGTERM writes its counts as
    JSON and exits 0.

    Server
      --port P                  listen on 127.0.0.1:P (default 0: a free port, see the printed URL)
      --seed N                  seed of every random draw: faults, ids, batch order (default 1)
      --latency S               seconds added before every chat answer (default 0)
      --counts FILE             write the counts JSON here at exit (default: stdout)
      --log-bodies FILE         append every chat request body to FILE, one per line
      --models M1,M2            the model lists name these models: GET /v1/models (OpenAI's, or
                                Anthropic's with anthropic-version), GET /v1beta/models (Gemini's)
                                (default: no such routes, 404)
      --models-page-limit N     the longest page of Anthropic's and Gemini's model lists (default 1000)
      --require-key KEY         Anthropic and Gemini routes answer 401 unless the request carries
                                KEY in its header (Authorization: Bearer / x-goog-api-key), not the URL

    Chat faults
      --mix FAULT=W,...         weight of each fault per chat request, adding up to at most 1;
                                the rest is answered well. Faults: \(faultNames)
      --slow-delay S            seconds a `slow` answer takes (default 2)
      --retry-after S           seconds the injected 429s ask the client to wait (default 0.05)
      --endless-max-bytes N     `endless` and streamed `runaway` answers give up after N body bytes
                                (default 268435456) ...
      --endless-max-seconds S   ... or S seconds (default 60), closing the connection

    Streaming ("stream": true in the request)
      --chunk-chars N           characters of content per chunk (default 16)
      --chunk-delay S           seconds between chunks (default 0)

    Rate limits (OpenAI-style: continuous token buckets; 429 rate_limit_exceeded with
    retry-after-ms/retry-after past them; x-ratelimit-* headers on every chat answer)
      --rpm N                   requests per minute
      --tpm N                   tokens per minute; a request costs its estimated prompt tokens
                                (UTF-8 bytes of the message texts / 4, rounded up, plus
                                --tokens-per-message per message) plus max_completion_tokens,
                                else max_tokens, else --default-max-tokens
      --limit-window W          minute: a bucket holds a minute's limit (bursts allowed);
                                second: it holds the per-second share, limit/60 (default minute)
      --default-max-tokens N    (default 4096)
      --tokens-per-message N    (default 4)
      --legacy-limits           --rpm/--tpm as the older sliding 60-second window whose 429s
                                always say "retry after --retry-after"

    Batch API
      --batch-phase-delays V,I,F[,C]
                                seconds spent validating, in progress, finalizing[, cancelling]
                                (default 0.2,1,0.2,0.2)
      --batch-faults LIST       expire=P (a batch expires), expire_batch=N (the N-th batch created
                                expires; repeatable), expire_at=F (share of its lines done
                                by then, default 0.5), fail=P (a valid batch fails validation),
                                line_500=W, line_error=W and per-line content faults
                                (\(lineFaultNames)) =W, e.g. expire=0.5,line_500=0.02,prose=0.01
      --batch-max-lines N       requests per input file (default 50000)
      --batch-max-bytes N       bytes per input file (default 209715200)
      --expired-lines-in-error-file
                                write an expired batch's unfinished lines to its error file
                                as batch_expired errors (default: absent)
      --cancelled-lines-in-error-file
                                write a cancelled batch's lines that did not run to its error
                                file as batch_cancelled errors (default: absent)
      --batch-output-padding N  serve N more bytes of padding lines (no custom_id) after the
                                lines of the first batch's output file, generated as sent
                                (default 0; `endless`: never ends)
      --gemini-responses-file   Gemini batches answer with output.responsesFile (JSON Lines from
                                /v1beta/files/NAME:download?alt=media), not inlined responses

      --help                    this text

    Counts JSON: requests, faults, items, limit_rejections, malformed, streams, rate_limits,
    limit_summary (steady-state shares of the limits, rejection_rate, max excess per second),
    timeline (per second: requests, tokens, rejected), batch (api_requests, files_uploaded,
    bytes_uploaded, batches_created, cancel_requests, statuses, line_outcomes,
    custom_ids_submitted, custom_ids_submitted_more_than_once, custom_ids_answered, submitted,
    answered, errored).
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fault-server: \(message)\n(see fault-server --help)\n".utf8))
    exit(2)
}

var configuration = FaultServer.Configuration()
var port: UInt16 = 0
var countsPath: String?
var rpm: Int?
var tpm: Int?
var limits = FaultServer.RateLimits()
var legacyLimits = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()

@MainActor func value(_ flag: String) -> String {
    guard let value = arguments.next() else { fail("\(flag) needs a value") }
    return value
}
@MainActor func number<T: LosslessStringConvertible & Comparable>(_ flag: String, _: T.Type, minimum: T) -> T {
    let text = value(flag)
    guard let n = T(text), n >= minimum else { fail("\(flag) wants a number >= \(minimum), not '\(text)'") }
    return n
}

while let flag = arguments.next() {
    switch flag {
    case "--help", "-h":
        print(help)
        exit(0)
    case "--port": port = number(flag, UInt16.self, minimum: 0)
    case "--seed": configuration.seed = number(flag, UInt64.self, minimum: 0)
    case "--latency": configuration.latency = number(flag, Double.self, minimum: 0)
    case "--counts": countsPath = value(flag)
    case "--log-bodies": configuration.bodyLog = value(flag)
    case "--models": configuration.models = value(flag).split(separator: ",").map(String.init)
    case "--models-page-limit": configuration.modelsPageLimit = number(flag, Int.self, minimum: 1)
    case "--require-key": configuration.requiredKey = value(flag)
    case "--mix":
        do { configuration.mix = try FaultServer.parseMix(value(flag)) } catch { fail("--mix: \(error)") }
    case "--slow-delay": configuration.slowDelay = number(flag, Double.self, minimum: 0)
    case "--retry-after": configuration.retryAfter = number(flag, Double.self, minimum: 0)
    case "--endless-max-bytes": configuration.endlessMaxBytes = number(flag, Int.self, minimum: 0)
    case "--endless-max-seconds": configuration.endlessMaxSeconds = number(flag, Double.self, minimum: 0)
    case "--chunk-chars": configuration.streamChunkCharacters = number(flag, Int.self, minimum: 1)
    case "--chunk-delay": configuration.chunkDelay = number(flag, Double.self, minimum: 0)
    case "--rpm": rpm = number(flag, Int.self, minimum: 1)
    case "--tpm": tpm = number(flag, Int.self, minimum: 1)
    case "--limit-window":
        let text = value(flag)
        guard let window = FaultServer.RateLimits.Window(rawValue: text) else { fail("--limit-window is minute or second, not '\(text)'") }
        limits.window = window
    case "--default-max-tokens": limits.defaultMaxTokens = number(flag, Int.self, minimum: 0)
    case "--tokens-per-message": limits.tokensPerMessage = number(flag, Int.self, minimum: 0)
    case "--legacy-limits": legacyLimits = true
    case "--batch-phase-delays":
        do {
            let delays = try FaultServer.BatchConfiguration.parseDelays(value(flag))
            configuration.batches.validatingDelay = delays.validating
            configuration.batches.inProgressDelay = delays.inProgress
            configuration.batches.finalizingDelay = delays.finalizing
            if let cancelling = delays.cancelling { configuration.batches.cancellingDelay = cancelling }
        } catch { fail("--batch-phase-delays: \(error)") }
    case "--batch-faults":
        do { configuration.batches.faults = try FaultServer.BatchFaults.parse(value(flag)) } catch { fail("--batch-faults: \(error)") }
    case "--batch-max-lines": configuration.batches.maxLines = number(flag, Int.self, minimum: 1)
    case "--batch-max-bytes": configuration.batches.maxFileBytes = number(flag, Int.self, minimum: 1)
    case "--expired-lines-in-error-file": configuration.batches.expiredLinesInErrorFile = true
    case "--cancelled-lines-in-error-file": configuration.batches.cancelledLinesInErrorFile = true
    case "--gemini-responses-file": configuration.batches.geminiResponsesFile = true
    case "--batch-output-padding":
        let text = value(flag)
        if text == "endless" { configuration.batches.outputPaddingBytes = .max } else {
            guard let n = Int(text), n >= 0 else { fail("--batch-output-padding is a byte count or endless, not '\(text)'") }
            configuration.batches.outputPaddingBytes = n
        }
    default:
        fail("unknown option '\(flag)'")
    }
}
if legacyLimits {
    configuration.requestsPerMinute = rpm
    configuration.tokensPerMinute = tpm
} else if rpm != nil || tpm != nil {
    limits.requestsPerMinute = rpm
    limits.tokensPerMinute = tpm
    configuration.rateLimits = limits
}

let server: FaultServer
do { server = try FaultServer(configuration, port: port) } catch {
    FileHandle.standardError.write(Data("fault-server: \(error)\n".utf8))
    exit(1)
}
FileHandle.standardOutput.write(Data("listening on \(server.baseURL)\n".utf8))

signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let stopSignals = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in stopSignals {
    source.setEventHandler {
        server.stop()
        let json = server.counts.json + "\n"
        if let countsPath {
            do { try json.write(toFile: countsPath, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("fault-server: cannot write \(countsPath): \(error)\n".utf8))
                exit(1)
            }
        } else {
            FileHandle.standardOutput.write(Data(json.utf8))
        }
        exit(0)
    }
    source.resume()
}
dispatchMain()
