public import Foundation

/// Finds prompt versions: a file path, a name in the user's folders, or a name of the versions
/// compiled into the package (``BuiltinPrompts``), in that order, so an installed tool finds
/// the bundled versions from any working directory and the user's own folders can add to
/// them (or shadow one by name).
public struct PromptLibrary: Sendable {
    /// The user's folders, searched in order before the built-in versions.
    public var directories: [URL]
    /// The built-in versions: file name → text.
    public var builtins: [String: String]

    /// A library searching `directories` in order, then `builtins`.
    public init(directories: [URL], builtins: [String: String] = BuiltinPrompts.files) {
        self.directories = directories
        self.builtins = builtins
    }

    /// Where one version comes from.
    public enum Source: Sendable, Equatable {
        /// A file in one of the user's folders.
        case file(URL)
        /// A built-in version, by file name.
        case builtin(fileName: String)
    }

    /// Every version's name and source (folders first; the first occurrence of a name wins), by name.
    public func sources() -> [(name: String, source: Source)] {
        var seen: [String: Source] = [:]
        for dir in directories {
            let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
            for file in files.sorted(by: { $0.path < $1.path }) where ["prompt", "txt"].contains(file.pathExtension) {
                let name = file.deletingPathExtension().lastPathComponent
                if seen[name] == nil { seen[name] = .file(file) }
            }
        }
        for fileName in builtins.keys.sorted() {
            let name = String(fileName.prefix { $0 != "." })
            if seen[name] == nil { seen[name] = .builtin(fileName: fileName) }
        }
        return seen.keys.sorted().map { ($0, seen[$0]!) }
    }

    /// Loads every version, in name order.
    public func loadAll() throws(PromptLoadError) -> [PromptVersion] {
        var versions: [PromptVersion] = []
        for (_, source) in sources() { versions.append(try load(source)) }
        return versions
    }

    /// Loads one source.
    public func load(_ source: Source) throws(PromptLoadError) -> PromptVersion {
        switch source {
        case .file(let url): return try PromptVersion.load(contentsOf: url)
        case .builtin(let fileName):
            let name = String(fileName.prefix { $0 != "." })
            return try PromptVersion.parse(builtins[fileName] ?? "", file: "(built-in) \(fileName)", defaultName: name)
        }
    }

    /// Loads `nameOrPath`: an existing file path, or a version name (with or without `@hash`).
    /// A name with a hash must match the version's current content.
    public func resolve(_ nameOrPath: String) throws(PromptLoadError) -> PromptVersion {
        if nameOrPath.contains("/") || FileManager.default.fileExists(atPath: nameOrPath) {
            guard FileManager.default.fileExists(atPath: nameOrPath) else {
                throw PromptLoadError(file: nameOrPath, line: nil, reason: "no such prompt file")
            }
            return try PromptVersion.load(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        let parts = nameOrPath.split(separator: "@", maxSplits: 1).map(String.init)
        let name = parts.first ?? nameOrPath
        let all = sources()
        guard let source = all.first(where: { $0.name == name })?.source else {
            let searched = directories.map(\.path) + ["the built-in versions"]
            throw PromptLoadError(file: nameOrPath, line: nil, reason: "no prompt version named '\(name)' in \(searched.joined(separator: ", ")); known: \(all.map(\.name).joined(separator: ", "))")
        }
        let version = try load(source)
        if parts.count == 2, parts[1] != version.contentHash {
            throw PromptLoadError(file: nameOrPath, line: nil, reason: "asked for \(nameOrPath) but the version is now \(version.id): the prompt was edited since")
        }
        return version
    }
}
