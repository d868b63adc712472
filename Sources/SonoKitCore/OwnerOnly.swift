#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Files that hold patient identifiers by design (the catalog and its SQLite -wal/-shm files, key
/// secrets, `--include-identifiers` outputs) are readable by their owner only: files 0600,
/// folders 0700, whatever the umask. Everything else SonoKit writes carries no identifier and
/// keeps the default mode.
public enum OwnerOnly {
    public static let fileMode: mode_t = 0o600
    public static let folderMode: mode_t = 0o700

    /// Creates `path` as an empty owner-only file when it does not exist (O_EXCL: an existing
    /// file is left as it is). Returns true when it created the file.
    @discardableResult
    public static func createEmptyFile(_ path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        guard fchmod(fd, fileMode) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        return true
    }

    /// Creates the folder `path` (and missing parents, which get the default mode) and makes
    /// `path` itself owner-only (0700), also when it already existed.
    public static func createFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard chmod(path, folderMode) == 0 else {
            throw AtomicFile.WriteError(path: path, reason: "cannot make the folder owner-only: \(String(cString: strerror(errno)))")
        }
    }

    /// Makes `path` owner-only if it exists: 0600 for a file, 0700 for a folder and, with
    /// `recursive`, for everything below it. A missing path is not an error; symbolic links are
    /// left alone (never followed out of the folder).
    public static func restrict(_ path: String, recursive: Bool = false) throws {
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFLNK else { return }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        guard chmod(path, isFolder.boolValue ? folderMode : fileMode) == 0 else {
            throw AtomicFile.WriteError(path: path, reason: "cannot make it owner-only: \(String(cString: strerror(errno)))")
        }
        if recursive && isFolder.boolValue {
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                try restrict((path as NSString).appendingPathComponent(name), recursive: true)
            }
        }
    }
}
