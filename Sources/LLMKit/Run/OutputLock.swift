#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// An exclusive lock on an output, held for a whole run: `<output>.lock`, locked with `flock`
/// and holding the owner's pid, so a second run on the same output refuses at once and names
/// the process that holds it. The kernel releases the lock when the holder dies (even by
/// `kill -9`); a stale file is then taken over. The file is removed when the lock is released.
final class OutputLock: Sendable {
    let path: String
    private let fd: Int32

    /// Takes the lock or throws ``RunError`` (`.outputLocked`) naming the holder's pid.
    init(output: String) throws(RunError) {
        let path = output + ".lock"
        self.path = path
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw RunError(.cannotWrite, file: output, "cannot create the lock file \(path) (\(String(cString: strerror(errno))))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let holder = Self.readPID(fd)
                close(fd)
                let who = holder.map { "process \($0)" } ?? "another process"
                throw RunError(.outputLocked, file: output, "\(who) is writing this output (lock \(path)); wait for it to finish or choose another output")
            }
            // The holder before us may have removed the file between our open and our flock:
            // then we hold a lock on a file nobody else sees, and must start again.
            var mine = stat(), current = stat()
            if fstat(fd, &mine) == 0, stat(path, &current) == 0, mine.st_ino == current.st_ino, mine.st_dev == current.st_dev {
                let pid = Array("\(getpid())\n".utf8)
                _ = ftruncate(fd, 0)
                _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    /// Removes the lock file and releases the lock.
    func release() {
        unlink(path)
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingWhitespace())
    }
}
