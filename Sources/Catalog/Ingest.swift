import DICOM
import Dispatch
import Foundation
import GRDB

/// Counts of one ingest run (the catalog's totals are in `CatalogSummary`).
public struct IngestRun: Codable, Equatable, Sendable {
    /// Files found under the folders (in this shard).
    public var filesSeen = 0
    /// Files skipped because the catalog already has them with the same size and mtime.
    public var unchanged = 0
    public var newInstances = 0
    public var nonDICOM = 0
    public var dicomdir = 0
    public var duplicates = 0
    public var problems = 0
    public var seconds = 0.0

    public init() {}
}

/// Progress of an ingest, reported after each committed batch.
public struct IngestProgress: Sendable {
    public let done: Int
    public let total: Int
    public let elapsed: Double
    public var filesPerSecond: Double { elapsed > 0 ? Double(done) / elapsed : 0 }
    public var secondsLeft: Double? { done > 0 ? elapsed / Double(done) * Double(total - done) : nil }
}

/// Indexes DICOM exports into a catalog: walks the folders, skips files already indexed and
/// unchanged (path, size, mtime), reads headers on `jobs` threads, and commits every batch in one
/// transaction, so that a killed run loses nothing committed and the next run completes it.
public struct Ingestor {
    public var jobs: Int
    public var shard: Shard
    /// Decode every frame and record its content hash (slower; finds damage inside compressed data).
    public var verify: Bool
    /// Files per transaction.
    public var batchSize: Int
    /// Stop after this many files (for tests of interrupted runs); nil: all.
    public var limit: Int?

    public init(jobs: Int = ProcessInfo.processInfo.activeProcessorCount, shard: Shard = .whole,
                verify: Bool = false, batchSize: Int = 64, limit: Int? = nil) {
        self.jobs = max(1, jobs)
        self.shard = shard
        self.verify = verify
        self.batchSize = max(1, batchSize)
        self.limit = limit
    }

    public func run(folders: [String], into catalog: Catalog,
                    progress: ((IngestProgress) -> Void)? = nil) throws -> IngestRun {
        let start = DispatchTime.now()
        var run = IngestRun()
        let files = try ExportWalker.files(under: folders, shard: shard)
        run.filesSeen = files.count
        let known = try catalog.knownFiles()
        var pending = files.filter { file in
            guard let k = known[file.path] else { return true }
            return !(k.size == file.size && k.mtime == file.mtime)
        }
        run.unchanged = files.count - pending.count
        if let limit { pending = Array(pending.prefix(limit)) }

        var done = 0
        for batchStart in stride(from: 0, to: pending.count, by: batchSize) {
            let batch = Array(pending[batchStart..<min(batchStart + batchSize, pending.count)])
            let scans = scanConcurrently(batch)
            let outcome = try catalog.record(zip(batch, scans).map { ($0, $1) })
            run.newInstances += outcome.instances
            run.nonDICOM += outcome.nonDICOM
            run.dicomdir += outcome.dicomdir
            run.duplicates += outcome.duplicates
            run.problems += outcome.problems
            done += batch.count
            progress?(IngestProgress(done: done, total: pending.count, elapsed: Self.seconds(since: start)))
        }
        run.seconds = Self.seconds(since: start)
        return run
    }

    /// Scans `batch` on `jobs` threads; results in the order of `batch`.
    private func scanConcurrently(_ batch: [ExportFile]) -> [FileScan] {
        var results = [FileScan?](repeating: nil, count: batch.count)
        let lock = NSLock()
        var next = 0
        let verify = self.verify
        DispatchQueue.concurrentPerform(iterations: min(jobs, batch.count)) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                guard i < batch.count else { return }
                let scan = FileScan.scan(path: batch[i].path, verify: verify)
                lock.lock()
                results[i] = scan
                lock.unlock()
            }
        }
        return results.map { $0! }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

// MARK: - Writing scan results

struct RecordOutcome {
    var instances = 0, nonDICOM = 0, dicomdir = 0, duplicates = 0, problems = 0
}

extension Catalog {
    struct KnownFile { let size: Int64; let mtime: Double }

    func knownFiles() throws -> [String: KnownFile] {
        try database.read { db in
            var known: [String: KnownFile] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT path, size, mtime FROM files") {
                known[row["path"]] = KnownFile(size: row["size"], mtime: row["mtime"])
            }
            return known
        }
    }

    /// Writes one batch of scan results in a single transaction.
    func record(_ batch: [(ExportFile, FileScan)]) throws -> RecordOutcome {
        try database.write { db in
            var outcome = RecordOutcome()
            for (file, scan) in batch {
                // A changed file replaces what was recorded for it before.
                try db.execute(sql: "DELETE FROM instances WHERE path = ?", arguments: [file.path])
                try db.execute(sql: "DELETE FROM problems WHERE path = ?", arguments: [file.path])
                var status: String
                var sopUID: String?
                switch scan {
                case .nonDICOM:
                    status = "non_dicom"; outcome.nonDICOM += 1
                case .dicomdir:
                    status = "dicomdir"; outcome.dicomdir += 1
                case let .problem(kind, message):
                    status = "problem"; outcome.problems += 1
                    try db.execute(sql: "INSERT INTO problems (path, kind, message) VALUES (?, ?, ?)",
                                   arguments: [file.path, kind, message])
                case let .instance(metadata, identifiers, hashes):
                    sopUID = metadata.sopInstanceUID
                    if try insertInstance(db, path: file.path, metadata, identifiers, hashes) != .duplicate {
                        status = "instance"; outcome.instances += 1
                    } else {
                        status = "duplicate"; outcome.duplicates += 1
                        let first = try String.fetchOne(db, sql: "SELECT path FROM instances WHERE sop_instance_uid = ?",
                                                        arguments: [metadata.sopInstanceUID]) ?? "another file"
                        try db.execute(sql: "INSERT INTO problems (path, kind, message) VALUES (?, 'duplicate_sop_instance', ?)",
                                       arguments: [file.path, "\(file.path): same SOP Instance UID as \(first), which is indexed; this copy is skipped"])
                    }
                }
                try db.execute(sql: """
                    INSERT INTO files (path, size, mtime, status, sop_instance_uid) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                        status = excluded.status, sop_instance_uid = excluded.sop_instance_uid
                    """, arguments: [file.path, file.size, file.mtime, status, sopUID])
            }
            return outcome
        }
    }

    enum InsertResult { case inserted, alreadyPresent, duplicate }

    /// Inserts patient, study, series, the instance and its frames; study and series rows take
    /// the values of their instance with the smallest path.
    /// `.alreadyPresent`: this very file is indexed already; `.duplicate`: the SOP instance is
    /// indexed from another file that still exists (a moved file's old record is replaced).
    /// Statements come from the connection's cache (prepared once, not once per instance: a
    /// merge runs them for every instance of a shard). `metadataJSON`: `m` as a catalog stores it
    /// (`metadataJSON(_:)`), when the caller has that text already (a merge copies the shard's,
    /// which this code wrote); nil: encoded here.
    func insertInstance(_ db: Database, path: String, _ m: DicomMetadata, _ ids: PatientIdentifiers,
                        _ hashes: [Int: String], metadataJSON: String? = nil) throws -> InsertResult {
        if let existingPath = try String.fetchOne(db.cachedStatement(sql: "SELECT path FROM instances WHERE sop_instance_uid = ?"),
                                                  arguments: [m.sopInstanceUID]) {
            if existingPath == path { return .alreadyPresent }
            if FileManager.default.fileExists(atPath: existingPath) { return .duplicate }
            try db.cachedStatement(sql: "DELETE FROM instances WHERE sop_instance_uid = ?").execute(arguments: [m.sopInstanceUID])
        }
        let patientKey = patientKey(for: ids.patientID, studyUID: m.studyInstanceUID)
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO patients (patient_key, patient_id, patient_name, birth_date) VALUES (?, ?, ?, ?)")
            .execute(arguments: [patientKey, ids.patientID, ids.patientName, ids.birthDate])
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO studies (study_instance_uid, study_key, patient_key, accession_number, study_date, study_description)
            VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [m.studyInstanceUID, pseudonymizer.studyKey(m.studyInstanceUID), patientKey,
                             m.accessionNumber, m.studyDate, m.studyDescription])
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO series (series_instance_uid, study_instance_uid, modality, manufacturer, model_name, series_description)
            VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [m.seriesInstanceUID, m.studyInstanceUID, m.modality, m.manufacturer, m.modelName, m.seriesDescription])
        let json = try metadataJSON ?? Self.metadataJSON(m)
        try db.cachedStatement(sql: """
            INSERT INTO instances (sop_instance_uid, series_instance_uid, path, sop_class_uid, instance_number,
                transfer_syntax_uid, photometric_interpretation, rows, columns, number_of_frames, samples_per_pixel,
                bits_allocated, is_image, is_ultrasound, region_count, frame_time_ms, metadata_json)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [m.sopInstanceUID, m.seriesInstanceUID, path, m.sopClassUID, m.instanceNumber,
                             m.transferSyntaxUID, m.photometricInterpretation, m.rows, m.columns,
                             m.isImage ? m.numberOfFrames : 0, m.samplesPerPixel, m.bitsAllocated,
                             m.isImage, m.isUltrasound, m.regions.count, m.frameTimeMs, json])
        // The study and series rows describe their instance with the smallest path, whatever the
        // order files were ingested or shard catalogs merged in (instances of one series may
        // disagree, e.g. on Series Description): N shards merged give the rows of one ingest.
        if try String.fetchOne(db.cachedStatement(sql: "SELECT MIN(path) FROM instances WHERE series_instance_uid = ?"), arguments: [m.seriesInstanceUID]) == path {
            try db.cachedStatement(sql: """
                UPDATE series SET modality = ?, manufacturer = ?, model_name = ?, series_description = ? WHERE series_instance_uid = ?
                """).execute(arguments: [m.modality, m.manufacturer, m.modelName, m.seriesDescription, m.seriesInstanceUID])
        }
        if try String.fetchOne(db.cachedStatement(sql: """
            SELECT MIN(i.path) FROM instances i JOIN series s ON s.series_instance_uid = i.series_instance_uid WHERE s.study_instance_uid = ?
            """), arguments: [m.studyInstanceUID]) == path {
            try db.cachedStatement(sql: "UPDATE studies SET accession_number = ?, study_date = ?, study_description = ? WHERE study_instance_uid = ?")
                .execute(arguments: [m.accessionNumber, m.studyDate, m.studyDescription, m.studyInstanceUID])
        }
        if m.isImage {
            for index in 0..<m.numberOfFrames {
                try db.cachedStatement(sql: "INSERT INTO frames (sop_instance_uid, frame_index, content_sha256) VALUES (?, ?, ?)")
                    .execute(arguments: [m.sopInstanceUID, index, hashes[index]])
            }
        }
        return .inserted
    }

    /// The text of `instances.metadata_json`. Sorted keys: the same header gives the same bytes in
    /// every process (shards, reruns; a dictionary's order varies per process).
    static func metadataJSON(_ m: DicomMetadata) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(m), as: UTF8.self)
    }

    /// The patient's key; a file without Patient ID (0010,0020) gets a key of its own study, so
    /// that unidentified studies are never merged into one patient.
    func patientKey(for patientID: String?, studyUID: String) -> String {
        if let patientID, !patientID.isEmpty { return pseudonymizer.patientKey(patientID) }
        return pseudonymizer.patientKey("\u{0}no-patient-id\u{0}" + studyUID)
    }
}
