#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Writes files so that a reader (or a run killed mid-write) sees the old file or the new one,
/// never half of one: the bytes go to a temporary file in the destination folder, which is then
/// renamed over the destination (rename is atomic on one file system). The temporary name holds
/// the process id, the host and a UUID, so concurrent writers of one destination never share it,
/// and a killed writer's leftovers can be told apart and removed (`StaleTemporaries`).
public enum AtomicFile {
    /// A failed write: the destination and the reason (the system's, or what could not be done).
    public struct WriteError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes `data` to `url` (creating its folder), optionally with POSIX `permissions` (e.g.
    /// 0o600 for a secret) set before the file becomes visible under its name.
    public static func write(_ data: Data, to url: URL, permissions: Int? = nil) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: url.path, reason: "cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
        let temporary = temporaryURL(for: url)
        if let permissions {
            // Created with its final mode (open's mode, not a chmod afterwards): an owner-only
            // file is never readable by others, not even while it is being written.
            let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
            guard fd >= 0 else { throw WriteError(path: url.path, reason: "cannot create a temporary file in \(folder.path): \(String(cString: strerror(errno)))") }
            // open's mode is reduced by the umask; fchmod sets exactly `permissions`.
            var ok = fchmod(fd, mode_t(permissions)) == 0
            if ok {
                ok = data.withUnsafeBytes { raw -> Bool in
                    var offset = 0
                    while offset < raw.count {
                        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 { if errno == EINTR { continue }; return false }
                        offset += n
                    }
                    return true
                }
            }
            let reason = String(cString: strerror(errno))
            close(fd)
            guard ok else {
                try? FileManager.default.removeItem(at: temporary)
                throw WriteError(path: url.path, reason: reason)
            }
        } else {
            guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
                throw WriteError(path: url.path, reason: "cannot create a temporary file in \(folder.path)")
            }
        }
        try replace(url, with: temporary)
    }

    public static func write(_ data: Data, to path: String, permissions: Int? = nil) throws {
        try write(data, to: URL(fileURLWithPath: path), permissions: permissions)
    }

    /// Puts `data` at `path` unless a file is already there, atomically and without replacing:
    /// returns the contents now at `path` (`data`, or what a concurrent writer put there first).
    /// N processes calling this at the same time all return the same bytes (the first link(2)
    /// wins; the others find its complete file), which `write` (a rename, last writer wins)
    /// cannot promise.
    public static func createOnce(_ data: Data, at path: String, permissions: Int? = nil) throws -> Data {
        if let existing = FileManager.default.contents(atPath: path) { return existing }
        let url = URL(fileURLWithPath: path)
        let temporary = temporaryURL(for: url)
        try write(data, to: temporary, permissions: permissions)
        defer { unlink(temporary.path) }
        if link(temporary.path, path) != 0 {
            let code = errno
            guard code == EEXIST, let existing = FileManager.default.contents(atPath: path) else {
                throw WriteError(path: path, reason: String(cString: strerror(code)))
            }
            return existing
        }
        return data
    }

    /// A fresh temporary name in `url`'s folder, for writers that produce the file themselves
    /// (a C library, a weights writer) before `replace(_:with:)`.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(StaleTemporaries.name(for: url.lastPathComponent))
    }

    /// Renames `temporary` over `url`; on failure the temporary file is removed. The rename is a
    /// commit point of `CrashPoint` (a test run may be killed just before it).
    public static func replace(_ url: URL, with temporary: URL) throws {
        CrashPoint.reached(url.lastPathComponent)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(path: url.path, reason: reason)
        }
    }
}
