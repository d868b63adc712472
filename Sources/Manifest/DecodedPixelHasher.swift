import Catalog
import Crypto
import DICOM
import Foundation

/// Content hashes for the duplicate-pixel checks: SHA-256 of the decoded 8-bit RGB bytes of
/// **every frame** (`DicomFile.decodeFrame`, the file's own VOI), hex-encoded.
///
/// Why every frame and not only the first: the leak that matters in ultrasound is a still image
/// exported from a cine loop (or one loop exported twice under two pseudonyms); such a still
/// equals some frame of the loop, rarely the first. Decoding every frame is the price; it is paid
/// once per catalog, because the hashes are the same digests `sonokit ingest --verify` records
/// (`Catalog.frameHashes`) and are written back to the catalog when computed here, so the
/// validation that `train`, `evaluate` and `predict` repeat costs lookups only.
///
/// Identical bytes of different frame sizes would collide; for real images of different sizes
/// that would need identical byte counts and contents, which the checks accept as a risk.
public struct DecodedPixelHasher: PixelHashing, @unchecked Sendable {
    /// Unchecked: `Catalog` serialises every database access through its GRDB queue.
    public let catalog: Catalog?

    public init(catalog: Catalog?) { self.catalog = catalog }

    public func frameHashes(of instance: ManifestInstance) throws -> [String] {
        if let catalog, let cached = try? catalog.frameHashes(sopUID: instance.sopInstanceUID),
           cached.count == instance.numberOfFrames, instance.numberOfFrames > 0 {
            return cached.keys.sorted().map { cached[$0]! }
        }
        let file = try DicomFile(path: instance.path)
        var hashes: [Int: String] = [:]
        for index in 0..<file.metadata.numberOfFrames {
            hashes[index] = Self.digest(try file.decodeFrame(index).image.pixels)
        }
        // A read-only catalog only loses the cache; the hashes are still right.
        try? catalog?.recordFrameHashes(sopUID: instance.sopInstanceUID, hashes)
        return hashes.keys.sorted().map { hashes[$0]! }
    }

    /// Lower-case hex SHA-256 of `bytes`, the digest format of the catalog.
    public static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
