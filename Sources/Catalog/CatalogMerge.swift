import DICOM
import Foundation
import GRDB

/// Joining shard catalogs (`sonokit catalog merge`): N machines ingest 1/N of an export each
/// (`--shard I/N`), and their catalogs are merged into one.
extension Catalog {
    public struct MergeOutcome: Equatable, Sendable {
        public var instances = 0
        public var duplicates = 0
        public var files = 0
        public var problems = 0
    }

    /// Copies every file record, instance (with its study, series, patient and frames) and problem
    /// of `source` into this catalog in one transaction. Pseudonymous keys are recomputed with this
    /// catalog's secret from the raw identifiers (each shard had its own secret). An instance
    /// already present here is recorded as a duplicate, not copied twice.
    @discardableResult
    public func merge(from source: Catalog) throws -> MergeOutcome {
        struct SourceInstance {
            let path: String
            let metadata: DicomMetadata
            let identifiers: PatientIdentifiers
            let hashes: [Int: String]
        }
        let (files, instances, problems): ([Row], [SourceInstance], [Row]) = try source.database.read { db in
            let files = try Row.fetchAll(db, sql: "SELECT path, size, mtime, status, sop_instance_uid FROM files")
            let problems = try Row.fetchAll(db, sql: "SELECT path, kind, message FROM problems")
            var instances: [SourceInstance] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT i.sop_instance_uid, i.path, i.metadata_json, p.patient_id, p.patient_name, p.birth_date
                FROM instances i JOIN series s ON s.series_instance_uid = i.series_instance_uid
                JOIN studies st ON st.study_instance_uid = s.study_instance_uid
                JOIN patients p ON p.patient_key = st.patient_key
                """) {
                let metadata = try JSONDecoder().decode(DicomMetadata.self, from: Data((row["metadata_json"] as String).utf8))
                var hashes: [Int: String] = [:]
                for h in try Row.fetchAll(db, sql: "SELECT frame_index, content_sha256 FROM frames WHERE sop_instance_uid = ? AND content_sha256 IS NOT NULL",
                                          arguments: [row["sop_instance_uid"] as String]) {
                    hashes[h["frame_index"]] = h["content_sha256"]
                }
                instances.append(SourceInstance(
                    path: row["path"], metadata: metadata,
                    identifiers: PatientIdentifiers(patientName: row["patient_name"], patientID: row["patient_id"], birthDate: row["birth_date"]),
                    hashes: hashes))
            }
            return (files, instances, problems)
        }
        return try database.write { db in
            var outcome = MergeOutcome()
            var duplicatePaths = Set<String>()
            for instance in instances {
                switch try insertInstance(db, path: instance.path, instance.metadata, instance.identifiers, instance.hashes) {
                case .inserted:
                    outcome.instances += 1
                case .alreadyPresent:
                    break
                case .duplicate:
                    outcome.duplicates += 1
                    duplicatePaths.insert(instance.path)
                    try db.execute(sql: "INSERT OR REPLACE INTO problems (path, kind, message) VALUES (?, 'duplicate_sop_instance', ?)",
                                   arguments: [instance.path, "\(instance.path): SOP Instance UID \(instance.metadata.sopInstanceUID) is already indexed from another file; this copy is skipped"])
                }
            }
            for row in problems {
                try db.execute(sql: "INSERT OR REPLACE INTO problems (path, kind, message) VALUES (?, ?, ?)",
                               arguments: [row["path"] as String, row["kind"] as String, row["message"] as String])
                outcome.problems += 1
            }
            for row in files {
                let path: String = row["path"]
                let status: String = duplicatePaths.contains(path) ? "duplicate" : row["status"]
                try db.execute(sql: """
                    INSERT INTO files (path, size, mtime, status, sop_instance_uid) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                        status = excluded.status, sop_instance_uid = excluded.sop_instance_uid
                    """, arguments: [path, row["size"] as Int64, row["mtime"] as Double, status, row["sop_instance_uid"] as String?])
                outcome.files += 1
            }
            return outcome
        }
    }
}
