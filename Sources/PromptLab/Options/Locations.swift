import Foundation

/// Where bundled files are, relative to the checkout promptlab was built in.
enum Locations {
    /// The checkout holding `relative`: the current folder when it has it, else the checkout
    /// promptlab was built in (found from the executable, `.build/<config>/promptlab`).
    static func checkout(containing relative: String) -> URL? {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent(relative).path) { return cwd }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(relative).path) { return dir }
        }
        return nil
    }

    /// The bundled recordings of the real Gemma 3 270M model.
    static func bundledRecordings() -> String {
        let relative = "fixtures/recordings/gemma3-270m"
        return (checkout(containing: relative) ?? URL(fileURLWithPath: ".")).appendingPathComponent(relative).path
    }

    /// `out/<dataset stem>.<prompt>.<provider>.jsonl`
    static func defaultOutput(dataset: String, prompt: String, provider: String) -> String {
        let stem = URL(fileURLWithPath: dataset).deletingPathExtension().lastPathComponent
        return "out/\(stem).\(prompt).\(provider).jsonl"
    }
}
