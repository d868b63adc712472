import CNN
import Crypto
import Foundation
import SonoKitCore

/// Pooled base features (the F = 512 values of VGG16's GlobalAveragePooling) of frames, on disk, so
/// that with a frozen base and no augmentation each frame goes through the convolutional base
/// once — later epochs and later runs cost only the head.
///
/// - Where: a folder (SonoKit's default is `feature-cache/` next to the catalog, beside the frame
///   cache); safe to delete.
/// - Key: SHA-256 of `SOPInstanceUID | frame | preprocessing hash | base weights hash`. The
///   preprocessing hash covers every option that changes the tensor (normalisation included);
///   the weights hash (`weightsHash(of:)`) covers every tensor of the base, so fine-tuned or
///   other weights never reuse stale features.
/// - Bits: oneDNN may choose another kernel (another summation order) for another batch size,
///   so features are always computed in batches of exactly `batchFrames` frames, the last one
///   padded with copies of its last frame: an entry's bits do not depend on the frames it was
///   computed with (another shard of `sonokit features`, another `--batch`, a partly filled cache).
/// - Entry: `<2 hex>/<62 hex>.feat`: magic `SKFE`, count (UInt32 LE), then count float32 LE;
///   written to a temporary file and renamed (SonoKitCore's `AtomicFile`). A missing or malformed
///   entry is a miss. A writer killed before its rename leaves its hidden temporary
///   (`.<62 hex>.feat.<pid>@<host>.<UUID>.tmp`), which no reader takes for an entry;
///   `removeStaleTemporaries()` removes those of writers that are gone.
/// - Merging: caches written in separate folders (one per node) are joined by `merge(into:from:)`
///   (`sonokit cache merge`); N writers sharing one folder need no merge.
public final class FeatureCache: @unchecked Sendable {
    public let directory: URL
    static let magic: [UInt8] = Array("SKFE".utf8)

    public init(directory: URL) { self.directory = directory }

    /// Frames per batch through the base when computing entries (see "Bits").
    public static let batchFrames = 8

    public static func key(sopInstanceUID: String, frame: Int, preprocessHash: String, weightsHash: String) -> String {
        SHA256Hex.of("\(sopInstanceUID)|\(frame)|\(preprocessHash)|\(weightsHash)")
    }

    /// SHA-256 over the names, shapes and float32 bytes of every base parameter, in order.
    public static func weightsHash(of model: Model) -> String {
        var h = SHA256()
        for p in model.base.flatMap(\.parameters) {
            h.update(data: Data("\(p.name)\(p.value.shape)".utf8))
            p.value.scalars.withUnsafeBytes { h.update(bufferPointer: $0) }
        }
        return SHA256Hex.hex(h.finalize())
    }

    func url(_ key: String) -> URL {
        directory.appendingPathComponent(String(key.prefix(2))).appendingPathComponent(String(key.dropFirst(2)) + ".feat")
    }

