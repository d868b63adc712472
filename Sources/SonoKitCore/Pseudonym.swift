import Crypto
import Foundation

/// Pseudonymous keys: the one scheme every output uses instead of a patient ID, a UID or a path.
///
/// - `keyed(_:_:prefix:)`: `prefix` + the first 16 hex digits of HMAC-SHA256(secret, domain +
///   NUL + value). Without the secret a key does not reveal the value, and a dictionary of likely
///   IDs cannot be tested against it; the domain keeps a patient ID and a UID that happen to be
///   equal from getting the same key. Catalog keys (`P-`, `S-`, with the catalog's secret) and
///   prediction keys (`S-`, `R-`, `I-`, `F-`, with the output folder's secret) are this.
/// - `unkeyed(_:)`: the first 12 hex digits of SHA-256(value), no secret: a short, stable
///   file-name part for UIDs (preview folders, evaluation thumbnails). A UID is no identifier of a
///   person, so a keyless hash is enough there; it is a different format, kept as it is.
public struct Pseudonym: Sendable {
    private let secret: Data

    /// A keyed scheme with `secret` (a catalog's or an output folder's 32 random bytes).
    public init(secret: Data) {
        self.secret = secret
    }

    /// A fresh random secret (32 bytes).
    public static func newSecret() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `prefix` + the first 16 hex digits of HMAC-SHA256(secret, domain + NUL + value).
    public func keyed(_ domain: String, _ value: String, prefix: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((domain + "\u{0}" + value).utf8), using: SymmetricKey(data: secret))
        return prefix + SHA256Hex.hex(mac.prefix(8))
    }

    /// The first 12 hex digits of SHA-256(value) (no secret).
    public static func unkeyed(_ value: String) -> String {
        SHA256Hex.hex(SHA256.hash(data: Data(value.utf8)).prefix(6))
    }
}
