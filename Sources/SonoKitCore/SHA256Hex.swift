import Crypto
import Foundation

/// SHA-256 as lowercase hexadecimal: the hashes recorded in configs, model cards and reports
/// (weights, manifests, preprocessing configurations).
public enum SHA256Hex {
    /// The 32 digest bytes.
    public static func bytes(_ data: Data) -> [UInt8] { Array(SHA256.hash(data: data)) }

    /// 64 lowercase hex digits of SHA-256(`data`).
    public static func of(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// 64 lowercase hex digits of SHA-256 of `text`'s UTF-8 bytes.
    public static func of(_ text: String) -> String { of(Data(text.utf8)) }

    /// 64 lowercase hex digits of SHA-256 of the file's bytes (memory-mapped when possible).
    public static func of(file url: URL) throws -> String { of(try Data(contentsOf: url, options: .mappedIfSafe)) }

    /// Bytes as lowercase hex, two digits each. A table lookup, not `String(format:)` per byte:
    /// every pseudonymous key goes through here (a catalog merge makes two per instance, and the
    /// formatting was a tenth of its time).
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var digits: [UInt8] = []
        digits.reserveCapacity(2 * bytes.underestimatedCount)
        for byte in bytes {
            digits.append(hexDigits[Int(byte >> 4)])
            digits.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
