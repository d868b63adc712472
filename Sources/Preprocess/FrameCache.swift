import DICOM
import Foundation
import SonoKitCore
import Imaging

/// Preprocessed 8-bit frames on disk, so that a second epoch or a second command never decodes a
/// DICOM file again.
///
/// - Key: SHA-256 of `SOPInstanceUID | frame index | PreprocessConfig.pixelHash`; the pixel hash
///   covers every option that changes the 8-bit pixels (crop, window, aspect, interpolation, size,
///   algorithm version) and none that does not (normalisation, frame policy), so
///   `--normalize imagenet` after `--normalize caffe` reuses the same entries.
/// - Entry: one file `<dir>/<2 hex>/<62 hex>.frame`: magic `SKPF`, format version, width, height,
///   the RGB samples, then the crop decision and the reader's decode record as JSON. Written to a temporary file in the same
///   folder and renamed (SonoKitCore's `AtomicFile`), so a reader never sees half an entry, and concurrent writers of one key
///   both leave a complete file. A writer killed before its rename leaves its hidden temporary
///   (`.<62 hex>.frame.<pid>@<host>.<UUID>.tmp`), never taken for an entry nor counted in the
///   bound; `removeStaleTemporaries()` removes those of writers that are gone.
/// - Bounded: when the entries exceed `maxBytes`, the least recently used ones (oldest
///   modification time; a hit touches its entry) are deleted down to 90% of the bound.
/// - Safe to delete: a missing, truncated or foreign file is a miss, never an error; the folder
///   is recreated on the next store.
public final class FrameCache: @unchecked Sendable {
    public let directory: URL
    public let maxBytes: Int64
    private let lock = NSLock()
    private var knownBytes: Int64? = nil
    static let magic: [UInt8] = Array("SKPF".utf8)
    static let formatVersion: UInt8 = 2

    public init(directory: URL, maxBytes: Int64 = 2 << 30) {
        self.directory = directory
        self.maxBytes = maxBytes
    }

    /// One cached frame: the square 8-bit picture, the crop it was cut with and what the reader did.
    public struct Entry: Sendable, Equatable {
        public let image: RGBImage
        public let crop: CropDecision
        public let decode: DecodeRecord?
        public init(image: RGBImage, crop: CropDecision, decode: DecodeRecord? = nil) {
            self.image = image; self.crop = crop; self.decode = decode
        }
    }

    /// The JSON part of an entry.
    struct Provenance: Codable { let crop: CropDecision; let decode: DecodeRecord? }

    public static func key(sopInstanceUID: String, frame: Int, pixelHash: String) -> String {
        SHA256Hex.of("\(sopInstanceUID)|\(frame)|\(pixelHash)")
    }

    func url(forKey key: String) -> URL {
        directory.appendingPathComponent(String(key.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(key.dropFirst(2)) + ".frame")
    }

    /// The entry for `key`, or nil (missing or unreadable). A hit marks the entry as recently used.
    public func load(key: String) -> Entry? {
        let u = url(forKey: key)
        guard let data = FileManager.default.contents(atPath: u.path), let entry = Self.decode(data) else { return nil }
        // Mark as recently used for eviction; failure (a read-only cache) only weakens the LRU order.
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: u.path)
        return entry
    }

    /// Stores `entry` under `key` atomically, then evicts old entries if the bound is exceeded.
    /// A failure to write (disk full, read-only) is returned to the caller, who may carry on
    /// without the cache.
    public func store(_ entry: Entry, key: String) throws {
        let data = try Self.encode(entry)
        try AtomicFile.write(data, to: url(forKey: key))
        var mustEvict = false
        lock.lock()
        if knownBytes == nil { knownBytes = currentSize() } else { knownBytes! += Int64(data.count) }
        mustEvict = knownBytes! > maxBytes
        lock.unlock()
        if mustEvict { evict() }
    }

    /// Removes the temporaries that writers killed before their rename left in the cache (the
    /// rules of SonoKitCore's `StaleTemporaries`: a writer on this host that no longer runs, or a
    /// temporary older than 24 h; never a live writer's, nor a recent one of another host sharing
    /// the folder) and returns their paths. Commands call it when they open the cache.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        StaleTemporaries.remove(inFolderAndSubfolders: directory.path)
    }

    /// Total size of the entries on disk.
    public func currentSize() -> Int64 {
        entries().reduce(0) { $0 + $1.size }
    }

    /// Deletes least recently used entries until the total is at most 90% of `maxBytes`.
    public func evict() {
        lock.lock(); defer { lock.unlock() }
        var all = entries().sorted { $0.modified < $1.modified }
        var total = all.reduce(Int64(0)) { $0 + $1.size }
        let target = maxBytes / 10 * 9
        while total > target, !all.isEmpty {
            let oldest = all.removeFirst()
            if (try? FileManager.default.removeItem(at: oldest.url)) != nil { total -= oldest.size }
        }
        knownBytes = total
    }

    /// Deletes every entry (the folder itself stays).
    public func removeAll() throws {
        lock.lock(); defer { lock.unlock() }
        for e in entries() { try? FileManager.default.removeItem(at: e.url) }
        knownBytes = 0
    }

    private func entries() -> [(url: URL, size: Int64, modified: Date)] {
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey]
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys) else { return [] }
        var out: [(URL, Int64, Date)] = []
        for case let u as URL in walker where u.pathExtension == "frame" {
            guard let v = try? u.resourceValues(forKeys: Set(keys)), v.isRegularFile == true else { continue }
            out.append((u, Int64(v.fileSize ?? 0), v.contentModificationDate ?? .distantPast))
        }
        return out
    }

    // MARK: Entry format

    static func encode(_ entry: Entry) throws -> Data {
        var data = Data(magic)
        data.append(formatVersion)
        func append32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        append32(entry.image.width)
        append32(entry.image.height)
        data.append(contentsOf: entry.image.pixels)
        let crop = try JSONEncoder().encode(Provenance(crop: entry.crop, decode: entry.decode))
        append32(crop.count)
        data.append(crop)
        return data
    }

    static func decode(_ data: Data) -> Entry? {
        let bytes = [UInt8](data)
        guard bytes.count >= 13, Array(bytes[0..<4]) == magic, bytes[4] == formatVersion else { return nil }
        func read32(_ at: Int) -> Int? {
            guard at + 4 <= bytes.count else { return nil }
            return Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
        }
        guard let w = read32(5), let h = read32(9), w > 0, h > 0, w <= 1 << 14, h <= 1 << 14 else { return nil }
        let start = 13, count = w * h * 3
        guard let cropCount = read32(start + count), start + count + 4 + cropCount == bytes.count,
              let info = try? JSONDecoder().decode(Provenance.self, from: Data(bytes[(start + count + 4)...]))
        else { return nil }
        return Entry(image: RGBImage(width: w, height: h, pixels: Array(bytes[start..<(start + count)])), crop: info.crop,
                     decode: info.decode)
    }
}
