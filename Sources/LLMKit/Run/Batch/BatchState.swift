import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// What a `--batch-api` run has submitted, kept beside its journal as `<out>.batches.json`
/// (written atomically and synced, folder included, at every step): each input file's
/// requests (custom_id → item ids), its file id once uploaded, its batch id once created,
/// whether its results are in the journal; and the requests waiting for the next wave
/// (re-asks, splits, retries, an expired batch's remainder).
///
/// A request's plan is written before its file is uploaded, a file id before its batch is
/// created, a batch id before it is polled; a resumed run reattaches to the batches in flight
/// (looking up, by input file, a batch created just before a kill) and never creates a second
/// batch over the same requests.
package struct BatchState: Sendable, Equatable {
    /// The `format` value.
    package static let formatName = "llmkit-batches/1"

    /// One request of an input file.
    package struct Request: Sendable, Equatable {
        package var customID: String
        /// The batch's items, in order (index 1 is the first id).
        package var ids: [String]
        /// 0 for a first ask, 1... for re-asks of missing or invalid items.
        package var round: Int
        /// Times the request was asked again after a transient error line.
        package var retries: Int
        /// Times it was submitted again after its batch expired before running it.
        package var expiries: Int
    }

    /// One input file and the batch made of it.
    package struct File: Sendable, Equatable {
        /// `w<wave>-f<n>`, unique within the run.
        package var name: String
        /// Files of one wave are submitted together; the next wave holds their follow-ups.
        package var wave: Int
        package var requests: [Request]
        package var fileID: String?
        package var batchID: String?
        /// The last status seen.
        package var status: String?
        /// The results are in the journal (and the follow-ups in ``BatchState/followUps``).
        package var collected: Bool
        package var bytes: Int
    }

    /// A request waiting for the next wave; `order` sorts them the same way in every run.
    package struct FollowUp: Sendable, Equatable {
        package var ids: [String]
        package var round: Int
        package var retries: Int
        package var expiries: Int
        /// The custom_id to send again (an expired batch's remainder), else a new one.
        package var customID: String?
        package var order: Int
    }

    package var baseURL: String
    /// The run whose batches these are: the hash of its journal fingerprint (`nil` in a state
    /// written before it was recorded). A resume whose fingerprint differs did not submit them.
    package var run: String?
    /// The number of the next new custom_id.
    package var nextRequest: Int
    package var files: [File]
    package var followUps: [FollowUp]

    package init(baseURL: String, run: String? = nil) {
        self.baseURL = baseURL
        self.run = run
        nextRequest = 1
        files = []
        followUps = []
    }

    /// The state file of an output.
    package static func path(forOutput output: String) -> String { output + ".batches.json" }
    /// The folder a run downloads its batches' result files to (emptied as they are collected).
    package static func downloadFolder(forOutput output: String) -> String { output + ".batches" }

    /// The lowest wave with a file not yet collected.
    var openWave: Int? { files.filter { !$0.collected }.map(\.wave).min() }
    /// The wave after every planned one.
    var nextWave: Int { (files.map(\.wave).max() ?? -1) + 1 }

    /// Ids in files not yet collected and in follow-ups.
    var pendingIDs: Set<String> {
        var ids = Set<String>()
        for file in files where !file.collected { for request in file.requests { ids.formUnion(request.ids) } }
        for followUp in followUps { ids.formUnion(followUp.ids) }
        return ids
    }

    /// A new custom_id.
    mutating func newCustomID() -> String {
        defer { nextRequest += 1 }
        let digits = String(nextRequest)
        return "r" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }
}

extension BatchState {
    /// The state as JSON.
    package var json: JSONValue {
        func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        let files: [JSONValue] = self.files.map { f in
            ["name": .string(f.name), "wave": .int(f.wave), "file_id": optional(f.fileID), "batch_id": optional(f.batchID),
             "status": optional(f.status), "collected": .bool(f.collected), "bytes": .int(f.bytes),
             "requests": .array(f.requests.map { r in
                 ["custom_id": .string(r.customID), "ids": .array(r.ids.map(JSONValue.string)), "round": .int(r.round),
                  "retries": .int(r.retries), "expiries": .int(r.expiries)]
             })]
        }
        let followUps: [JSONValue] = self.followUps.map { u in
            ["ids": .array(u.ids.map(JSONValue.string)), "round": .int(u.round), "retries": .int(u.retries), "expiries": .int(u.expiries),
             "custom_id": optional(u.customID), "order": .int(u.order)]
        }
        var object: JSONObject = ["format": .string(Self.formatName), "base_url": .string(baseURL), "next_request": .int(nextRequest),
                                  "files": .array(files), "follow_ups": .array(followUps)]
        if let run { object["run"] = .string(run) }
        return .object(object)
    }

    /// Reads a state file; throws ``RunError`` `.damagedOutput` naming the file and the field.
    package static func load(path: String) throws(RunError) -> BatchState {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RunError(.damagedOutput, file: path, "cannot read the batch state (\(error.localizedDescription))")
        }
        func bad(_ field: String) -> RunError { RunError(.damagedOutput, file: path, "field '\(field)' is missing or mistyped; the batch state cannot be read") }
        let value: JSONValue
        do { value = try StrictJSON.parse(text) } catch { throw RunError(.damagedOutput, file: path, "not JSON (\(error))") }
        guard value["format"]?.stringValue == formatName else { throw bad("format") }
        guard let base = value["base_url"]?.stringValue else { throw bad("base_url") }
        guard let next = value["next_request"]?.intValue else { throw bad("next_request") }
        var state = BatchState(baseURL: base, run: value["run"]?.stringValue)
        state.nextRequest = next
        for (i, f) in (value["files"]?.arrayValue ?? []).enumerated() {
            guard let name = f["name"]?.stringValue, let wave = f["wave"]?.intValue, let collected = f["collected"]?.boolValue,
                  let requests = f["requests"]?.arrayValue else { throw bad("files[\(i)]") }
            var file = File(name: name, wave: wave, requests: [], fileID: f["file_id"]?.stringValue, batchID: f["batch_id"]?.stringValue,
                            status: f["status"]?.stringValue, collected: collected, bytes: f["bytes"]?.intValue ?? 0)
            for (j, r) in requests.enumerated() {
                guard let id = r["custom_id"]?.stringValue, let ids = r["ids"]?.arrayValue?.compactMap(\.stringValue),
                      let round = r["round"]?.intValue else { throw bad("files[\(i)].requests[\(j)]") }
                file.requests.append(Request(customID: id, ids: ids, round: round, retries: r["retries"]?.intValue ?? 0,
                                             expiries: r["expiries"]?.intValue ?? 0))
            }
            state.files.append(file)
        }
        for (i, u) in (value["follow_ups"]?.arrayValue ?? []).enumerated() {
            guard let ids = u["ids"]?.arrayValue?.compactMap(\.stringValue), let round = u["round"]?.intValue,
                  let order = u["order"]?.intValue else { throw bad("follow_ups[\(i)]") }
            state.followUps.append(FollowUp(ids: ids, round: round, retries: u["retries"]?.intValue ?? 0, expiries: u["expiries"]?.intValue ?? 0,
                                            customID: u["custom_id"]?.stringValue, order: order))
        }
        return state
    }

    /// Writes the state atomically and durably: a temporary file, synced, renamed over `path`,
    /// then the folder synced so the rename survives a power loss (``AtomicFileWriter``).
    package func save(path: String) throws(RunError) {
        do { try AtomicFileWriter.write(json.description, to: path) } catch { throw RunError(.cannotWrite, file: path, error.reason) }
    }
}
