import DICOM
import Foundation
import SonoKitCore
import GRDB
import SonoKitCore

/// The SQLite index of one or more DICOM exports: patients, studies, series, instances, frames
/// and the problems met while reading them (GRDB.swift over SQLite, WAL journal).
///
/// Every write is a transaction, so a process killed at any moment leaves the catalog as it was
/// after the last committed batch. Patients and studies are known outside the catalog only by
/// pseudonymous keys (`Pseudonymizer` with a secret stored in this catalog); the raw identifiers
/// never leave it unless a user asks for them.
public final class Catalog {
    public enum Failure: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)
        public var description: String {
            switch self {
            case let .cannotOpen(path, reason):
                return "\(path): cannot open the catalog: \(reason); check the path, or delete the file to start a new catalog"
            }
        }
    }

    public let path: String
    let database: DatabaseQueue
    public let pseudonymizer: Pseudonymizer

    /// Opens the catalog at `path`, creating it (and its secret) when it does not exist.
    ///
    /// The catalog holds patient names, IDs and birth dates, and the secret of every key: it is
    /// created owner-only (0600) before SQLite opens it, and SQLite gives its -wal and -shm files
    /// the mode of the database file. A catalog made by an older SonoKit (0644) is tightened to
    /// 0600, with its -wal/-shm files, when it is opened.
    public init(path: String) throws {
        self.path = path
        do {
            try OwnerOnly.createEmptyFile(path)
            // Best effort: another user's catalog (opened read-only, say) cannot be chmod-ed.
            for file in [path, path + "-wal", path + "-shm"] { try? OwnerOnly.restrict(file) }
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(30)
            database = try DatabaseQueue(path: path, configuration: configuration)
            if CrashPoint.isArmed { database.add(transactionObserver: CrashPointCommitObserver(), extent: .databaseLifetime) }
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            try CatalogSchema.migrator().migrate(database)
            let secret: Data = try database.write { db in
                if let existing = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'secret'") {
                    return existing
                }
                let fresh = Pseudonymizer.newSecret()
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('secret', ?)", arguments: [fresh])
                return fresh
            }
            pseudonymizer = Pseudonymizer(secret: secret)
        } catch {
            throw Failure.cannotOpen(path: path, reason: "\(error)")
        }
    }

    // MARK: - Lookups

    public func instance(sopUID: String) throws -> CatalogInstance? {
        try fetchInstances(where: "i.sop_instance_uid = ?", [sopUID]).first
    }

    public func instances(forSeries seriesUID: String) throws -> [CatalogInstance] {
        try fetchInstances(where: "i.series_instance_uid = ?", [seriesUID])
    }

    public func instances(forStudy studyUID: String) throws -> [CatalogInstance] {
        try fetchInstances(where: "s.study_instance_uid = ?", [studyUID])
    }

    public func instances(accession: String) throws -> [CatalogInstance] {
        try fetchInstances(where: "st.accession_number = ?", [accession])
    }

    /// The instance stored at `path` (made absolute and standardized first).
    public func instance(path: String) throws -> CatalogInstance? {
        try fetchInstances(where: "i.path = ?", [Self.standardize(path)]).first
    }

    /// Every instance in the catalog, ordered by study, series, instance number, path.
    public func allInstances() throws -> [CatalogInstance] {
        try fetchInstances(where: "1", [])
    }

    /// The metadata recorded at ingest for an instance.
    public func metadata(sopUID: String) throws -> DicomMetadata? {
        let json = try database.read { db in
            try String.fetchOne(db, sql: "SELECT metadata_json FROM instances WHERE sop_instance_uid = ?", arguments: [sopUID])
        }
        return try json.map { try JSONDecoder().decode(DicomMetadata.self, from: Data($0.utf8)) }
    }

    /// The problems recorded for files that could not be indexed, ordered by path.
    public func problems() throws -> [CatalogProblem] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT path, kind, message FROM problems ORDER BY path").map {
                CatalogProblem(path: $0["path"], kind: $0["kind"], message: $0["message"])
            }
        }
    }

    /// Totals over the whole catalog.
    public func summary() throws -> CatalogSummary {
        try database.read { db in
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? 0 }
            var byKind: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM problems GROUP BY kind") {
                byKind[row["kind"]] = row["n"]
            }
            return CatalogSummary(
                files: try count("SELECT COUNT(*) FROM files"),
                dicomInstances: try count("SELECT COUNT(*) FROM instances"),
                imageInstances: try count("SELECT COUNT(*) FROM instances WHERE is_image = 1"),
                ultrasoundInstances: try count("SELECT COUNT(*) FROM instances WHERE is_ultrasound = 1"),
                frames: try count("SELECT COUNT(*) FROM frames"),
                series: try count("SELECT COUNT(*) FROM series"),
                studies: try count("SELECT COUNT(*) FROM studies"),
                patients: try count("SELECT COUNT(*) FROM patients"),
                nonDICOMFiles: try count("SELECT COUNT(*) FROM files WHERE status = 'non_dicom'"),
                dicomdirFiles: try count("SELECT COUNT(*) FROM files WHERE status = 'dicomdir'"),
                duplicateFiles: try count("SELECT COUNT(*) FROM files WHERE status = 'duplicate'"),
                problemsByKind: byKind
            )
        }
    }

    /// Raw identifiers of a patient, for `--include-identifiers` and for checking a manifest's
    /// patient_id against the files. Never print these without the user's request.
    public func identifiers(patientKey: String) throws -> PatientIdentifiers? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT patient_id, patient_name, birth_date FROM patients WHERE patient_key = ?",
                             arguments: [patientKey]).map {
                PatientIdentifiers(patientName: $0["patient_name"], patientID: $0["patient_id"], birthDate: $0["birth_date"])
            }
        }
    }

    /// SHA-256 of decoded frames recorded by `ingest --verify` (frame index -> hex digest).
    public func frameHashes(sopUID: String) throws -> [Int: String] {
        try database.read { db in
            var hashes: [Int: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT frame_index, content_sha256 FROM frames WHERE sop_instance_uid = ? AND content_sha256 IS NOT NULL", arguments: [sopUID]) {
                hashes[row["frame_index"]] = row["content_sha256"]
            }
            return hashes
        }
    }

    /// Records SHA-256 digests of decoded frames (used for duplicate-pixel checks).
    public func recordFrameHashes(sopUID: String, _ hashes: [Int: String]) throws {
        try database.write { db in
            for (index, hash) in hashes {
                try db.execute(sql: "UPDATE frames SET content_sha256 = ? WHERE sop_instance_uid = ? AND frame_index = ?",
                               arguments: [hash, sopUID, index])
            }
        }
    }

    private func fetchInstances(where condition: String, _ arguments: [DatabaseValueConvertible]) throws -> [CatalogInstance] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.instanceColumns) \(Self.instanceJoins) WHERE \(condition) \(Self.instanceOrder)",
                             arguments: StatementArguments(arguments)).map(CatalogInstance.init(row:))
        }
    }

    /// The columns `CatalogInstance(row:)` reads (instances `i`, series `s`, studies `st`, patients `p`).
    static let instanceColumns = """
        i.sop_instance_uid, i.series_instance_uid, s.study_instance_uid, i.path, i.sop_class_uid,
        i.is_image, i.is_ultrasound, i.number_of_frames, i.rows, i.columns, i.instance_number,
        st.study_key, st.patient_key, st.accession_number, p.patient_id, s.modality, s.manufacturer, s.model_name
        """
    /// From an instance to its series, study and patient.
    static let instanceJoins = """
        FROM instances i
        JOIN series s ON s.series_instance_uid = i.series_instance_uid
        JOIN studies st ON st.study_instance_uid = s.study_instance_uid
        JOIN patients p ON p.patient_key = st.patient_key
        """
    /// Study, series, instance number, path: the order every lookup returns.
    static let instanceOrder = "ORDER BY st.study_instance_uid, s.series_instance_uid, i.instance_number, i.path"

    /// Absolute, standardized form of a path, as stored in the catalog.
    public static func standardize(_ path: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }
}

