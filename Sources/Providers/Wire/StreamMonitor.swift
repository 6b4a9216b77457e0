import Foundation
import LLMKit
import Synchronization

/// Watches a streamed chat completion (server-sent events) as it arrives: decodes each line
/// once (``StreamDecoder``, whose result is the answer: the body is not parsed again), counts
/// the content pieces (one token each, as llama.cpp and OpenAI send them), reports progress to
/// the request's ``RequestObserver`` about ten times a second, and stops the transfer when the
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
        /// The answer so far, from every whole line received.
        var decoder = StreamDecoder()
        /// Bytes received.
        var received = 0
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

    /// The stream decoded as it arrived, when the monitor received all `bytes` of the body
    /// (`nil` otherwise: a transport that did not hand every piece to the receiver).
    func decoded(bodyBytes bytes: Int) -> StreamDecoder? {
        state.withLock { $0.received == bytes ? $0.decoder : nil }
    }

    /// Takes one piece of the body; `.stop` cuts the transfer. Every whole line of the piece is
    /// decoded, those after a stop included: the answer is what arrived.
    func receive(_ piece: UnsafeRawBufferPointer) -> BodyVerdict {
        let (verdict, report) = state.withLock { s -> (BodyVerdict, Int?) in
            s.pending.append(contentsOf: piece)
            s.received += piece.count
            var start = s.pending.startIndex
            while let newline = s.pending[start...].firstIndex(of: 0x0A) {
                let content = s.decoder.take(line: s.pending[start..<newline])
                start = newline + 1
                if s.stop == nil, let content, !content.isEmpty { Self.count(content, state: &s, budget: budget) }
            }
            s.pending.removeSubrange(..<start)
            if s.stop != nil { return (.stop, s.tokens) }
            let now = ContinuousClock.now
            guard now - s.lastReport >= .milliseconds(100) else { return (.continue, nil) }
            s.lastReport = now
            return (.continue, s.tokens)
        }
        if let report { observer?.receivedTokens(report) }
        return verdict
    }

    /// Counts one content piece and follows the answer's nesting through it.
    private static func count(_ content: String, state s: inout State, budget: Int?) {
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
