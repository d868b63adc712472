import Foundation
import SonoKitCore

/// Pseudonymous keys for the studies, series and instances a prediction run reports.
///
/// - Study keys: with a catalog input, the catalog's own study key (HMAC-SHA256 of the
///   StudyInstanceUID with the catalog's secret), so reports join with manifests and evaluation;
///   otherwise `"S-"` + the first 16 hex digits of HMAC-SHA256(output secret, "study" NUL UID).
/// - Series and instance keys: always keyed with the output secret (`"R-"`, `"I-"`).
///
/// The output secret is 32 random bytes kept in `OUT_DIR/.sonokit-key-secret` (mode 0600) and
/// reused by later runs into the same folder, so keys are stable there and unlinkable to any
/// other output folder. Without the secret a key does not reveal the UID.
public struct PredictionKeys: Sendable {
    public enum StudyKeySource: String, Codable, Sendable {
        /// The catalog's study key.
        case catalog
        /// HMAC-SHA256 of the StudyInstanceUID with the output folder's secret.
        case outputSecret = "output_secret_hmac_sha256"
    }

    public let secret: Data
    /// Study keys from a catalog, by StudyInstanceUID (empty when the input was not a catalog).
    public let catalogStudyKeys: [String: String]

    public init(secret: Data, catalogStudyKeys: [String: String] = [:]) {
        self.secret = secret
        self.catalogStudyKeys = catalogStudyKeys
    }

    /// The secret file's name inside an output folder.
    public static let secretFileName = ".sonokit-key-secret"

    /// Loads the secret of `outputFolder`, creating it (32 random bytes, mode 0600) when absent.
    public static func secret(inOutputFolder outputFolder: String) throws -> Data {
        let path = (outputFolder as NSString).appendingPathComponent(secretFileName)
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw PredictionError.badSecret(path: path, bytes: data.count) }
            return data
        }
        // Created once, never replaced: the shards of a `predict --shard` run, starting at the
        // same time on a shared folder, must all key with the same secret.
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        let secret: Data
        do { secret = try AtomicFile.createOnce(Pseudonym.newSecret(), at: path, permissions: 0o600) } catch let error as AtomicFile.WriteError {
            throw PredictionError.write(path: path, detail: error.reason)
        }
        guard secret.count == 32 else { throw PredictionError.badSecret(path: path, bytes: secret.count) }
        return secret
    }

    public func studyKeySource(studyInstanceUID: String) -> StudyKeySource {
        catalogStudyKeys[studyInstanceUID] != nil ? .catalog : .outputSecret
    }

    public func studyKey(_ studyInstanceUID: String) -> String {
        catalogStudyKeys[studyInstanceUID]
            ?? Pseudonym(secret: secret).keyed("study", studyInstanceUID, prefix: "S-")
    }

    public func seriesKey(_ seriesInstanceUID: String) -> String {
        Pseudonym(secret: secret).keyed("series", seriesInstanceUID, prefix: "R-")
    }

    public func instanceKey(_ sopInstanceUID: String) -> String {
        Pseudonym(secret: secret).keyed("instance", sopInstanceUID, prefix: "I-")
    }

    /// A key for a file that could not be read (its path may contain names).
    public func fileKey(_ path: String) -> String {
        Pseudonym(secret: secret).keyed("file", path, prefix: "F-")
    }
}
