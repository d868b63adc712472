import Foundation
@testable import Manifest

/// An in-memory stand-in for the catalog: a table of instances with their accession numbers.
struct InMemoryResolver: ImageResolving {
    var instances: [ManifestInstance] = []
    var accessionOfStudy: [String: String] = [:]

    func resolve(_ reference: ImageReference) throws -> [ManifestInstance] {
        switch reference {
        case .path(let path): return instances.filter { $0.path == path }
        case .sopUID(let uid): return instances.filter { $0.sopInstanceUID == uid }
        case .seriesUID(let uid): return instances.filter { $0.seriesInstanceUID == uid }
        case .studyUID(let uid): return instances.filter { $0.studyInstanceUID == uid }
        case .accession(let number): return instances.filter { accessionOfStudy[$0.studyInstanceUID] == number }
        }
    }

    /// Adds one instance; UIDs are derived from short names so tests read well.
    mutating func add(_ sop: String, series: String, study: String, patient: String?, path: String? = nil,
                      isImage: Bool = true, isUltrasound: Bool = true, frames: Int = 1) {
        instances.append(ManifestInstance(sopInstanceUID: sop, seriesInstanceUID: series, studyInstanceUID: study,
                                          path: path ?? "/data/\(sop).dcm", isImage: isImage, isUltrasound: isUltrasound,
                                          numberOfFrames: frames, studyKey: "key-\(study)", patientKey: "pk-\(patient ?? "")",
                                          patientID: patient))
    }
}

/// Pixel hashes from a table (SOP UID -> frame hashes); an unknown SOP gets a hash of its own.
struct TablePixelHasher: PixelHashing {
    var hashes: [String: [String]] = [:]
    var failing: Set<String> = []
    struct Failure: Error, CustomStringConvertible { var description: String { "decode failed (test)" } }
    func frameHashes(of instance: ManifestInstance) throws -> [String] {
        if failing.contains(instance.sopInstanceUID) { throw Failure() }
        return hashes[instance.sopInstanceUID] ?? ["unique-\(instance.sopInstanceUID)"]
    }
}

let benignMalignant = try! ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant")

func parse(_ text: String, delimiter: ManifestDelimiter? = nil, classes: ClassDeclaration? = benignMalignant,
           directory: String = "/data") throws -> Manifest {
    try ManifestParser.parse(data: Data(text.utf8), file: "labels.csv", directory: directory, delimiter: delimiter, classes: classes)
}

func parse(bytes: [UInt8], classes: ClassDeclaration? = benignMalignant) throws -> Manifest {
    try ManifestParser.parse(data: Data(bytes), file: "labels.csv", directory: "/data", classes: classes)
}

extension ValidationReport {
    /// (code, line) of every issue, for compact assertions.
    var codesAndLines: [String] { issues.map { "\($0.code.rawValue)@\($0.line.map(String.init) ?? "-")" } }
}
