public import Foundation
public import LLMKit
import Synchronization

/// How recordings are used (the modes of vcrpy-style tools, REFERENCE.md section 6).
public enum RecordMode: String, Sendable, CaseIterable {
    /// Replay only; a request with no recording is an error naming it and the closest recording.
    case none
    /// Record everything when the folder has no recordings yet; otherwise replay only.
    case once
    /// Replay what is recorded, record what is new.
    case newEpisodes = "new_episodes"
    /// Always call the provider and record, replacing earlier recordings of the same request.
    case all
}

/// A folder of recorded provider answers, one file per canonical request hash.
///
/// File `DIR/<sha256>.json` (pretty JSON, stable key order, diff-friendly):
///
///     {
///       "format": "llmkit-fixture/1",
///       "key": "<sha256 of the canonical request>",
///       "request": { ...the canonical request: model, messages, response_schema, temperature, seed... },
///       "interactions": [
///         {"provider": "llamacpp", "recorded_at": "2026-11-28T23:10:00Z",
///          "status": 200, "headers": {"x-request-id": "..."}, "body": "<the HTTP body, byte for byte>"}
///       ]
///     }
///
/// Only the headers in ``CompletionResponse/keptHeaderNames`` are written (request ids, retry
/// and rate-limit headers): never `Authorization`, organisation headers or cookies, and the
/// canonical request holds no secrets. Several interactions replay in order (an error, then the
/// retried success); the last one repeats.
public final class FixtureStore: Sendable {
    public static let formatName = "llmkit-fixture/1"
    public let directory: URL
    /// Who answered the recordings this store writes and replays (``LLMProvider/identity``):
    /// with one, a request's file is `<sha256>-<12 hex of the identity's hash>.json`, so two
    /// servers' answers to one request are separate recordings. A store without one (the
    /// `fixture` provider) reads `<sha256>.json`, else the first `<sha256>-*.json`.
    public let identity: String?
    private struct State {
        var replayed: [String: Int] = [:]
        var recordedThisRun: Set<String> = []
    }
    private let state = Mutex(State())

    public init(directory: URL, identity: String? = nil) {
        self.directory = directory
        self.identity = identity
    }

    /// One recorded HTTP answer.
    public struct Interaction: Sendable, Equatable {
        public var provider: String
        public var recordedAt: String
        public var raw: RawResponse
    }

    /// The file this store writes for a request hash.
    public func file(for key: String) -> URL {
        directory.appendingPathComponent(identity.map { "\(key)-\(CompletionRequest.sha256Hex($0).prefix(12)).json" } ?? "\(key).json")
    }

