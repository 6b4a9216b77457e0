public import Foundation

/// Finds prompt versions by name in a list of folders, or by path.
public struct PromptLibrary: Sendable {
    /// The folders searched, in order.
    public var directories: [URL]

    public init(directories: [URL]) { self.directories = directories }

    /// Every `*.prompt` and `*.txt` file in the folders (the first folder wins on equal names), sorted by name.
    public func versionFiles() -> [URL] {
        var seen: [String: URL] = [:]
        for dir in directories {
            let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
            for file in files where ["prompt", "txt"].contains(file.pathExtension) {
                let name = file.deletingPathExtension().lastPathComponent
                if seen[name] == nil { seen[name] = file }
            }
        }
        return seen.keys.sorted().map { seen[$0]! }
    }

    /// Loads every version, in name order.
    public func loadAll() throws(PromptLoadError) -> [PromptVersion] {
        var versions: [PromptVersion] = []
        for file in versionFiles() { versions.append(try PromptVersion.load(contentsOf: file)) }
        return versions
    }

    /// Loads `nameOrPath`: an existing file path, or a version name (with or without `@hash`)
    /// looked up in the folders. A name with a hash must match the file's current content.
    public func resolve(_ nameOrPath: String) throws(PromptLoadError) -> PromptVersion {
        if nameOrPath.contains("/") || FileManager.default.fileExists(atPath: nameOrPath) {
            guard FileManager.default.fileExists(atPath: nameOrPath) else {
                throw PromptLoadError(file: nameOrPath, line: nil, reason: "no such prompt file")
            }
            return try PromptVersion.load(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        let parts = nameOrPath.split(separator: "@", maxSplits: 1).map(String.init)
        let name = parts.first ?? nameOrPath
        guard let file = versionFiles().first(where: { $0.deletingPathExtension().lastPathComponent == name }) else {
            let known = versionFiles().map { $0.deletingPathExtension().lastPathComponent }
            let searched = directories.map(\.path).joined(separator: ", ")
            throw PromptLoadError(file: nameOrPath, line: nil, reason: "no prompt version named '\(name)' in \(searched.isEmpty ? "(no folders)" : searched); known: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        let version = try PromptVersion.load(contentsOf: file)
        if parts.count == 2, parts[1] != version.contentHash {
            throw PromptLoadError(file: file.path, line: nil, reason: "asked for \(nameOrPath) but the file is now \(version.id): the prompt was edited since")
        }
        return version
    }
}
