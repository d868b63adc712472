import Catalog
import DICOM
import Foundation
import Reports

/// The instances `predict` runs on, from files, folders and catalogs.
public enum PredictionInputs {
    public struct Collected {
        public var instances: [PredictionInstance] = []
        public var unreadable: [(path: String, reason: String)] = []
        public var catalogStudyKeys: [String: String] = [:]
    }

    public static func isCatalog(_ path: String) -> Bool {
        guard path.hasSuffix(".sqlite") || path.hasSuffix(".db") else { return false }
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && !folder.boolValue
    }

    public static func collect(_ inputs: [String], secret: Data) throws -> Collected {
        var out = Collected()
        var seen = Set<String>()
        for input in inputs {
            if isCatalog(input) {
                let catalog: Catalog
                do { catalog = try Catalog(path: input) } catch { throw WorkflowError.failed("\(input): cannot open the catalog: \(error)") }
                for i in try catalog.allInstances() where i.isImage && !seen.contains(i.sopInstanceUID) {
                    seen.insert(i.sopInstanceUID)
                    out.catalogStudyKeys[i.studyInstanceUID] = i.studyKey
                    out.instances.append(instance(i))
                }
                continue
            }
            let files: [ExportFile]
            do { files = try ExportWalker.files(under: [input]) } catch { throw WorkflowError.failed("\(error)") }
            for f in files where DicomFile.looksLikeDICOM(path: f.path) {
                do {
                    let file = try DicomFile(path: f.path)
                    let m = file.metadata
                    guard m.isImage, !file.isDICOMDIR, !seen.contains(m.sopInstanceUID) else { continue }
                    seen.insert(m.sopInstanceUID)
                    out.instances.append(PredictionInstance(path: f.path, sopClassUID: m.sopClassUID, sopInstanceUID: m.sopInstanceUID,
                                                            seriesInstanceUID: m.seriesInstanceUID, studyInstanceUID: m.studyInstanceUID,
                                                            modality: m.modality, manufacturer: m.manufacturer, numberOfFrames: m.numberOfFrames))
                } catch {
                    out.unreadable.append((f.path, "\(error)"))
                }
            }
        }
        return out
    }

    /// A catalog's image instance as `predict` takes it.
    public static func instance(_ i: CatalogInstance) -> PredictionInstance {
        PredictionInstance(path: i.path, sopClassUID: i.sopClassUID, sopInstanceUID: i.sopInstanceUID,
                           seriesInstanceUID: i.seriesInstanceUID, studyInstanceUID: i.studyInstanceUID,
                           modality: i.modality, manufacturer: i.manufacturer, numberOfFrames: i.numberOfFrames)
    }

    /// A failure message without the file's path (paths of exports often hold patient names):
    /// unless identifiers were asked for, a leading "PATH: " is dropped (whoever shows the message
    /// names the file by its key already: a report's failure item, unreadable-files.csv's
    /// file_key; "KEY: KEY: frame 0 ..." before) and any other occurrence of the path becomes the key.
    public static func scrub(_ reason: String, path: String, key: String, keep: Bool) -> String {
        if keep { return reason }
        let prefix = path + ": "
        let text = reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason
        return text.replacingOccurrences(of: path, with: key)
    }
}
