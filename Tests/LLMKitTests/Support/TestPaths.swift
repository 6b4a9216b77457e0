import Foundation

/// Locations the tests read: the repository (from this file's path) and `../shared`.
enum TestPaths {
    /// The repository root.
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$LLMKIT_SHARED_DIR`, else `../shared` beside the repository.
    static let shared: URL = {
        if let dir = ProcessInfo.processInfo.environment["LLMKIT_SHARED_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return repository.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    static func fixture(_ relative: String) -> String { repository.appendingPathComponent("fixtures").appendingPathComponent(relative).path }
    static func prompt(_ name: String) -> URL { repository.appendingPathComponent("prompts").appendingPathComponent(name) }

    static var gpt4Output: String { shared.appendingPathComponent("data/emo-superb-gpt4/output_dev.csv").path }
    static var gpt4Input: String { shared.appendingPathComponent("data/emo-superb-gpt4/input_dev.csv").path }
    static var releasedPrompt: URL { shared.appendingPathComponent("data/emo-superb-gpt4/Prompt.txt") }

    /// `$JSON_SCHEMA_TEST_SUITE`, else the draft 2020-12 folder under `../shared`.
    static var schemaSuite: URL {
        if let dir = ProcessInfo.processInfo.environment["JSON_SCHEMA_TEST_SUITE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return shared.appendingPathComponent("data/json-schema-test-suite/tests/draft2020-12")
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// A fresh temporary directory.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llmkit-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `text` to a new temporary file with the given name and returns its path.
    static func write(_ text: String, name: String) -> String {
        let url = temporaryDirectory().appendingPathComponent(name)
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
