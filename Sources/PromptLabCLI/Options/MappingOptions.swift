import ArgumentParser
import Foundation
import LLMKit
import Yams

/// A lab's own vote table: how its columns map onto an item (``ColumnMapping``), from flags or
/// from a mapping file (YAML or JSON; the `mapping:` section of an experiment file has the same
/// keys). Flags given with `--mapping` override the file's values.
struct MappingOptions: ParsableArguments {
    @Option(name: .customLong("mapping"), help: ArgumentHelp(
        "A column mapping file (YAML or JSON: id, emotions, descriptions, separator, keep, votes).", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("Your table's id column.", valueName: "name"))
    var idColumn: String?

    @Option(help: ArgumentHelp(
        "Your emotion columns and the emotions they count: Anger=angry,Sadness=sad,... (a column named as an emotion may stand alone: Anger,Sadness).",
        valueName: "column=emotion,..."))
    var emotionColumns: String?

    @Option(help: ArgumentHelp("The column with the annotators' typed descriptions.", valueName: "name"))
    var descriptionsColumn: String?

    @Option(help: ArgumentHelp("What joins several descriptions in one cell (e.g. ';').", valueName: "text"))
    var descriptionsSeparator: String?

    @Option(help: ArgumentHelp("Columns carried through the journal to the export, e.g. speaker,transcript.", valueName: "name,..."))
    var keepColumns: String?

    @Option(help: "The emotion columns hold counts (whole numbers of votes), proportions (shares summing to 1) or auto (counts when whole numbers, else proportions; a row that is neither is refused). Default: auto.")
    var votes: ColumnMapping.VoteScale?

    /// Whether any mapping option was given.
    var isGiven: Bool {
        file != nil || idColumn != nil || emotionColumns != nil || descriptionsColumn != nil || descriptionsSeparator != nil
            || keepColumns != nil || votes != nil
    }

    func validate() throws {
        guard file == nil, isGiven else { return }
        if idColumn == nil || emotionColumns == nil {
            throw ValidationError("a column mapping needs --id-column and --emotion-columns (or --mapping FILE); 'promptlab inspect FILE' proposes one")
        }
        if descriptionsSeparator != nil && descriptionsColumn == nil { throw ValidationError("--descriptions-separator goes with --descriptions-column") }
        _ = try Self.emotionColumns(emotionColumns ?? "")
    }

    /// The mapping given, or `nil` when none was: the file's (if any) with the flags over it,
    /// checked (a bad file or mapping is an error naming the file and the key).
    func mapping() throws -> ColumnMapping? {
        guard isGiven else { return nil }
        var mapping = try file.map(Self.load) ?? ColumnMapping(idColumn: "", emotionColumns: [])
        if let idColumn { mapping.idColumn = idColumn }
        if let emotionColumns { mapping.emotionColumns = try Self.emotionColumns(emotionColumns) }
        if let descriptionsColumn { mapping.descriptionsColumn = descriptionsColumn }
        if let descriptionsSeparator { mapping.descriptionsSeparator = descriptionsSeparator }
        if let keepColumns { mapping.keepColumns = Self.list(keepColumns) }
        if let votes { mapping.votes = votes }
        try mapping.check(source: file ?? "the mapping flags")
        return mapping
    }

    /// Reads a mapping file (YAML; JSON is YAML too).
    static func load(_ path: String) throws -> ColumnMapping {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DatasetError(file: path, reason: "cannot read the mapping file (\(error.localizedDescription))")
        }
        do {
            if let keys = (try Yams.load(yaml: text) as? [String: Any])?.keys {
                let known = ["format", "id", "emotions", "descriptions", "separator", "keep", "votes"]
                if let unknown = keys.sorted().first(where: { !known.contains($0) }) {
                    throw DatasetError(file: path, field: unknown, reason: "unknown key (known: \(known.joined(separator: ", ")))")
                }
            }
            var mapping = try YAMLDecoder().decode(ColumnMapping.self, from: text)
            // Decoding goes through a dictionary: put the emotion columns back in the file's order
            // (the export writes them in the mapping's order).
            if let order = try Yams.compose(yaml: text)?.mapping?["emotions"]?.mapping?.keys.compactMap(\.string) {
                mapping.emotionColumns.sort { (order.firstIndex(of: $0.column) ?? .max) < (order.firstIndex(of: $1.column) ?? .max) }
            }
            return mapping
        } catch let error as DatasetError {
            throw error
        } catch let error as DecodingError {
            throw DatasetError(file: path, field: error.keyPath, reason: error.reason)
        } catch let error as YamlError {
            throw DatasetError(file: path, reason: "not YAML or JSON: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        } catch {
            throw DatasetError(file: path, reason: "\(error)")
        }
    }

    /// `Anger=angry,Sadness,...`: the columns in the order given, each with its emotion.
    static func emotionColumns(_ text: String) throws -> [ColumnMapping.EmotionColumn] {
        try list(text).map { piece in
            let parts = piece.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            let column = parts[0], name = parts.count > 1 ? parts[1] : parts[0]
            guard let emotion = Emotion(anyName: name) else {
                throw ValidationError("--emotion-columns: '\(name)'\(parts.count > 1 ? "" : " (a column without '=emotion')") is not an emotion; accepted, any case: \(Emotion.acceptedNames)")
            }
            return ColumnMapping.EmotionColumn(column: column, emotion: emotion)
        }
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}


extension DecodingError {
    /// The key path at fault (`emotions`, `keep[1]`), if any.
    var keyPath: String? {
        let path: [any CodingKey]
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: return nil
        }
        guard !path.isEmpty else { return nil }
        return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    /// What is wrong, in one line.
    var reason: String {
        switch self {
        case .typeMismatch(let type, let c): "expected \(type): \(c.debugDescription)"
        case .valueNotFound(let type, let c): "missing \(type): \(c.debugDescription)"
        case .keyNotFound: "missing (a mapping needs id and emotions)"
        case .dataCorrupted(let c): c.debugDescription
        @unknown default: "\(self)"
        }
    }
}
