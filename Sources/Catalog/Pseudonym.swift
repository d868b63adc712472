import Crypto
import Foundation

/// Pseudonymous keys for patients and studies: a keyed hash (HMAC-SHA256) of the raw identifier
/// with a secret that lives only inside one catalog. The same identifier gets the same key within
/// a catalog; without the secret the key does not reveal the identifier (and a dictionary of
/// likely IDs cannot be tested against it).
public struct Pseudonymizer: Sendable {
    private let secret: Data

    /// A pseudonymizer with the catalog's secret (32 random bytes).
    public init(secret: Data) {
        self.secret = secret
    }

    /// A fresh random secret for a new catalog.
    public static func newSecret() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `"P-"` + the first 16 hex digits of HMAC(secret, "patient\u{0}" + id).
    public func patientKey(_ patientID: String) -> String { "P-" + digest("patient", patientID) }

    /// `"S-"` + the first 16 hex digits of HMAC(secret, "study\u{0}" + StudyInstanceUID).
    public func studyKey(_ studyInstanceUID: String) -> String { "S-" + digest("study", studyInstanceUID) }

    private func digest(_ domain: String, _ value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((domain + "\u{0}" + value).utf8), using: SymmetricKey(data: secret))
        return mac.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
