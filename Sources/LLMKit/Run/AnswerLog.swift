#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Synchronization

/// Every answer a run pays for, written down before the run does anything else with it, so
/// a kill at any moment never makes the run pay for the same answer twice: `OUT.answers`
/// next to the output, one JSON line per answer, keyed by the canonical request hash.
///
/// The journal only holds an item once its whole chunk is decided; until then an answer lives
/// in memory (its invalid items are re-asked, its halves asked, or an earlier chunk is still
/// on its way so the lines can go out in input order). Without this log a kill then loses
/// answers that were paid for, and `--resume` asks them again; with the response cache off
/// (`--no-cache`), or for answers the cache never keeps (cut off, refused), nothing else held
/// them. A resumed run answers such requests from the log (as cache hits: no attempt, no
/// tokens). The log is removed when the run completes, emptied when an output is started
/// afresh or resumed with other settings.
///
/// Writes go straight to the page cache (`write` on an `O_APPEND` descriptor, off the
/// cooperative threads): that survives a kill of the process; a power loss may cost the
/// answers not yet synced, never a journal line.
final class AnswerLog: Sendable {
    /// The log of the output at `output`.
    static func path(forOutput output: String) -> String { output + ".answers" }

    /// The header line's `answers` value.
    static let formatName = "llmkit-answers/1"

    let path: String
    private let fd: Int32
    private struct Entry { var offset: Int; var length: Int }
    private struct State {
        var index: [String: Entry] = [:]
        var size = 0
        var written = 0
        var failed = false
    }
    private let state: Mutex<State>
    private let io: BlockingIOPool

    /// Opens (or creates) the log of `output`; `fresh` empties it first. A line cut off by a
    /// kill, or one that is not an answer, is left out of the index (and a torn end cut off).
    static func open(output: String, fresh: Bool, io: BlockingIOPool) async throws(RunError) -> AnswerLog {
        let path = Self.path(forOutput: output)
        return try await io.run({ () throws(RunError) -> AnswerLog in
            let fd = Glibc.open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0o644)
            guard fd >= 0 else { throw RunError(.cannotWrite, file: path, "cannot open the answer log (\(String(cString: strerror(errno))))") }
            var state = State()
            Self.scan(path: path, fd: fd, into: &state)
            return AnswerLog(path: path, fd: fd, state: state, io: io)
        })
    }

    private init(path: String, fd: Int32, state: State, io: BlockingIOPool) {
        self.path = path
        self.fd = fd
        self.state = Mutex(state)
        self.io = io
    }

    /// Indexes the whole lines of the file, streaming it with the journal's ``LineReader``,
    /// and cuts off a torn end (a line without its newline, or bytes that are not text).
    private static func scan(path: String, fd: Int32, into state: inout State) {
        guard let reader = try? LineReader(path: path) else { return }
        var end = 0
        while let line = try? reader.nextLine(), !reader.lastLineWasUnterminated {
            var text = line
            if let key = text.withUTF8({ FastJSON.parse($0) })?["key"]?.stringValue {
                state.index[key] = Entry(offset: reader.lastLineOffset, length: reader.lastLineByteCount - 1)
            }
            end = reader.lastLineOffset + reader.lastLineByteCount
        }
        var info = stat()
        if fstat(fd, &info) == 0, Int(info.st_size) > end { _ = ftruncate(fd, off_t(end)) }
        state.size = end
    }

    /// Answers recorded (found on opening, and written since).
    var count: Int { state.withLock { $0.index.count } }

    /// Answers written by this run.
    var written: Int { state.withLock { $0.written } }

    /// The recorded answer for the request with canonical hash `key`, if any.
    func answer(for key: String) async -> CompletionResponse? {
        guard let entry = state.withLock({ $0.index[key] }) else { return nil }
        let fd = self.fd
        return await io.run { () -> CompletionResponse? in
            var bytes = [UInt8](repeating: 0, count: entry.length)
            let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(entry.offset)) }
            guard read == entry.length, let value = bytes.withUnsafeBufferPointer({ FastJSON.parse($0) }) else { return nil }
            return Self.response(from: value)
        }
    }

    /// Writes `response` down as the answer to the request with canonical hash `key`. A
    /// failed write is remembered (``failed``) and later answers are not written; the run
    /// goes on (the log saves money, it holds no result).
    func record(_ response: CompletionResponse, key: String) async {
        guard !state.withLock({ $0.failed }) else { return }
        var line: [UInt8] = []
        JSONSerializer.append(Self.json(response, key: key), to: &line)
        line.append(0x0A)
        let fd = self.fd, bytes = line
        await io.run { [self] in
            // Under the lock, so the index's offset is exactly where the line lands.
            self.state.withLock { s in
                guard !s.failed else { return }
                guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
                    s.failed = true
                    return
                }
                s.index[key] = Entry(offset: s.size, length: bytes.count - 1)
                s.size += bytes.count
                s.written += 1
            }
        }
    }

    /// Whether a write failed (the answers after it were not logged).
    var failed: Bool { state.withLock { $0.failed } }

    /// Closes the log; `remove` deletes it (the run is complete: nothing will be asked again).
    func close(remove: Bool) async {
        let fd = self.fd, path = self.path
        await io.run {
            Glibc.close(fd)
            if remove { unlink(path) }
        }
    }

    static func json(_ response: CompletionResponse, key: String) -> JSONValue {
        var object: JSONObject = ["answers": .string(formatName), "key": .string(key), "finish_reason": .string(response.finishReason.description)]
        if let text = response.text { object["text"] = .string(text) }
        if let refusal = response.refusal { object["refusal"] = .string(refusal) }
        if let model = response.model { object["model"] = .string(model) }
        if let usage = response.usage {
            object["usage"] = ["prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens),
                               "cached_tokens": .int(usage.cachedTokens)]
        }
        if response.bodyWasInvalidUTF8 { object["invalid_utf8"] = .bool(true) }
        // A next-token answer (the logprob method's) is its candidates: kept, or a replay has nothing.
        if let tokens = response.nextTokens {
            object["next_tokens"] = .array(tokens.map { ["token": .string($0.token), "logprob": .double($0.logprob)] })
        }
        return .object(object)
    }

    static func response(from value: JSONValue) -> CompletionResponse? {
        guard value["answers"]?.stringValue == formatName, let finish = value["finish_reason"]?.stringValue else { return nil }
        let usage = value["usage"].map {
            TokenUsage(promptTokens: $0["prompt_tokens"]?.intValue ?? 0, completionTokens: $0["completion_tokens"]?.intValue ?? 0,
                       cachedTokens: $0["cached_tokens"]?.intValue ?? 0)
        }
        var response = CompletionResponse(text: value["text"]?.stringValue, finishReason: FinishReason(finish), refusal: value["refusal"]?.stringValue,
                                          usage: usage, model: value["model"]?.stringValue, attempts: 0)
        response.bodyWasInvalidUTF8 = value["invalid_utf8"]?.boolValue ?? false
        if let tokens = value["next_tokens"]?.arrayValue {
            response.nextTokens = tokens.compactMap { t in
                guard let token = t["token"]?.stringValue, let logprob = t["logprob"]?.doubleValue else { return nil }
                return TokenProbability(token: token, logprob: logprob)
            }
        }
        response.servedFromCache = true
        return response
    }
}
