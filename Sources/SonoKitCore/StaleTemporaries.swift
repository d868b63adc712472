#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The temporary files `AtomicFile` writes, and their removal once the process that wrote them is
/// gone (a run killed between writing a temporary and renaming it leaves it behind: hidden, never
/// taken for an output, but on disk; a killed training run can leave a 60 MB checkpoint each time).
///
/// A temporary is named `.<name>.<pid>@<host>.<UUID>.tmp`: `name` the destination's file name,
/// `pid` the writing process, `host` the first label of the writing machine's host name (a
/// weights writer also puts its sidecar beside it, the same name + `.json`). A folder
/// shared by several machines (a cluster's array job writing one output folder) holds temporaries
/// of processes running elsewhere, whose pids mean nothing here, so one is stale when
/// - it was written on this host by a pid that no longer runs (`kill(pid, 0)` fails with ESRCH), or
/// - it was last modified more than `maximumAge` ago (default 24 h; no SonoKit write takes that
///   long), whoever wrote it: the rule for other hosts, and for the names of SonoKit before the
///   host was recorded (`.<name>.<pid>.<UUID>.tmp`, and `.tmp-<pid>-<name>` for weights).
/// A pid reused by a live process keeps its stale temporary until the age rule removes it; a live
/// writer's temporary is never removed.
///
/// A folder that only one process at a time writes (`Writers.thisProcessOnly`: a DICOM node's
/// reports and SRs, one node per store and reports folder) needs no guess: every temporary there
/// that this process did not write is stale, whatever its pid, host or age, and so are
/// Foundation's `.atomic` temporaries (`.dat.nosync<hex>.<random>`, PNGFile's pictures), whose names
/// do not say who wrote them; call it before this process writes there with Foundation.
public enum StaleTemporaries {
    /// Who may be writing into a folder while its temporaries are removed.
    public enum Writers: Sendable {
        /// Any process, on this machine or another sharing the folder: the type's rules.
        case shared
        /// This process only (it owns the folder): every temporary it did not write is stale.
        case thisProcessOnly
    }

    /// This machine's host name as it appears in temporary names (up to the first dot; letters,
    /// digits and '-' only, so that the name stays parseable).
    public static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let full = String(cString: buffer)
        let label = full.prefix { $0 != "." }.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        return label.isEmpty ? "localhost" : String(label)
    }()

    /// The temporary name for the destination file name `name` written by this process.
    static func name(for name: String) -> String {
        ".\(name).\(getpid())@\(host).\(UUID().uuidString).tmp"
    }

    /// Who wrote a temporary, parsed from its name; nil when `fileName` is not an AtomicFile
    /// temporary (any other file, hidden ones included, is never touched).
    public struct Writer: Equatable {
        public var pid: Int32
        /// nil for a name written before the host was recorded.
        public var host: String?
        public init(pid: Int32, host: String?) {
            self.pid = pid
            self.host = host
        }
    }

    public static func writer(ofTemporary fileName: String) -> Writer? {
        if fileName.hasPrefix(".tmp-") {
            // Weights of SonoKit before the host was recorded: `.tmp-<pid>-<name>`.
            let rest = fileName.dropFirst(5)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0,
                  rest.index(after: dash) < rest.endIndex else { return nil }
            return Writer(pid: pid, host: nil)
        }
        var stem = Substring(fileName)
        if stem.hasSuffix(".tmp.json") { stem = stem.dropLast(5) }
        guard stem.hasPrefix("."), stem.hasSuffix(".tmp") else { return nil }
        let parts = stem.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        // At least the destination's name, the writer and the UUID.
        guard parts.count >= 3, UUID(uuidString: String(parts[parts.count - 1])) != nil,
              !parts[0..<(parts.count - 2)].joined(separator: ".").isEmpty else { return nil }
        let writer = parts[parts.count - 2]
        if let at = writer.firstIndex(of: "@") {
            guard let pid = Int32(writer[..<at]), pid > 0 else { return nil }
            let host = String(writer[writer.index(after: at)...])
            return host.isEmpty ? nil : Writer(pid: pid, host: host)
        }
        guard let pid = Int32(writer), pid > 0 else { return nil }
        return Writer(pid: pid, host: nil)
    }

    /// True for the temporary of Foundation's `Data.write(to:options: .atomic)` on Linux
    /// (`.dat.nosync` then hex digits, a dot and mkstemp's six characters): its writer is unknown.
    public static func isFoundationTemporary(_ fileName: String) -> Bool {
        guard fileName.hasPrefix(".dat.nosync") else { return false }
        let rest = fileName.dropFirst(".dat.nosync".count).split(separator: ".", omittingEmptySubsequences: false)
        return rest.count == 2 && !rest[0].isEmpty && rest[0].allSatisfy(\.isHexDigit) && rest[1].count == 6
    }

    /// True when no process with this pid runs on this machine.
    static func isGone(_ pid: Int32) -> Bool {
        kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the stale temporaries (see the type's rules; `writers`: who may be writing there) in
    /// `folder`, and in its subfolders when `recursive`; returns the paths removed. A folder that
    /// does not exist holds none; a file that cannot be removed (another user's) is left and not
    /// returned.
    @discardableResult
    public static func remove(in folder: String, recursive: Bool, writers: Writers = .shared, maximumAge: TimeInterval = 24 * 3600,
                              now: Date = Date()) -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        var candidates: [String] = []
        let isCandidate = { (name: String) in writer(ofTemporary: name) != nil || (writers == .thisProcessOnly && isFoundationTemporary(name)) }
        if recursive {
            guard let walker = fm.enumerator(atPath: folder) else { return [] }
            while let relative = walker.nextObject() as? String {
                if isCandidate((relative as NSString).lastPathComponent) { candidates.append(relative) }
            }
        } else {
            candidates = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter(isCandidate)
        }
        for relative in candidates.sorted() {
            let path = (folder as NSString).appendingPathComponent(relative)
            guard let attributes = try? fm.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let stale: Bool
            switch (writers, writer(ofTemporary: (relative as NSString).lastPathComponent)) {
            case (.thisProcessOnly, let w?):
                stale = !(w.pid == getpid() && w.host == host)
            case (.thisProcessOnly, nil):
                stale = true  // Foundation's: not this process's (see the type)
            case (.shared, let w?):
                let modified = attributes[.modificationDate] as? Date ?? now
                stale = (w.host == host && w.pid != getpid() && isGone(w.pid)) || now.timeIntervalSince(modified) > maximumAge
            case (.shared, nil):
                stale = false
            }
            if stale, unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// Removes the stale temporaries of a folder whose files are fanned out one level deep (the
    /// frame and feature caches: `<folder>/<2 hex>/<entry>`, each entry's temporary beside it):
    /// `folder` itself and each of its subfolders, never deeper, with the rules of
    /// `remove(in:recursive:)`. Unlike a recursive walk it does not stat every file: one directory
    /// read per folder, and a stat only for the names that are AtomicFile temporaries, so a cache
    /// of a million entries on a shared file system costs a few hundred directory reads. Returns
    /// the paths removed; a folder that does not exist holds none.
    @discardableResult
    public static func remove(inFolderAndSubfolders folder: String, maximumAge: TimeInterval = 24 * 3600, now: Date = Date()) -> [String] {
        var removed = remove(in: folder, recursive: false, maximumAge: maximumAge, now: now)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { continue }
            removed += remove(in: path, recursive: false, maximumAge: maximumAge, now: now)
        }
        return removed
    }
}
