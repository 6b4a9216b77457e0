import Foundation
import LLMKit
import Testing
import TestSupport

/// A lab's own corpus in, its labels out (issue 22): one row per utterance, vote counts under
/// the lab's names, descriptions joined by ';', speaker and transcript carried to the export.
@Suite struct CorpusCLITests {
    static let names = ["Anger", "Sadness", "Disgust", "Contempt", "Fear", "Neutral", "Surprise", "Happiness"]

    /// The 40-row table in the lab layout, with each row's counts (for checking the references).
    static func labTable(in dir: URL, rows: Int = 40) throws -> (path: String, counts: [[Int]]) {
        let words = ["slightly angry", "calm", "Haaapy", "Concerned", "bored", "joyful", "tense", "annoyed"]
        var lines = ["utterance_id,speaker,transcript," + names.joined(separator: ",") + ",notes"]
        var all: [[Int]] = []
        for i in 0..<rows {
            var counts = [Int](repeating: 0, count: 8)
            for k in 0..<5 { counts[(i * 3 + k * k + k) % 8] += 1 }
            all.append(counts)
            let notes = (0..<(i % 4)).map { words[(i + $0 * 3) % 8] }.joined(separator: ";")
            lines.append("utt_\(String(format: "%03d", i)).wav,spk\(i % 5),\"I said, \"\"take \(i)\"\", okay\"," + counts.map(String.init).joined(separator: ",") + "," + notes)
        }
        let path = dir.appendingPathComponent("corpus.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, all)
    }

    /// POSIX shell words of a command line as `inspect` prints it (plain words, single quotes).
    static func shellWords(_ line: String) -> [String] {
        var words: [String] = [], word = "", quoted = false, started = false
        for c in line {
            if quoted {
                if c == "'" { quoted = false } else { word.append(c) }
            } else if c == "'" {
                quoted = true; started = true
            } else if c == " " {
                if started || !word.isEmpty { words.append(word) }
                word = ""; started = false
            } else {
                word.append(c)
            }
        }
        if started || !word.isEmpty { words.append(word) }
        return words
    }

    /// CSV records of a small file (quoted fields with commas and doubled quotes).
    static func csv(_ path: String) throws -> [[String]] {
        let reader = try CSVReader(path: path)
        var rows: [[String]] = []
        while let row = try reader.nextRecord() { rows.append(row) }
        return rows
    }

    @Test func theProposedMappingCopiedRelabelsTheLabTableAndTheExportKeepsItsColumns() async throws {
        let dir = try ResumeCLITests.directory()
        let (table, counts) = try Self.labTable(in: dir)
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }

        let inspect = try await CLI.run(["inspect", table])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.range(of: #"rows\s+40"#, options: .regularExpression) != nil, "\(inspect.stdout)")
        #expect(inspect.stdout.contains("counts (every row is whole numbers of votes)"))
        let printed = try #require(inspect.stdout.split(separator: "\n").first { $0.hasPrefix("  promptlab relabel") })
        let words = Self.shellWords(String(printed.dropFirst(2)))
        #expect(words.contains("--descriptions-separator") && words.contains(";") && words.contains("speaker,transcript"))

        // The printed command, copied as it is, plus where to send the requests and the output.
        let out = dir.appendingPathComponent("out.jsonl").path
        let summary = dir.appendingPathComponent("summary.json").path
        let relabel = try await CLI.run(Array(words.dropFirst()) + ["--provider", "openai", "--base-url", server.baseURL, "--model", "m",
                                                                    "--out", out, "--quiet", "--no-cache", "--summary-json", summary])
        #expect(relabel.status == 0, "\(relabel.stdout) \(relabel.stderr)")
        // The run says how it read the votes: at the start, in the summary and in its JSON.
        #expect(relabel.stderr.contains("votes: read as counts, each row's counts divided by its total (all 40 rows; the mapping says counts)"), "\(relabel.stderr)")
        #expect(relabel.stdout.range(of: #"votes\s+read as counts"#, options: .regularExpression) != nil, "\(relabel.stdout)")
        let votes = try StrictJSON.parse(String(contentsOfFile: summary, encoding: .utf8))["votes"]
        #expect(votes?["scale"]?.stringValue == "counts" && votes?["counts"] == .int(40) && votes?["proportions"] == .int(0), "\(String(describing: votes))")
        let records = try CLI.recordLines(out).map { try StrictJSON.parse($0) }
        #expect(records.count == 40)
        for (i, record) in records.enumerated() {
            #expect(record["keep"]?["speaker"]?.stringValue == "spk\(i % 5)")
            // Counts become their shares: the reference is counts / 5.
            let reference = try EmotionDistribution.rawValues(from: record["reference"]!)
            for (value, count) in zip(reference, counts[i]) { #expect(abs(value - Double(count) / 5) < 1e-12) }
        }

        // score reads the table by the same flags.
        let flags = Array(words.drop { $0 != "--id-column" })
        let scoreJSON = dir.appendingPathComponent("score.json").path
        let score = try await CLI.run(["score", "--dataset", table, "--relabeled", out, "--json", scoreJSON, "--limit", "30"] + flags)
        #expect(score.status == 0 && score.stdout.contains("30"), "\(score.stdout) \(score.stderr)")
        // score says how it read the votes too, over the items it scores.
        #expect(score.stderr.contains("votes: read as counts, each row's counts divided by its total (all 30 rows; the mapping says counts)"), "\(score.stderr)")
        #expect(try StrictJSON.parse(String(contentsOfFile: scoreJSON, encoding: .utf8))["votes"]?["counts"] == .int(30))

        let labels = dir.appendingPathComponent("labels.csv").path
        let export = try await CLI.run(["export", out, "--out", labels])
        #expect(export.status == 0, "\(export.stderr)")
        let rows = try Self.csv(labels)
        #expect(rows[0] == ["utterance_id", "speaker", "transcript"] + Self.names + ["reason", "method", "prompt"])
        #expect(rows.count == 41)
        #expect(rows[1][0] == "utt_000.wav" && rows[1][1] == "spk0" && rows[1][2] == "I said, \"take 0\", okay")
        #expect(rows[1][11].hasPrefix("fault-server answer") && rows[1][12] == "adjust" && rows[1][13].hasPrefix("paper-reason@"))

        let canonical = dir.appendingPathComponent("canonical.csv").path
        #expect(try await CLI.run(["export", out, "--out", canonical, "--canonical-names"]).status == 0)
        #expect(try Self.csv(canonical)[0] == ["id", "speaker", "transcript"] + Emotion.allCases.map(\.name) + ["reason", "method", "prompt"])

        // The mapping is part of the fingerprint: a resume with another one is refused.
        let other = try await CLI.run(Array(words.dropFirst()).map { $0 == "counts" ? "auto" : $0 }
            + ["--provider", "openai", "--base-url", server.baseURL, "--model", "m", "--out", out, "--quiet", "--no-cache", "--resume"])
        #expect(other.status == 1 && other.stderr.contains("mapping:"), "\(other.stderr)")
    }

    @Test func aMappingFileInYAMLReadsTheSameTableAndAnUnknownKeyIsNamed() async throws {
        let dir = try ResumeCLITests.directory()
        let (table, _) = try Self.labTable(in: dir, rows: 6)
        let yaml = dir.appendingPathComponent("mapping.yaml").path
        try """
            id: utterance_id
            emotions: {Anger: ang, Sadness: sad, Disgust: disgust, Contempt: contempt, Fear: fear, Neutral: neu, Surprise: surprise, Happiness: joy}
            descriptions: notes
            separator: ";"
            keep: [speaker, transcript]
            votes: counts
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let imported = dir.appendingPathComponent("imported.jsonl").path
        let r = try await CLI.run(["import", table, "--mapping", yaml, "--out", imported])
        #expect(r.status == 0 && r.stdout.contains("6 items"), "\(r.stdout) \(r.stderr)")
        let items = try DatasetReader(path: imported).readAll()
        #expect(items.count == 6 && items[2].keep["transcript"]?.stringValue == "I said, \"take 2\", okay")
        #expect(items[3].descriptions.count == 3)
        // The export follows the mapping file's order of emotion columns, not the alphabet.
        let server = try FaultServer(FaultServer.Configuration())
        defer { server.stop() }
        let out = dir.appendingPathComponent("out.jsonl").path
        #expect(try await CLI.run(ResumeCLITests.arguments(server, dataset: table, out: out, extra: ["--mapping", yaml])).status == 0)
        let labels = dir.appendingPathComponent("labels.csv").path
        #expect(try await CLI.run(["export", out, "--out", labels]).status == 0)
        #expect(try Self.csv(labels)[0] == ["utterance_id", "speaker", "transcript"] + Self.names + ["reason", "method", "prompt"])

        try "id: utterance_id\nemotions: {Anger: angry}\nkeep_columns: [speaker]\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        let bad = try await CLI.run(["inspect", table, "--mapping", yaml])
        #expect(bad.status == 1 && bad.stderr.contains("mapping.yaml: field 'keep_columns': unknown key"), "\(bad.stderr)")
    }

    @Test func misleadingMessagesAreGoneAndErrorsNameLineColumnAndCause() async throws {
        let dir = try ResumeCLITests.directory()
        let (table, _) = try Self.labTable(in: dir, rows: 4)
        // Without a mapping: no "column 2 must be 'angry'", a pointer to inspect instead.
        let plain = try await CLI.run(["relabel", "--dataset", table, "--out", dir.appendingPathComponent("x.jsonl").path])
        #expect(plain.status == 1 && plain.stderr.contains("promptlab inspect") && !plain.stderr.contains("must be 'angry'"), "\(plain.stderr)")
        // A renamed descriptions column: the columns there are, not "this looks like an output file".
        let mapping = ["--id-column", "utterance_id", "--emotion-columns", Self.names.joined(separator: ",")]
        let renamed = try await CLI.run(["inspect", table, "--descriptions-column", "words"] + mapping)
        #expect(renamed.status == 1 && renamed.stderr.contains("no column 'words'") && renamed.stderr.contains("notes")
                && !renamed.stderr.contains("output file"), "\(renamed.stderr)")
        // Per-annotator import of a vote table: says it is a vote table.
        let imported = try await CLI.run(["import", table, "--utterance-column", "utterance_id", "--label-column", "Anger", "--out", dir.appendingPathComponent("y.jsonl").path])
        #expect(imported.status == 1 && imported.stderr.contains("vote table"), "\(imported.stderr)")
        // A count that is not whole: file:line:column, the column's name and the cause.
        var lines = try String(contentsOfFile: table, encoding: .utf8).components(separatedBy: "\n")
        let marker = try #require(lines[2].range(of: "okay\","))
        let rest = lines[2][marker.upperBound...]
        lines[2] = String(lines[2][..<marker.upperBound]) + "0.5" + rest[rest.firstIndex(of: ",")!...]
        try lines.joined(separator: "\n").write(toFile: table, atomically: true, encoding: .utf8)
        let counts = try await CLI.run(["inspect", table, "--votes", "counts"] + mapping)
        #expect(counts.status == 1 && counts.stderr.contains("corpus.csv:3:4: field 'Anger': '0.5' is not a whole number of votes"), "\(counts.stderr)")
        let auto = try await CLI.run(["inspect", table] + mapping)
        #expect(auto.status == 1 && auto.stderr.contains("corpus.csv:3:") && auto.stderr.contains("neither vote counts"), "\(auto.stderr)")
        // An unknown emotion name lists the accepted ones.
        let unknown = try await CLI.run(["inspect", table, "--id-column", "utterance_id", "--emotion-columns", "Anger=rage"])
        #expect(unknown.status == 64 && unknown.stderr.contains("'rage' is not an emotion") && unknown.stderr.contains("happy (happiness, joy"), "\(unknown.stderr)")
    }

    /// The Batch API reads the items of its requests again by offset: the mapped table's carried
    /// columns reach the journal that way too, with a batch that expires and line faults.
    @Test func theBatchAPICarriesTheColumnsOfAMappedTable() async throws {
        let dir = try ResumeCLITests.directory()
        let (table, _) = try Self.labTable(in: dir)
        let server = try BatchAPICLITests.server()
        defer { server.stop() }
        let out = dir.appendingPathComponent("batch.jsonl").path
        let mapping = ["--id-column", "utterance_id", "--emotion-columns", Self.names.joined(separator: ","), "--descriptions-column", "notes",
                       "--descriptions-separator", ";", "--keep-columns", "transcript,speaker"]
        let r = try await CLI.run(BatchAPICLITests.arguments(server, dataset: table, out: out, extra: mapping), environment: BatchAPICLITests.environment)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let records = try CLI.recordLines(out).map { try StrictJSON.parse($0) }
        #expect(Set(records.compactMap { $0["id"]?.stringValue }).count == 40)
        for record in records {
            let i = Int(record["id"]!.stringValue!.dropFirst(4).prefix(3))!
            #expect(record["keep"]?.objectValue?.keys == ["transcript", "speaker"])
            #expect(record["keep"]?["transcript"]?.stringValue == "I said, \"take \(i)\", okay")
        }
    }

    @Test func anExportWithNoRowIsAnErrorAndWritesNothing() async throws {
        let dir = try ResumeCLITests.directory()
        let out = dir.appendingPathComponent("failed.jsonl").path
        let reference = EmotionDistribution(oneHot: .sad)
        let record = RelabeledRecord(id: "a", reference: reference, outcome: .failed(ItemFailure(.missingIndex, "gone")), promptVersion: "p@1", provider: "x", model: "m")
        try (record.jsonLine + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        let csv = dir.appendingPathComponent("labels.csv").path
        let r = try await CLI.run(["export", out, "--out", csv, "--variant", "llm"])
        #expect(r.status == 1 && r.stderr.contains("nothing to export") && !FileManager.default.fileExists(atPath: csv), "\(r.stderr)")
    }
}