    /// The file this store reads for a request hash: its own, or (without an identity) the
    /// recording of any identity.
    func existingFile(for key: String) -> URL? {
        let own = file(for: key)
        if FileManager.default.fileExists(atPath: own.path) { return own }
        guard identity == nil else { return nil }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(key + "-") && $0.hasSuffix(".json") }.sorted().first.map { directory.appendingPathComponent($0) }
    }

    /// Whether the folder holds any recording.
    public var isEmpty: Bool {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return !files.contains { $0.hasSuffix(".json") }
    }

    /// Every recording's key and canonical request.
    public func recordedRequests() -> [(key: String, request: JSONValue)] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
                  let value = try? StrictJSON.parse(String(decoding: data, as: UTF8.self)),
                  let key = value["key"]?.stringValue, let request = value["request"] else { return nil }
            return (key, request)
        }
    }

    /// The recorded interactions for `key`, or `nil` when there is no recording.
    public func interactions(for key: String) throws(LLMError) -> [Interaction]? {
        guard let url = existingFile(for: key), let data = FileManager.default.contents(atPath: url.path) else { return nil }
        func broken(_ why: String) -> LLMError { LLMError(.configuration, "The recording \(url.path) is unusable: \(why).") }
        let value: JSONValue
        do { value = try StrictJSON.parse(String(decoding: data, as: UTF8.self)) } catch { throw broken(error.description) }
        guard value["format"]?.stringValue == Self.formatName else { throw broken("'format' is not \(Self.formatName)") }
        guard let list = value["interactions"]?.arrayValue, !list.isEmpty else { throw broken("no interactions") }
        var result: [Interaction] = []
        for (i, item) in list.enumerated() {
            guard let status = item["status"]?.intValue, let body = item["body"]?.stringValue else { throw broken("interaction \(i) lacks status or body") }
            var headers: [String: String] = [:]
            for (name, v) in item["headers"]?.objectValue ?? JSONObject() { headers[name] = v.stringValue }
            result.append(Interaction(provider: item["provider"]?.stringValue ?? "", recordedAt: item["recorded_at"]?.stringValue ?? "",
                                      raw: RawResponse(status: status, headers: headers, body: body)))
        }
        return result
    }

    /// Replays the next recorded answer for `request` (decoded as the live provider would), or
    /// returns `nil` when nothing is recorded for it.
    public func replay(_ request: CompletionRequest) throws -> CompletionResponse? {
        let key = request.canonicalHash
        guard let interactions = try interactions(for: key) else { return nil }
        let index = state.withLock { s -> Int in
            let i = s.replayed[key, default: 0]
            s.replayed[key] = i + 1
            return min(i, interactions.count - 1)
        }
        let interaction = interactions[index]
        let http = HTTPResponse(status: interaction.raw.status, headers: interaction.raw.headers, body: Array(interaction.raw.body.utf8))
        let provider = interaction.provider.isEmpty ? "fixture" : interaction.provider
        // A next-token request was answered by `/completion` or a chat completion with logprobs.
        if request.topTokens != nil { return try NextTokenWire.decode(http, provider: provider, model: request.model) }
        // The recorded body is in the wire format of the provider that answered.
        switch provider {
        case ProviderID.anthropic.name: return try AnthropicWire.decode(http, provider: provider, model: request.model)
        case ProviderID.gemini.name: return try GeminiWire.decode(http, provider: provider, model: request.model)
        default: return try ChatCompletionsWire.decode(http, provider: provider, model: request.model)
        }
    }

    /// ``replay(_:)`` on the I/O pool (files are read off the cooperative threads).
    public func replayOffPool(_ request: CompletionRequest) async throws -> CompletionResponse? {
        try await BlockingIOPool.shared.run { try self.replay(request) }
    }

    /// ``record(_:raw:provider:)`` on the I/O pool.
    public func recordOffPool(_ request: CompletionRequest, raw: RawResponse, provider: String) async throws {
        try await BlockingIOPool.shared.run { try self.record(request, raw: raw, provider: provider) }
    }

    /// ``put(_:raw:provider:)`` on the I/O pool.
    public func putOffPool(_ request: CompletionRequest, raw: RawResponse, provider: String) async throws {
        try await BlockingIOPool.shared.run { try self.put(request, raw: raw, provider: provider) }
    }

    /// The model of the recorded requests, when they all name the same one.
    public func recordedModel() -> String? {
        let models = Set(recordedRequests().compactMap { $0.request["model"]?.stringValue })
        return models.count == 1 ? models.first : nil
    }

    /// Records one answer for `request`. The first recording of a key in this run replaces the
    /// file (mode `all`); later ones in the same run are appended (an error, then its retry).
    public func record(_ request: CompletionRequest, raw: RawResponse, provider: String) throws(LLMError) {
        let key = request.canonicalHash
        try state.withLock { s throws(LLMError) in
            let first = s.recordedThisRun.insert(key).inserted
            var interactions = first ? [] : ((try? interactions(for: key)) ?? nil) ?? []
            let stamp = ISO8601DateFormatter().string(from: Date())
            interactions.append(Interaction(provider: provider, recordedAt: stamp, raw: raw))
            try write(key: key, request: request, interactions: interactions)
        }
    }

    /// Stores a single answer for `request`, replacing any earlier one, without the store's lock
    /// or an fsync: for the response cache, where each key is written once and speed matters.
    public func put(_ request: CompletionRequest, raw: RawResponse, provider: String) throws(LLMError) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        try write(key: request.canonicalHash, request: request, interactions: [Interaction(provider: provider, recordedAt: stamp, raw: raw)], sync: false)
    }

    private func write(key: String, request: CompletionRequest, interactions: [Interaction], sync: Bool = true) throws(LLMError) {
        var object = JSONObject()
        object["format"] = .string(Self.formatName)
        object["key"] = .string(key)
        if let identity { object["identity"] = .string(identity) }
        object["request"] = Self.sorted(request.canonicalJSON)
        object["interactions"] = .array(interactions.map { i in
            var o = JSONObject()
            o["provider"] = .string(i.provider)
            o["recorded_at"] = .string(i.recordedAt)
            o["status"] = .int(i.raw.status)
            o["headers"] = .object(JSONObject(i.raw.headers.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
            o["body"] = .string(i.raw.body)
            return .object(o)
        })
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let writer = try AtomicFileWriter(path: file(for: key).path, sync: sync)
            try writer.writeLine(JSONSerializer.string(.object(object), style: .pretty))
            try writer.commit()
        } catch {
            throw LLMError(.configuration, "Cannot write the recording for \(key) in \(directory.path): \(error).")
        }
    }

    /// The value with object keys sorted at every level, for stable files.
    static func sorted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o): .object(JSONObject(o.keys.sorted().map { ($0, sorted(o[$0]!)) }))
        case .array(let a): .array(a.map(sorted))
        default: value
        }
    }

    /// The error for a request with no recording: names its key and the closest recorded request.
    public func missError(for request: CompletionRequest) -> LLMError {
        let key = request.canonicalHash
        let wanted = request.canonicalJSON
        var message = "No recording for request \(key.prefix(12)) (model \(request.model), \(request.messages.count) messages) in \(directory.path)"
        let candidates = recordedRequests()
        if candidates.isEmpty {
            message += "; the folder has no recordings."
        } else {
            let scored = candidates.map { c in (c.key, Self.firstDifference(wanted, c.request, at: "")) }
            let best = scored.max { ($0.1?.depth ?? .max) < ($1.1?.depth ?? .max) }!
            message += "; the closest recording is \(best.0.prefix(12)), which differs at \(best.1?.path ?? "(nothing)")."
        }
        return LLMError(.configuration, message, context: .init(provider: "fixture", model: request.model, setting: .recording))
    }

    /// Where two JSON values first differ, and how deep (a deeper difference means a closer match).
    static func firstDifference(_ a: JSONValue, _ b: JSONValue, at path: String) -> (path: String, depth: Int)? {
        if a == b { return nil }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for key in Set(x.keys).union(y.keys).sorted() {
                guard let u = x[key], let v = y[key] else { return (path + "/" + key, path.split(separator: "/").count + 1) }
                if let d = firstDifference(u, v, at: path + "/" + key) { return d }
            }
        case (.array(let x), .array(let y)):
            for i in 0..<max(x.count, y.count) {
                guard i < x.count, i < y.count else { return ("\(path)/\(i)", path.split(separator: "/").count + 1) }
                if let d = firstDifference(x[i], y[i], at: "\(path)/\(i)") { return d }
            }
        case (.string(let x), .string(let y)):
            let common = zip(x, y).prefix { $0 == $1 }.count
            return ("\(path) (character \(common))", path.split(separator: "/").count * 100_000 + common)
        default:
            break
        }
        return (path, path.split(separator: "/").count)
    }
}