    public func load(key: String, count: Int) -> [Float]? {
        guard let data = FileManager.default.contents(atPath: url(key).path), data.count == 8 + 4 * count,
              Array(data.prefix(4)) == Self.magic else { return nil }
        let n = data.subdata(in: 4..<8).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
        guard Int(n) == count else { return nil }
        return data.subdata(in: 8..<data.count).withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
        }
    }

    public func store(_ features: ArraySlice<Float>, key: String) throws {
        var data = Data(Self.magic)
        withUnsafeBytes(of: UInt32(features.count).littleEndian) { data.append(contentsOf: $0) }
        for v in features { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try writeAtomically(data, to: url(key))
    }

    /// Removes the temporaries that writers killed before their rename left in the cache (the
    /// rules of SonoKitCore's `StaleTemporaries`: a writer on this host that no longer runs, or a
    /// temporary older than 24 h; never a live writer's, nor a recent one of another node writing
    /// the same shared folder) and returns their paths. Commands call it when they open the cache.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        StaleTemporaries.remove(inFolderAndSubfolders: directory.path)
    }

    // MARK: - Merging caches

    /// What `merge(into:from:)` did.
    public struct MergeOutcome: Equatable, Sendable {
        /// Entries found in the sources (a key held by two sources counts twice).
        public var sourceEntries = 0
        /// Distinct keys copied into the destination now.
        public var copied = 0
        /// Distinct keys the destination already held, byte for byte (a re-run copies nothing).
        public var alreadyPresent = 0
        /// Source entries whose key an earlier source also held (byte-identical, copied once).
        public var duplicates = 0
        /// Hidden files in the sources (the temporary files of a killed writer), not copied.
        public var temporaryFilesSkipped = 0
        public init() {}
    }

    /// Why a merge refused its inputs (nothing was written to the destination).
    public enum MergeError: Error, CustomStringConvertible, Equatable {
        case notAFolder(path: String)
        /// A visible file that is not `<2 hex>/<62 hex>.feat` (not written by a feature cache).
        case notAnEntry(file: String)
        /// An entry file whose bytes are not an entry (`reason` says which part).
        case malformed(file: String, reason: String)
        /// One key with different bytes in two places: features of one key must be identical
        /// whoever computed them, so one of the two is damaged or was made by other code.
        case conflict(file: String, other: String)

        public var description: String {
            switch self {
            case .notAFolder(let path): return "\(path): not a folder (a feature cache is a folder written by sonokit features or train)"
            case .notAnEntry(let file):
                return "\(file): not a feature cache entry (entries are <2 hex>/<62 hex>.feat); is this folder a feature cache? Nothing was merged."
            case .malformed(let file, let reason):
                return "\(file): a damaged feature cache entry (\(reason)); delete it (it will be recomputed) and merge again. Nothing was merged."
            case .conflict(let file, let other):
                return "\(file) and \(other) hold the same key with different bytes; the features of one key must be identical whoever "
                    + "computed them, so one of them is damaged or comes from another SonoKit build: delete the wrong one and merge again. Nothing was merged."
            }
        }
    }

    /// Copies the entries of the `sources` folders that `destination` lacks into it (created
    /// when missing), each entry written whole and renamed into place, as a writing run does.
    ///
    /// Every source entry is checked before anything is written: a visible file that is not an
    /// entry, a malformed entry, or a key whose bytes differ between two sources or between a
    /// source and the destination throws a `MergeError` naming the file(s) and leaves the
    /// destination as it was. Entries the destination already holds are compared, not copied,
    /// so a merge run again copies nothing. Hidden files (temporary files of a killed writer)
    /// are skipped.
    public static func merge(into destination: URL, from sources: [URL]) throws -> MergeOutcome {
        var outcome = MergeOutcome()
        // relative path -> the first source file holding it (copied when the destination lacks it).
        var first: [String: URL] = [:]
        var toCopy: [String] = []
        for source in sources {
            let (entries, hidden) = try entryFiles(in: source)
            outcome.temporaryFilesSkipped += hidden
            for relative in entries {
                let file = source.appendingPathComponent(relative)
                let data = try entryData(file)
                outcome.sourceEntries += 1
                if let earlier = first[relative] {
                    guard FileManager.default.contents(atPath: earlier.path) == data else {
                        throw MergeError.conflict(file: file.path, other: earlier.path)
                    }
                    outcome.duplicates += 1
                    continue
                }
                first[relative] = file
                let target = destination.appendingPathComponent(relative)
                if let existing = FileManager.default.contents(atPath: target.path) {
                    guard existing == data else { throw MergeError.conflict(file: file.path, other: target.path) }
                    outcome.alreadyPresent += 1
                } else {
                    toCopy.append(relative)
                }
            }
        }
        for relative in toCopy.sorted() {
            let file = first[relative]!
            try writeAtomically(try entryData(file), to: destination.appendingPathComponent(relative))
            outcome.copied += 1
        }
        return outcome
    }

    /// The relative paths (`xx/yyyy.feat`, sorted) of the entries under `folder`, and the number
    /// of hidden files skipped; throws on anything else visible.
    static func entryFiles(in folder: URL) throws -> (entries: [String], hidden: Int) {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else { throw MergeError.notAFolder(path: folder.path) }
        func isHex(_ s: Substring) -> Bool { s.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) } }
        var entries: [String] = [], hidden = 0
        for prefix in try fm.contentsOfDirectory(atPath: folder.path).sorted() {
            if prefix.hasPrefix(".") { hidden += 1; continue }
            let sub = folder.appendingPathComponent(prefix)
            guard prefix.count == 2, isHex(Substring(prefix)), fm.fileExists(atPath: sub.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw MergeError.notAnEntry(file: sub.path)
            }
            for name in try fm.contentsOfDirectory(atPath: sub.path).sorted() {
                if name.hasPrefix(".") { hidden += 1; continue }
                let stem = name.dropLast(5)
                guard name.hasSuffix(".feat"), stem.count == 62, isHex(stem) else { throw MergeError.notAnEntry(file: sub.appendingPathComponent(name).path) }
                entries.append(prefix + "/" + name)
            }
        }
        return (entries, hidden)
    }

    /// The bytes of the entry file `url`, checked to be an entry (magic, count, length).
    static func entryData(_ url: URL) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MergeError.malformed(file: url.path, reason: "unreadable") }
        guard data.count >= 8, Array(data.prefix(4)) == magic else { throw MergeError.malformed(file: url.path, reason: "no SKFE header") }
        let n = data.subdata(in: 4..<8).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
        guard data.count == 8 + 4 * Int(n) else {
            throw MergeError.malformed(file: url.path, reason: "\(data.count) bytes for \(n) features, expected \(8 + 4 * Int(n))")
        }
        return data
    }
}
