import Foundation
import LLMKit
import Synchronization

/// Watches a streamed chat completion (server-sent events) as it arrives: counts the content
/// pieces (one token each, as llama.cpp and OpenAI send them), reports progress to the
/// request's ``RequestObserver`` about ten times a second, and stops the transfer when the
/// answer runs away: more tokens than the request's budget, or the root JSON object of the
/// answer closed and text keeps coming after it.
final class StreamMonitor: Sendable {
    /// Why the monitor stopped the transfer.
    enum Stop: Sendable, Equatable {
        /// More content tokens than the budget.
        case budget
        /// The answer's root object was complete and more text followed.
        case afterRoot
    }

    private struct State {
        var pending: [UInt8] = []
        var tokens = 0
        var depth = 0
        var inString = false
        var escaped = false
        var rootClosed = false
        var trailing = 0
        var stop: Stop?
        var lastReport = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let budget: Int?
    private let observer: RequestObserver?
    /// Non-whitespace characters allowed after the root object before the stream is cut.
    static let trailingAllowance = 64

    init(budget: Int?, observer: RequestObserver?) {
        self.budget = budget
        self.observer = observer
    }

    var stop: Stop? { state.withLock { $0.stop } }
    var tokens: Int { state.withLock { $0.tokens } }

    /// Takes one piece of the body; `.stop` cuts the transfer.
    func receive(_ piece: UnsafeRawBufferPointer) -> BodyVerdict {
        let (verdict, report) = state.withLock { s -> (BodyVerdict, Int?) in
            s.pending.append(contentsOf: piece)
            while let newline = s.pending.firstIndex(of: 0x0A) {
                let line = Array(s.pending[..<newline])
                s.pending.removeSubrange(...newline)
                Self.take(line: line, state: &s, budget: budget)
                if s.stop != nil { return (.stop, s.tokens) }
            }
            let now = ContinuousClock.now
            guard now - s.lastReport >= .milliseconds(100) else { return (.continue, nil) }
            s.lastReport = now
            return (.continue, s.tokens)
        }
        if let report { observer?.receivedTokens(report) }
        return verdict
    }

    private static func take(line: [UInt8], state s: inout State, budget: Int?) {
        guard line.starts(with: Array("data:".utf8)) else { return }
        let payload = String(decoding: line.dropFirst(5), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard payload != "[DONE]", let chunk = try? StrictJSON.parse(payload),
              let delta = chunk["choices"]?.arrayValue?.first?["delta"], let content = delta["content"]?.stringValue, !content.isEmpty
        else { return }
        s.tokens += 1
        if let budget, s.tokens > budget { s.stop = .budget; return }
        for byte in content.utf8 { scan(byte, &s) }
        if s.rootClosed && s.trailing > trailingAllowance { s.stop = .afterRoot }
    }

    /// Follows the answer's JSON nesting byte by byte (strings and escapes included). The root
    /// is the first `{` (an answer is an object), so brackets in text before it ("see [1]")
    /// neither open nor close it.
    private static func scan(_ byte: UInt8, _ s: inout State) {
        if s.rootClosed {
            if !(byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09) { s.trailing += 1 }
            return
        }
        if s.inString {
            if s.escaped { s.escaped = false } else if byte == UInt8(ascii: "\\") { s.escaped = true } else if byte == UInt8(ascii: "\"") { s.inString = false }
            return
        }
        switch byte {
        case UInt8(ascii: "\""): if s.depth > 0 { s.inString = true }
        case UInt8(ascii: "{"): s.depth += 1
        case UInt8(ascii: "["): if s.depth > 0 { s.depth += 1 }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            guard s.depth > 0 else { break }
            s.depth -= 1
            if s.depth == 0 { s.rootClosed = true }
        default: break
        }
    }
}
