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
public enum FileChecks {
    /// Throws unless `path` names a readable regular file (symbolic links are followed).
    public static func requireRegularFile(_ path: String, role: String = "input") throws(DatasetError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DatasetError(file: path, reason: "cannot read the \(role) (\(String(cString: strerror(errno))))")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let what = switch type {
            case S_IFDIR: "a directory"
            case S_IFIFO: "a FIFO (named pipe)"
            case S_IFCHR, S_IFBLK: "a device"
            case S_IFSOCK: "a socket"
            default: "not a regular file"
            }
            throw DatasetError(file: path, reason: "the \(role) is \(what), not a regular file")
        }
    }

    /// The device and inode `path` refers to (following links), or `nil` when it does not exist.
    public static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Throws when `output` is the same file as one of `inputs` (same path, hard link or
    /// symbolic link), naming both. Inputs that do not exist are ignored.
    public static func requireDistinct(output: String, from inputs: [String]) throws(DatasetError) {
        guard let out = identity(output) else { return }
        for input in inputs {
            guard let identity = identity(input), identity == out else { continue }
            throw DatasetError(file: output, reason: "the output is the same file as the input \(input); choose another output")
        }
    }

    /// Throws unless the folder that will hold `path` can be written, with one line naming it
    /// and the cause.
    public static func requireWritableFolder(for path: String) throws(DatasetError) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dir = folder.isEmpty ? "/" : folder
        guard access(dir, W_OK | X_OK) == 0 else {
            throw DatasetError(file: path, reason: "cannot write in \(dir) (\(String(cString: strerror(errno))))")
        }
    }

    /// Creates the folder that will hold `path` (and its parents), with a one-line error.
    public static func createFolder(for path: String) throws(DatasetError) {
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
