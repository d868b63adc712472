import Crypto
import Foundation

/// Hashes used by the reports: SHA-256 of bytes, and the keyed pseudonyms of study, series and
/// instance UIDs when the input is not a catalog.
public enum PredictionHashing {
    public static func sha256(_ data: Data) -> [UInt8] { Array(SHA256.hash(data: data)) }

    public static func sha256Hex(_ data: Data) -> String { sha256(data).map { String(format: "%02x", $0) }.joined() }

    /// `prefix` + the first 16 hex digits of HMAC-SHA256(secret, domain + NUL + value).
    static func keyed(_ secret: Data, domain: String, value: String, prefix: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((domain + "\u{0}" + value).utf8), using: SymmetricKey(data: secret))
        return prefix + mac.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
