import Foundation
import LLMKit
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Where a streamed download goes: a file written piece by piece from the transport's thread
/// (``HTTPRequest/onBody``), so a result file of any size costs one buffer, not its size.
final class DownloadSink: Sendable {
    private struct State {
        var fd: Int32
        var written = 0
        var failure: String?
    }
    let path: String
    private let state: Mutex<State>

    /// Creates (or truncates) `path`.
    init(path: String) throws(LLMError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LLMError(.configuration, "Cannot create \(path) for a download (\(String(cString: strerror(errno)))).", context: .init(provider: "openai"))
        }
        self.path = path
        state = Mutex(State(fd: fd))
    }

    /// Writes one piece; a write error stops the transfer.
    func write(_ piece: UnsafeRawBufferPointer) -> BodyVerdict {
        state.withLock { s -> BodyVerdict in
            guard s.failure == nil, s.fd >= 0, let base = piece.baseAddress else { return s.failure == nil ? .continue : .stop }
            var offset = 0
            while offset < piece.count {
                let n = systemWrite(s.fd, base + offset, piece.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    s.failure = String(cString: strerror(errno))
                    return .stop
                }
                offset += n
            }
            s.written += piece.count
            return .continue
        }
    }

    /// Bytes written so far.
    var written: Int { state.withLock { $0.written } }

    /// Closes the file; returns the write error, if there was one.
    func finish() -> String? {
        state.withLock { s -> String? in
            if s.fd >= 0 {
                if close(s.fd) != 0 && s.failure == nil { s.failure = String(cString: strerror(errno)) }
                s.fd = -1
            }
            return s.failure
        }
    }

    /// The first `count` bytes of the file (after ``finish()``).
    func prefix(_ count: Int) -> [UInt8] {
        _ = finish()
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return Array((try? handle.read(upToCount: count)) ?? Data())
    }

    /// Closes and removes the file.
    func discard() {
        _ = finish()
        unlink(path)
    }
}

extension DownloadSink {
    /// Streams `GET url` to `path` (created or truncated), never holding it whole; returns its
    /// size. More than `maximumBytes` fails with `.responseTooLarge` while it arrives; an error
    /// status throws what `error` makes of the answer (its body's first 64 KiB as text); on any
    /// error the partial file is removed.
    static func download(from url: String, headers: [(name: String, value: String)], transport: any HTTPTransport, timeout: Duration,
                         maximumBytes: Int, to path: String, what: String, provider: String,
                         error: (HTTPResponse, String) -> LLMError) async throws(LLMError) -> Int {
        let sink = try DownloadSink(path: path)
        let request = HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout, maximumResponseBytes: maximumBytes,
                                  onBody: { sink.write($0) }, retainsBody: false)
        let response: HTTPResponse
        do {
            response = try await LLMError.wrapping(provider: provider) { try await transport.send(request) }
        } catch {
            sink.discard()
            throw error
        }
        if let failure = sink.finish() {
            sink.discard()
            throw LLMError(.configuration, "Cannot write the download of \(what) to \(path) (\(failure)).", context: .init(provider: provider))
        }
        guard (200..<300).contains(response.status) else {
            // An error's body is small JSON: read its start back for the message.
            let text = String(decoding: sink.prefix(64 << 10), as: UTF8.self)
            sink.discard()
            throw error(response, text)
        }
        return sink.written
    }
}

/// `write(2)` (a file-scope name: inside ``DownloadSink`` `write` is its own method).
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }
