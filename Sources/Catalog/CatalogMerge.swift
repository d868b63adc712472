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
    ///
    /// The source is streamed: its rows are read one at a time through SQLite cursors (in one read
    /// transaction of `source`, a consistent snapshot) while they are written here, so memory does
    /// not grow with the size of the shard; only the paths of duplicate instances are kept until
    /// the file records are copied. Every statement is prepared once per merge (GRDB's statement
    /// cache), not once per row, and each instance's metadata text is copied as the shard stores
    /// it (shards are ingested by the same SonoKit), not encoded again. `source` must be another
    /// `Catalog` object than this one (it may be a second one opened on the same file: merging a
    /// catalog into itself changes nothing).
    @discardableResult
    public func merge(from source: Catalog) throws -> MergeOutcome {
        try database.write { db in
            try source.database.read { sourceDB in
                var outcome = MergeOutcome()
                var duplicatePaths = Set<String>()
                let decoder = JSONDecoder()
                let sourceHashes = try sourceDB.cachedStatement(sql: """
                    SELECT frame_index, content_sha256 FROM frames WHERE sop_instance_uid = ? AND content_sha256 IS NOT NULL
                    """)
                let instances = try Row.fetchCursor(sourceDB, sql: """
                    SELECT i.sop_instance_uid, i.path, i.metadata_json, p.patient_id, p.patient_name, p.birth_date
                    FROM instances i JOIN series s ON s.series_instance_uid = i.series_instance_uid
                    JOIN studies st ON st.study_instance_uid = s.study_instance_uid
                    JOIN patients p ON p.patient_key = st.patient_key
                    """)
                while let row = try instances.next() {
                    let path: String = row["path"]
                    let json: String = row["metadata_json"]
                    let metadata = try decoder.decode(DicomMetadata.self, from: Data(json.utf8))
                    let identifiers = PatientIdentifiers(patientName: row["patient_name"], patientID: row["patient_id"], birthDate: row["birth_date"])
                    var hashes: [Int: String] = [:]
                    for h in try Row.fetchAll(sourceHashes, arguments: [row["sop_instance_uid"] as String]) {
                        hashes[h["frame_index"]] = h["content_sha256"]
                    }
                    // The shard's metadata text is copied as it is (the same encoder wrote it), not
                    // encoded again: encoding it again was a fifth of the merge's time.
                    switch try insertInstance(db, path: path, metadata, identifiers, hashes, metadataJSON: json) {
                    case .inserted:
                        outcome.instances += 1
                    case .alreadyPresent:
                        break
                    case .duplicate:
                        outcome.duplicates += 1
                        duplicatePaths.insert(path)
                        try db.cachedStatement(sql: "INSERT OR REPLACE INTO problems (path, kind, message) VALUES (?, 'duplicate_sop_instance', ?)")
                            .execute(arguments: [path, "\(path): SOP Instance UID \(metadata.sopInstanceUID) is already indexed from another file; this copy is skipped"])
                    }
                }
                let insertProblem = try db.cachedStatement(sql: "INSERT OR REPLACE INTO problems (path, kind, message) VALUES (?, ?, ?)")
                let problems = try Row.fetchCursor(sourceDB, sql: "SELECT path, kind, message FROM problems")
                while let row = try problems.next() {
                    try insertProblem.execute(arguments: [row["path"] as String, row["kind"] as String, row["message"] as String])
                    outcome.problems += 1
                }
                let insertFile = try db.cachedStatement(sql: """
                    INSERT INTO files (path, size, mtime, status, sop_instance_uid) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                        status = excluded.status, sop_instance_uid = excluded.sop_instance_uid
                    """)
                let files = try Row.fetchCursor(sourceDB, sql: "SELECT path, size, mtime, status, sop_instance_uid FROM files")
                while let row = try files.next() {
                    let path: String = row["path"]
                    let status: String = duplicatePaths.contains(path) ? "duplicate" : row["status"]
                    try insertFile.execute(arguments: [path, row["size"] as Int64, row["mtime"] as Double, status, row["sop_instance_uid"] as String?])
                    outcome.files += 1
                }
                return outcome
            }
        }
    }
}
