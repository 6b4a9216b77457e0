import Foundation
import Testing
import LLMKit

/// `promptlab score --relabeled` and `compare` as thin callers of the Scoring library: labels,
/// the long CSV, warnings for misfit files, thresholds on any JSON key.
@Suite struct ScoreCommandTests {
    static let header = ",angry,sad,disgust,contempt,fear,neutral,surprise,happy"

    /// A dataset of 4 items and two outputs: one lazy (copies 0.5/0.5), one that moves to happy,
    /// with an id the dataset lacks.
    static func files() throws -> (dataset: String, lazy: String, eager: String, dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("score-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let ids = ["a", "b", "c", "d"]
        let dataset = try write("in.csv", header + ",words\n" + ids.map { "\($0),0.5,0.5,0,0,0,0,0,0,calm" }.joined(separator: "\n") + "\n")
        let lazy = try write("lazy.csv", header + ",reason\n" + ids.map { "\($0),0.5,0.5,0,0,0,0,0,0,same" }.joined(separator: "\n") + "\n")
        let eager = try write("eager.csv", header + ",reason\n" + (ids + ["stranger"]).map { "\($0),0,0,0,0,0,0,0,1,happy" }.joined(separator: "\n") + "\n")
        return (dataset, lazy, eager, dir)
    }

    @Test func labelsLongCSVWideCSVAndWarnings() async throws {
        let f = try Self.files()
        let csv = f.dir.appendingPathComponent("long.csv").path, wide = f.dir.appendingPathComponent("wide.csv").path
        let json = f.dir.appendingPathComponent("s.json").path
        let r = try await CLI.run(["score", "--dataset", f.dataset, "--relabeled", f.lazy, "--relabeled", f.eager, "--label", "lazy model", "--label", "eager model",
                                   "--prompt", "paper-reason", "--csv", csv, "--csv-wide", wide, "--json", json])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("lazy model") && r.stdout.contains("eager model") && r.stdout.contains("eager model − lazy model"))
        #expect(r.stderr.contains("warning: \(f.eager): 1 records have ids that are not in the dataset"))
        let long = try String(contentsOfFile: csv, encoding: .utf8)
        #expect(long.hasPrefix("column,metric,value,low,high,n\n"))
        #expect(long.contains("\nlazy model,unchanged.as_shown,1,") && long.contains("\neager model,unchanged.as_shown,0,0,"))
        #expect(try String(contentsOfFile: wide, encoding: .utf8).hasPrefix("metric,lazy model,eager model\n"))
        let scores = try StrictJSON.parse(try String(contentsOfFile: json, encoding: .utf8))
        #expect(scores["format"] == "llmkit-score/2")
        #expect(scores["warnings"]?.arrayValue?.contains { $0.stringValue?.contains("stranger") == true } == true)
        let first = scores["columns"]?.arrayValue?.first
        #expect(first?["shown_decimals"] == 4 && first?["label"] == "lazy model")
    }

    @Test func labelCountMustMatchTheColumns() async throws {
        let f = try Self.files()
        let r = try await CLI.run(["score", "--dataset", f.dataset, "--relabeled", f.lazy, "--label", "a", "--label", "b"])
        #expect(r.status != 0 && r.stderr.contains("2 --label values for 1 columns"))
        let c = try await CLI.run(["compare", f.lazy, f.eager, "--dataset", f.dataset, "--label", "only one"])
        #expect(c.status != 0 && c.stderr.contains("--label"))
    }

    @Test func thresholdsTakeAnyJSONKeyAndRefuseNonFiniteBounds() async throws {
        let f = try Self.files()
        let nan = try await CLI.run(["compare", f.lazy, f.eager, "--dataset", f.dataset, "--fail-under", "macro_f1=nan"])
        #expect(nan.status != 0 && nan.stderr.contains("finite number"))
        #expect(nan.stderr.split(separator: "\n").filter { $0.contains("finite") }.count == 1)
        let unknown = try await CLI.run(["compare", f.lazy, f.eager, "--dataset", f.dataset, "--fail-over", "laziness=0.5"])
        #expect(unknown.status != 0 && unknown.stderr.contains("known metrics: items, relabeled"))
        // compare --prompt: as-shown is known, and a lazy baseline fails --fail-over on it.
        let lazy = try await CLI.run(["compare", f.lazy, f.eager, "--dataset", f.dataset, "--prompt", "paper-reason",
                                      "--fail-over", "unchanged.as_shown=0.5", "--fail-under", "gold.macro_f1=0.5"])
        #expect(lazy.status == 1)
        #expect(lazy.stderr.contains("lazy.csv: unchanged.as_shown = 1 is above 0.5"))
        #expect(lazy.stderr.contains("gold.macro_f1 is n/a"), "no gold: not checked, and said so")
        let legacy = try await CLI.run(["compare", f.lazy, f.eager, "--dataset", f.dataset, "--fail-over", "unchanged_0.01=1"])
        #expect(legacy.status == 0, "\(legacy.stderr)")
    }

    @Test func aFileWithNoIdInCommonIsAnErrorNamingBothFiles() async throws {
        let f = try Self.files()
        let other = f.dir.appendingPathComponent("other.csv").path
        try (Self.header + ",reason\nx,0,0,0,0,0,0,0,1,r\n").write(toFile: other, atomically: true, encoding: .utf8)
        let r = try await CLI.run(["score", "--dataset", f.dataset, "--relabeled", other])
        #expect(r.status != 0 && r.stderr.contains(other) && r.stderr.contains(f.dataset) && r.stderr.contains("no id in common"))
    }
}
