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

    /// Bytes as lowercase hex, two digits each.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
