import Foundation
import SonoKitCore

/// Pseudonymous keys for patients and studies: SonoKitCore's keyed pseudonym (HMAC-SHA256) with a
/// secret that lives only inside one catalog. The same identifier gets the same key within a
/// catalog; without the secret the key does not reveal the identifier (and a dictionary of likely
/// IDs cannot be tested against it).
public typealias Pseudonymizer = Pseudonym

extension Pseudonym {
    /// `"P-"` + the first 16 hex digits of HMAC(secret, "patient\u{0}" + id).
    public func patientKey(_ patientID: String) -> String { keyed("patient", patientID, prefix: "P-") }

    /// `"S-"` + the first 16 hex digits of HMAC(secret, "study\u{0}" + StudyInstanceUID).
    public func studyKey(_ studyInstanceUID: String) -> String { keyed("study", studyInstanceUID, prefix: "S-") }
}
