import DICOM
import Foundation
import SonoKitCore

/// `sonokit manifest from-folders`: turns the Keras folder-per-class layout
/// (`DIR/<class>/**/<file>`) into a manifest, so that users of that layout can migrate in one step.
///
/// - `label` is the name of the top-level folder a file is under; `patient_id` is the file's
///   DICOM PatientID (0010,0020), copied as is (empty when the file has none); `path` is relative to
///   the folder the manifest is written to.
/// - Only DICOM image objects become rows; other files (not DICOM, DICOMDIR, SR and other
///   non-image objects, files directly in `DIR`) are listed as skipped with the reason.
/// - The classes are *not* declared in the written file: folder names are sorted only to order
///   the rows, and which class is positive is the user's decision.
public enum FolderManifestBuilder {

    public struct Row: Equatable, Sendable {
        public var path: String
        public var label: String
        public var patientID: String
    }

    public struct Outcome: Sendable {
        public var rows: [Row]
        /// (path relative to DIR, reason)
        public var skipped: [(path: String, reason: String)]
        /// Class folder names with the number of rows each gave, sorted by name.
        public var filesPerFolder: [(label: String, files: Int)]
        public var rowsWithoutPatientID: Int
        public var patients: Int
    }

    /// Reads the tree under `root`; `manifestPath` is where the manifest will be written (paths in it
    /// are relative to its folder).
    public static func build(root: String, manifestPath: String) throws -> Outcome {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let manifestFolder = URL(fileURLWithPath: manifestPath).deletingLastPathComponent().standardizedFileURL
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: rootURL.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FolderManifestError.notAFolder(root)
        }
        var rows: [Row] = []
        var skipped: [(String, String)] = []
        var perFolder: [(String, Int)] = []
        let entries = try fm.contentsOfDirectory(atPath: rootURL.path).filter { !$0.hasPrefix(".") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for entry in entries {
            let url = rootURL.appendingPathComponent(entry)
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                skipped.append((entry, "not inside a class folder"))
                continue
            }
            var count = 0
            for file in regularFiles(under: url) {
                let relativeToRoot = relativePath(from: rootURL, to: file)
                guard DicomFile.looksLikeDICOM(path: file.path) else { skipped.append((relativeToRoot, "not DICOM")); continue }
                do {
                    let dicom = try DicomFile(path: file.path)
                    if dicom.isDICOMDIR { skipped.append((relativeToRoot, "DICOMDIR (an index, not an image)")); continue }
                    guard dicom.metadata.isImage else { skipped.append((relativeToRoot, "not an image object (SOP class \(dicom.metadata.sopClassUID))")); continue }
                    rows.append(Row(path: relativePath(from: manifestFolder, to: file), label: entry,
                                    patientID: (dicom.identifiers.patientID ?? "").trimmingWhitespace()))
                    count += 1
                } catch {
                    skipped.append((relativeToRoot, "unreadable: \(error)"))
                }
            }
            perFolder.append((entry, count))
        }
        return Outcome(rows: rows, skipped: skipped, filesPerFolder: perFolder,
                       rowsWithoutPatientID: rows.filter { $0.patientID.isEmpty }.count,
                       patients: Set(rows.map(\.patientID).filter { !$0.isEmpty }).count)
    }

    /// Writes the manifest (`path,label,patient_id`) atomically.
    public static func write(_ outcome: Outcome, to path: String) throws {
        let data = try CSVText.make(
            comments: ["written by sonokit manifest from-folders. Check every patient_id, then declare the classes with --classes and --positive"],
            header: ["path", "label", "patient_id"], rows: outcome.rows.map { [$0.path, $0.label, $0.patientID] })
        try AtomicFile.write(data, to: path)
    }

    /// Regular, non-hidden files under `folder`, recursively, sorted by path bytes.
    static func regularFiles(under folder: URL) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey],
                                                              options: [.skipsHiddenFiles]) else { return [] }
        var files: [URL] = []
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            files.append(url.standardizedFileURL)
        }
        return files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    /// `file` relative to `folder` (with `..` steps when `file` is not below it).
    static func relativePath(from folder: URL, to file: URL) -> String {
        let base = folder.standardizedFileURL.pathComponents
        let target = file.standardizedFileURL.pathComponents
        var common = 0
        while common < base.count, common < target.count, base[common] == target[common] { common += 1 }
        let ups = Array(repeating: "..", count: base.count - common)
        return (ups + target[common...]).joined(separator: "/")
    }
}

public enum FolderManifestError: Error, CustomStringConvertible, Equatable {
    case notAFolder(String)
    public var description: String {
        switch self {
        case .notAFolder(let path): return "\(path): not a folder. Give the folder whose sub-folders are the classes (DIR/benign/..., DIR/malignant/...)."
        }
    }
}
