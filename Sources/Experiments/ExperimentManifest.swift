import Foundation
public import LLMKit

/// The experiment folder's `manifest.json`: the file's hash, and for each cell the fingerprint
/// of the settings its journal was started with, its state and, after a run, whether it was
/// reused, resumed, run for the first time or run again because its settings changed.
///
/// A cell's entry is written (atomically) just before its run starts and again when it ends,
/// so after a kill the manifest never claims a journal holds settings it does not.
public struct ExperimentManifest: Sendable {
    /// The manifest's `format`.
    public static let format = "llmkit-experiment/1"
    /// Its file name in the experiment folder.
    public static let fileName = "manifest.json"

    /// One cell's record.
    public struct Entry: Sendable, Equatable {
        /// The hash of the settings the cell's journal was started with.
        public var fingerprint: String
        /// Those settings (``ExperimentCell/settings(_:datasetSHA256:)``).
        public var settings: JSONValue
        public var journal: String
        /// `running` (started, not finished: a kill or an error left it), `done` or `failed`.
        public var state: String
        /// The kind of the failure (`stopped`, `interrupted`, `dataset`, a provider error's kind...).
        public var failureKind: String?
        public var failureMessage: String?
        /// What the last `run` did with the cell: `new`, `reused`, `resumed`, `changed`, or
        /// `dropped` (no longer in the file; its journal is kept).
        public var lastRun: String?

        public init(fingerprint: String, settings: JSONValue, journal: String, state: String, failureKind: String? = nil,
                    failureMessage: String? = nil, lastRun: String? = nil) {
            self.fingerprint = fingerprint
            self.settings = settings
            self.journal = journal
            self.state = state
            self.failureKind = failureKind
            self.failureMessage = failureMessage
            self.lastRun = lastRun
        }
    }

    public var file: String
    public var fileSHA256: String
    public var cells: [String: Entry]
    /// Cell ids in the grid's order (entries of cells no longer in the file are kept after them).
    public var order: [String]
    /// Ensembles written: name -> (file, members and weights).
    public var ensembles: [String: JSONValue]

    public init(file: String, fileSHA256: String) {
        self.file = file
        self.fileSHA256 = fileSHA256
        cells = [:]
        order = []
        ensembles = [:]
    }

    public static func path(in folder: String) -> String { "\(folder)/\(fileName)" }

    /// Reads the folder's manifest; `nil` when there is none. A broken manifest throws.
    public static func read(folder: String) throws(ExperimentError) -> ExperimentManifest? {
        let path = path(in: folder)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let value: JSONValue
        do { value = try StrictJSON.parse(String(contentsOfFile: path, encoding: .utf8)) } catch {
            throw ExperimentError(file: path, "the manifest is not readable JSON (\(error)); remove it to start the experiment again")
        }
        guard value["format"]?.stringValue == format else { throw ExperimentError(file: path, key: "format", "not an experiment manifest (\(format))") }
        var manifest = ExperimentManifest(file: value["file"]?.stringValue ?? "", fileSHA256: value["file_sha256"]?.stringValue ?? "")
        for cell in value["cells"]?.arrayValue ?? [] {
            guard let id = cell["id"]?.stringValue, let fingerprint = cell["fingerprint"]?.stringValue,
                  let journal = cell["journal"]?.stringValue, let state = cell["state"]?.stringValue else { continue }
            manifest.order.append(id)
            manifest.cells[id] = Entry(fingerprint: fingerprint, settings: cell["settings"] ?? .null, journal: journal, state: state,
                                       failureKind: cell["failure"]?["kind"]?.stringValue, failureMessage: cell["failure"]?["message"]?.stringValue,
                                       lastRun: cell["last_run"]?.stringValue)
        }
        for (name, entry) in value["ensembles"]?.objectValue ?? [:] { manifest.ensembles[name] = entry }
        return manifest
    }

    /// The manifest as JSON.
    public var json: JSONValue {
        var o = JSONObject()
        o["format"] = .string(Self.format)
        o["file"] = .string(file)
        o["file_sha256"] = .string(fileSHA256)
        o["cells"] = .array(order.compactMap { id in
            guard let e = cells[id] else { return nil }
            var c = JSONObject()
            c["id"] = .string(id)
            c["fingerprint"] = .string(e.fingerprint)
            c["journal"] = .string(e.journal)
            c["state"] = .string(e.state)
            if let kind = e.failureKind { c["failure"] = ["kind": .string(kind), "message": .string(e.failureMessage ?? "")] }
            if let last = e.lastRun { c["last_run"] = .string(last) }
            c["settings"] = e.settings
            return .object(c)
        })
        o["ensembles"] = .object(JSONObject(ensembles.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        return .object(o)
    }

    /// Writes the manifest atomically into `folder`.
    public func write(folder: String) throws(ExperimentError) {
        do { try AtomicFileWriter.write(JSONSerializer.string(json, style: .pretty), to: Self.path(in: folder)) } catch {
            throw ExperimentError(file: Self.path(in: folder), "cannot write the manifest: \(error)")
        }
    }
}

/// The manifest shared by the cells running at once: every change is written at once.
actor ManifestStore {
    private(set) var manifest: ExperimentManifest
    private let folder: String

    init(_ manifest: ExperimentManifest, folder: String) {
        self.manifest = manifest
        self.folder = folder
    }

    func update(_ id: String, _ change: (inout ExperimentManifest.Entry?) -> Void) throws(ExperimentError) {
        var entry = manifest.cells[id]
        change(&entry)
        manifest.cells[id] = entry
        if !manifest.order.contains(id) { manifest.order.append(id) }
        try manifest.write(folder: folder)
    }

    func setEnsemble(_ name: String, _ value: JSONValue) throws(ExperimentError) {
        manifest.ensembles[name] = value
        try manifest.write(folder: folder)
    }
}
