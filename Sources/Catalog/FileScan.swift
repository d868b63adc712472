import Crypto
import DICOM
import Foundation

/// What reading one file's header (and, when verifying, all its frames) found.
public enum FileScan: Sendable {
    /// A DICOM instance, image or not.
    case instance(DicomMetadata, PatientIdentifiers, frameHashes: [Int: String])
    /// Not DICOM by content.
    case nonDICOM
    /// A DICOMDIR (an index of a medium): skipped and counted.
    case dicomdir
    /// DICOM that cannot be used, with the reason.
    case problem(kind: String, message: String)

    /// Reads `path`. With `verify`, decodes every frame of an image and records the SHA-256 of
    /// each decoded RGB frame; a frame that fails to decode makes the file a problem.
    /// Never throws: every failure becomes `.problem` naming the file.
    public static func scan(path: String, verify: Bool) -> FileScan {
        guard DicomFile.looksLikeDICOM(path: path) else {
            return FileManager.default.isReadableFile(atPath: path)
                ? .nonDICOM
                : .problem(kind: "unreadable", message: "\(path): cannot read the file; check its permissions")
        }
        do {
            let file = try DicomFile(path: path)
            if file.isDICOMDIR { return .dicomdir }
            let m = file.metadata
            guard !m.sopInstanceUID.isEmpty, !m.studyInstanceUID.isEmpty, !m.seriesInstanceUID.isEmpty else {
                return .problem(kind: "missing_uid",
                                message: "\(path): SOP Instance (0008,0018), Study Instance (0020,000D) or Series Instance UID (0020,000E) is missing; the file cannot be placed in a study")
            }
            var hashes: [Int: String] = [:]
            if verify && m.isImage {
                for index in 0..<m.numberOfFrames {
                    let frame = try file.decodeFrame(index)
                    hashes[index] = frame.image.pixels.withUnsafeBytes { SHA256.hash(data: $0) }
                        .map { String(format: "%02x", $0) }.joined()
                }
            }
            return .instance(m, file.identifiers, frameHashes: hashes)
        } catch let error as DicomError {
            return .problem(kind: error.kind, message: error.description)
        } catch {
            return .problem(kind: "unreadable", message: "\(path): \(error)")
        }
    }
}
