#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Checks on the files a command reads and writes, made before anything is sent or written:
/// an input must be a regular file (a FIFO would block forever, a directory or a device is a
/// mistake), and an output must not be one of the inputs, by any name (the same path, a hard
/// link, or a symbolic link to it).
package enum FileChecks {
    /// Throws unless `path` names a readable regular file (symbolic links are followed).
    package static func requireRegularFile(_ path: String, role: String = "input") throws(DatasetError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DatasetError(file: path, reason: "cannot read the \(role) (\(String(cString: strerror(errno))))")
        }
        guard let what = notARegularFile(info) else { return }
        throw DatasetError(file: path, reason: "the \(role) is \(what), not a regular file")
    }

    /// Makes `path` ready to be written: its folder created and writable, and `path` itself,
    /// when it exists, a regular file (a directory given as an output is named as such).
    package static func prepareOutput(_ path: String) throws(DatasetError) {
        var info = stat()
        if stat(path, &info) == 0, let what = notARegularFile(info) {
            throw DatasetError(file: path, reason: "the output is \(what), not a file; give a file name")
        }
        try createFolder(for: path)
        try requireWritableFolder(for: path)
    }

    /// What a file that is not a regular file is ("a directory", ...), or `nil` for a regular file.
    private static func notARegularFile(_ info: stat) -> String? {
        switch info.st_mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// The device and inode `path` refers to (following links), or `nil` when it does not exist.
    package static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Throws when `output` is the same file as one of `inputs` (same path, hard link or
    /// symbolic link), naming both. Inputs that do not exist are ignored.
    package static func requireDistinct(output: String, from inputs: [String]) throws(DatasetError) {
        guard let out = identity(output) else { return }
        for input in inputs {
            guard let identity = identity(input), identity == out else { continue }
            throw DatasetError(file: output, reason: "the output is the same file as the input \(input); choose another output")
        }
    }

    /// Throws when two of `outputs` are the same file, naming both: the second would replace
    /// the first.
    package static func requireDistinct(outputs: [String]) throws(DatasetError) {
        for (i, output) in outputs.enumerated() {
            for other in outputs[..<i] where sameFile(output, other) {
                throw DatasetError(file: output, reason: "the same file is asked for as two outputs (\(other) and \(output)); give each its own file")
            }
        }
    }

    /// Whether two outputs name the same file: the same device and inode when both exist,
    /// the same resolved path when neither does yet.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        let (ia, ib) = (identity(a), identity(b))
        if let ia, let ib { return ia == ib }
        if (ia == nil) != (ib == nil) { return false }
        guard let ra = resolved(a), let rb = resolved(b) else { return false }
        return ra == rb
    }

    /// `path` with its folder's symbolic links, `.` and `..` resolved (the file itself need not
    /// exist), or `nil` when the folder does not exist.
    static func resolved(_ path: String) -> String? {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let real = realpath(folder.isEmpty ? "/" : folder, nil) else { return nil }
        defer { free(real) }
        return String(cString: real) + "/" + name
    }

    /// Throws unless the folder that will hold `path` can be written, with one line naming it
    /// and the cause.
    package static func requireWritableFolder(for path: String) throws(DatasetError) {
        let dir = folder(of: path)
        guard access(dir, W_OK | X_OK) == 0 else {
            throw DatasetError(file: path, reason: "cannot write in \(dir) (\(String(cString: strerror(errno))))")
        }
    }

    /// The folder that holds `path` (`.` for a bare name, `/` for a file at the root).
    package static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Creates the folder that will hold `path` (and its parents), with a one-line error.
    package static func createFolder(for path: String) throws(DatasetError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let folder = String(path[..<slash])
        guard !folder.isEmpty else { return }
        var built = folder.hasPrefix("/") ? "" : "."
        for part in folder.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw DatasetError(file: path, reason: "cannot create the folder \(built) (\(String(cString: strerror(errno))))")
            }
        }
    }
}
