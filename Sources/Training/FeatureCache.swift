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
///   written to a temporary file and renamed. A missing or malformed entry is a miss.
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
}
