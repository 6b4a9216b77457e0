import Foundation
import Synchronization

/// Writes a file so that readers see either the old file or the whole new one, never half:
/// lines go to a temporary file beside the target, which is flushed, synced and renamed over
/// the target by ``commit()``. Without `commit()` (an error, a crash) the target is untouched
/// and the temporary file is removed.
package final class AtomicFileWriter {
    package let path: String
    private let temporaryPath: String
    private var handle: FileHandle?
    private var pending: [UInt8] = []
    private let sync: Bool
    /// Makes temporary names unique within the process (two writers of one target at once).
    private static let serial = Atomic<Int>(0)

    /// `sync: false` skips the fsync before the rename (the file is still complete or absent
    /// after a crash of this process, but not after a power loss): for caches.
    package init(path: String, sync: Bool = true) throws(DatasetError) {
        self.path = path
        self.sync = sync
        let url = URL(fileURLWithPath: path)
        let serial = Self.serial.add(1, ordering: .relaxed).newValue
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(serial).tmp").path
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath)
        else {
            throw DatasetError(file: path, reason: "cannot create the output file (is the folder there and writable?)")
        }
        self.handle = handle
    }

    deinit {
        if handle != nil {
            try? handle?.close()
            try? FileManager.default.removeItem(atPath: temporaryPath)
        }
    }

    /// Appends `text` and a newline.
    package func writeLine(_ text: String) throws(DatasetError) {
        pending.append(contentsOf: text.utf8)
        pending.append(0x0A)
        if pending.count >= 1 << 16 { try flush() }
    }

    /// Appends `bytes` and a newline.
    package func writeLine(bytes: some Collection<UInt8>) throws(DatasetError) {
        pending.append(contentsOf: bytes)
        pending.append(0x0A)
        if pending.count >= 1 << 16 { try flush() }
    }

    private func flush() throws(DatasetError) {
        guard let handle, !pending.isEmpty else { return }
        do { try handle.write(contentsOf: pending) } catch { throw DatasetError(file: path, reason: "write failed (\(error.localizedDescription))") }
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes `text` (and a newline) to `path` atomically, creating its folder.
    package static func write(_ text: String, to path: String, sync: Bool = true) throws(DatasetError) {
        try FileChecks.createFolder(for: path)
        let writer = try AtomicFileWriter(path: path, sync: sync)
        try writer.writeLine(text)
        try writer.commit()
    }

    /// Flushes, syncs and moves the file into place; with `sync`, the folder is synced after the
    /// rename too, so the new file survives a power loss.
    package func commit() throws(DatasetError) {
        try flush()
        guard let handle else { return }
        do {
            if sync { try handle.synchronize() }
            try handle.close()
        } catch { throw DatasetError(file: path, reason: "sync failed (\(error.localizedDescription))") }
        self.handle = nil
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw DatasetError(file: path, reason: "cannot move the output into place (\(reason))")
        }
        if sync {
            let folder = open(FileChecks.folder(of: path), O_RDONLY | O_CLOEXEC)
            if folder >= 0 {
                _ = fsync(folder)
                close(folder)
            }
        }
    }
}
