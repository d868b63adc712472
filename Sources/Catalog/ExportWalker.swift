import Foundation

/// A regular file found under an export folder.
public struct ExportFile: Hashable, Sendable {
    /// Absolute, standardized path (the catalog's key).
    public let path: String
    /// Path relative to the folder it was found under (what shards are assigned by, so that
    /// machines mounting the export at different places agree).
    public let relativePath: String
    public let size: Int64
    /// Modification time, seconds since 1970.
    public let mtime: Double
}

/// `--shard I/N`: this process takes the files whose stable hash of the relative path is I
/// modulo N (I counted from 0, as Kubernetes indexed Jobs and `SLURM_ARRAY_TASK_ID` with
/// `--array=0-(N-1)` count). N processes with I = 0..N-1 see every file exactly once.
public struct Shard: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "shard \(index)/\(count)")
        self.index = index
        self.count = count
    }

    /// Parses "I/N" with 0 <= I < N; nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether this shard owns the file at `relativePath`: FNV-1a 64 of its UTF-8 bytes, mod N.
    public func owns(relativePath: String) -> Bool { owns(key: relativePath) }

    /// Whether this shard owns the item named `key` (a relative path, a SOP Instance UID, a study
    /// key): FNV-1a 64 of its UTF-8 bytes, mod N. The N shards partition any set of keys (each key
    /// is owned by exactly one shard), independently of the machine, the order and the other keys.
    public func owns(key: String) -> Bool {
        count == 1 || Int(Self.fnv1a64(key) % UInt64(count)) == index
    }

    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Finds every regular file under a set of folders (recursively, not following symbolic links
/// into folders, hidden files included since exports name files freely), sorted by path.
public enum ExportWalker {
    public enum Failure: Error, CustomStringConvertible {
        case notAFolder(String)
        public var description: String {
            switch self {
            case let .notAFolder(path): return "\(path): not a folder or a file that exists; give the folder of a DICOM export"
            }
        }
    }

    public static func files(under roots: [String], shard: Shard = .whole) throws -> [ExportFile] {
        var found: [String: ExportFile] = [:]
        let fm = FileManager.default
        for root in roots {
            let rootPath = Catalog.standardize(root)
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: rootPath, isDirectory: &isFolder) else { throw Failure.notAFolder(root) }
            if !isFolder.boolValue {
                // A single file given directly.
                if let file = exportFile(rootPath, relative: (rootPath as NSString).lastPathComponent), shard.owns(relativePath: file.relativePath) {
                    found[file.path] = file
                }
                continue
            }
            guard let enumerator = fm.enumerator(atPath: rootPath) else { throw Failure.notAFolder(root) }
            while let relative = enumerator.nextObject() as? String {
                let path = rootPath + "/" + relative
                guard shard.owns(relativePath: relative), let file = exportFile(path, relative: relative) else { continue }
                found[file.path] = file
            }
        }
        return found.values.sorted { $0.path < $1.path }
    }

    private static func exportFile(_ path: String, relative: String) -> ExportFile? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return ExportFile(path: path, relativePath: relative, size: size, mtime: mtime)
    }
}