/// One instance as the catalog knows it, with pseudonymous study and patient keys.
public struct CatalogInstance: Codable, Hashable, Sendable {
    public let sopInstanceUID: String
    public let seriesInstanceUID: String
    public let studyInstanceUID: String
    public let path: String
    public let sopClassUID: String
    public let isImage: Bool
    public let isUltrasound: Bool
    public let numberOfFrames: Int
    public let rows: Int
    public let columns: Int
    public let instanceNumber: Int?
    public let studyKey: String
    public let patientKey: String
    public let accessionNumber: String?
    public let modality: String?
    public let manufacturer: String?
    public let modelName: String?
    /// The raw Patient ID, for checking a manifest against the files. Never print it.
    public let patientID: String?

    init(row: Row) {
        sopInstanceUID = row["sop_instance_uid"]
        seriesInstanceUID = row["series_instance_uid"]
        studyInstanceUID = row["study_instance_uid"]
        path = row["path"]
        sopClassUID = row["sop_class_uid"]
        isImage = row["is_image"]
        isUltrasound = row["is_ultrasound"]
        numberOfFrames = row["number_of_frames"]
        rows = row["rows"]
        columns = row["columns"]
        instanceNumber = row["instance_number"]
        studyKey = row["study_key"]
        patientKey = row["patient_key"]
        accessionNumber = row["accession_number"]
        modality = row["modality"]
        manufacturer = row["manufacturer"]
        modelName = row["model_name"]
        patientID = row["patient_id"]
    }
}

public struct CatalogProblem: Codable, Hashable, Sendable {
    public let path: String
    public let kind: String
    public let message: String
}

/// Totals over a catalog, printed at the end of an ingest.
public struct CatalogSummary: Codable, Equatable, Sendable {
    public var files: Int
    public var dicomInstances: Int
    public var imageInstances: Int
    public var ultrasoundInstances: Int
    public var frames: Int
    public var series: Int
    public var studies: Int
    public var patients: Int
    public var nonDICOMFiles: Int
    public var dicomdirFiles: Int
    public var duplicateFiles: Int
    public var problemsByKind: [String: Int]
}
