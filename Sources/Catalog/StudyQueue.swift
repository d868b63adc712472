import Foundation
import GRDB

/// One study in the durable queue of a DICOM node (`listen --predict`), table `study_queue`.
///
/// States: `received` (instances arrived; predicted once none has arrived for the study timeout)
/// -> `predicted` (reports written; with forwarding, the SR for the PACS written in the store;
/// without it, `srPath` stays nil until a node with forwarding writes that SR: `recordPACSReport`)
/// -> `sent` (the PACS answered Success to its C-STORE); or `failed`: the prediction failed
/// (`failedStage` "predict": not retried until a new instance arrives) or the send did
/// (`failedStage` "send": retried at `nextAttempt`, with exponential backoff).
///
/// `arrivals` counts the new instances (SOP Instance UIDs not indexed before) the study has
/// received: it names the input a prediction was made from. Every state change made by the
/// worker is conditional on `arrivals` being what it read, so a prediction or send of a study
/// that received a new instance meanwhile is never recorded as the study's: the study stays (or
/// goes back to) `received` and is predicted again.
public struct StudyQueueEntry: Hashable, Sendable {
    public enum State: String, Sendable { case received, predicted, sent, failed }
    public let studyInstanceUID: String
    /// The study's pseudonymous key (the catalog's), for logs and file names.
    public let studyKey: String
    public let state: State
    public let arrivals: Int
    public let lastArrival: Date
    public let predictions: Int
    public let predictedArrivals: Int?
    /// The SR for the PACS, relative to the store.
    public let srPath: String?
    public let attempts: Int
    public let nextAttempt: Date?
    public let failedStage: String?
    public let failure: String?
    public let sends: Int
    public let sentAt: Date?

    init(row: Row) {
        studyInstanceUID = row["study_instance_uid"]
        studyKey = row["study_key"] ?? ""
        state = State(rawValue: row["state"]) ?? .received
        arrivals = row["arrivals"]
        lastArrival = Date(timeIntervalSince1970: row["last_arrival"])
        predictions = row["predictions"]
        predictedArrivals = row["predicted_arrivals"]
        srPath = row["sr_path"]
        attempts = row["attempts"]
        nextAttempt = (row["next_attempt"] as Double?).map(Date.init(timeIntervalSince1970:))
        failedStage = row["failed_stage"]
        failure = row["failure"]
        sends = row["sends"]
        sentAt = (row["sent_at"] as Double?).map(Date.init(timeIntervalSince1970:))
    }
}

extension Catalog {
    private static let queueSelect = """
        SELECT q.*, st.study_key FROM study_queue q LEFT JOIN studies st ON st.study_instance_uid = q.study_instance_uid
        """

    /// Records that an instance of `studyUID` was received at `time` (after it was indexed).
    /// A new instance (`isNew`: its SOP Instance UID was not indexed before) counts one more
    /// arrival and puts the study back to `received` whatever its state (it will be predicted
    /// again). An instance received again unchanged only delays a study still `received`, and
    /// queues a study the queue does not know.
    public func queueReceived(studyUID: String, isNew: Bool, at time: Date) throws {
        try database.write { db in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM study_queue WHERE study_instance_uid = ?", arguments: [studyUID]) ?? false
            if !exists {
                try db.execute(sql: "INSERT INTO study_queue (study_instance_uid, state, arrivals, last_arrival) VALUES (?, 'received', 1, ?)",
                               arguments: [studyUID, time.timeIntervalSince1970])
            } else if isNew {
                try db.execute(sql: """
                    UPDATE study_queue SET state = 'received', arrivals = arrivals + 1, last_arrival = ?, attempts = 0,
                        next_attempt = NULL, failed_stage = NULL, failure = NULL WHERE study_instance_uid = ?
                    """, arguments: [time.timeIntervalSince1970, studyUID])
            } else {
                try db.execute(sql: "UPDATE study_queue SET last_arrival = MAX(last_arrival, ?) WHERE study_instance_uid = ? AND state = 'received'",
                               arguments: [time.timeIntervalSince1970, studyUID])
            }
        }
    }

    /// Queues (as `received` at `time`) every study with an instance stored under `storeFolder`
    /// that the queue does not know: an instance indexed by a listener killed before it could
    /// queue it. Returns how many were queued.
    @discardableResult
    public func queueUnqueuedStudies(storedUnder storeFolder: String, at time: Date) throws -> Int {
        let prefix = Self.standardize(storeFolder) + "/"
        return try database.write { db in
            try db.execute(sql: """
                INSERT INTO study_queue (study_instance_uid, state, arrivals, last_arrival)
                SELECT DISTINCT s.study_instance_uid, 'received', 1, ? FROM instances i
                JOIN series s ON s.series_instance_uid = i.series_instance_uid
                WHERE substr(i.path, 1, ?) = ? AND s.study_instance_uid NOT IN (SELECT study_instance_uid FROM study_queue)
                """, arguments: [time.timeIntervalSince1970, prefix.utf8.count, prefix])
            return db.changesCount
        }
    }

    /// Every queued study, by study key.
    public func queueEntries() throws -> [StudyQueueEntry] {
        try database.read { db in try Row.fetchAll(db, sql: Self.queueSelect + " ORDER BY st.study_key").map(StudyQueueEntry.init(row:)) }
    }

    public func queueEntry(studyUID: String) throws -> StudyQueueEntry? {
        try database.read { db in
            try Row.fetchOne(db, sql: Self.queueSelect + " WHERE q.study_instance_uid = ?", arguments: [studyUID]).map(StudyQueueEntry.init(row:))
        }
    }

    /// The `received` studies whose last instance arrived at or before `quietSince`: complete,
    /// to be predicted (the longest waiting first).
    public func studiesToPredict(quietSince: Date) throws -> [StudyQueueEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: Self.queueSelect + " WHERE q.state = 'received' AND q.last_arrival <= ? ORDER BY q.last_arrival, st.study_key",
                             arguments: [quietSince.timeIntervalSince1970]).map(StudyQueueEntry.init(row:))
        }
    }

    /// The studies whose SR is to be sent at `time`: `predicted` with an SR, or a failed send
    /// whose next attempt is due.
    public func studiesToSend(at time: Date) throws -> [StudyQueueEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: Self.queueSelect + """
                 WHERE q.sr_path IS NOT NULL AND (q.state = 'predicted' OR (q.state = 'failed' AND q.failed_stage = 'send' AND q.next_attempt <= ?))
                 ORDER BY q.last_arrival, st.study_key
                """, arguments: [time.timeIntervalSince1970]).map(StudyQueueEntry.init(row:))
        }
    }

    /// The earliest time a failed send is due, if any.
    public func nextSendAttempt() throws -> Date? {
        try database.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_attempt) FROM study_queue WHERE state = 'failed' AND failed_stage = 'send'")
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Marks the prediction of generation `arrivals` committed (`srPath`: the SR for the PACS,
    /// relative to the store, or nil without forwarding). False, and nothing changed, when the
    /// study received a new instance meanwhile or is no longer `received`.
    public func markPredicted(studyUID: String, arrivals: Int, srPath: String?) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'predicted', predictions = predictions + 1, predicted_arrivals = arrivals, sr_path = ?,
                    attempts = 0, next_attempt = NULL, failed_stage = NULL, failure = NULL
                WHERE study_instance_uid = ? AND arrivals = ? AND state = 'received'
                """, arguments: [srPath, studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// Marks the prediction of generation `arrivals` failed (not retried until a new instance
    /// arrives). False when the study received a new instance meanwhile.
    public func markPredictionFailed(studyUID: String, arrivals: Int, reason: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'failed', failed_stage = 'predict', failure = ?, sr_path = NULL, next_attempt = NULL
                WHERE study_instance_uid = ? AND arrivals = ? AND state = 'received'
                """, arguments: [reason, studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// Marks the SR of generation `arrivals` delivered. False when the study received a new
    /// instance meanwhile (it is predicted again and its new SR sent).
    public func markSent(studyUID: String, arrivals: Int, at time: Date) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'sent', sends = sends + 1, sent_at = ?, next_attempt = NULL, failed_stage = NULL, failure = NULL
                WHERE study_instance_uid = ? AND arrivals = ? AND sr_path IS NOT NULL AND state IN ('predicted', 'failed')
                """, arguments: [time.timeIntervalSince1970, studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// Records a failed send of the SR of generation `arrivals`: one more attempt, the next at
    /// `nextAttempt`. False when the study received a new instance meanwhile.
    public func markSendFailed(studyUID: String, arrivals: Int, reason: String, nextAttempt: Date) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'failed', failed_stage = 'send', failure = ?, attempts = attempts + 1, next_attempt = ?
                WHERE study_instance_uid = ? AND arrivals = ? AND sr_path IS NOT NULL AND state IN ('predicted', 'failed')
                """, arguments: [reason, nextAttempt.timeIntervalSince1970, studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// The `predicted` studies without an SR for the PACS (predicted by a node without
    /// forwarding), the longest waiting first.
    public func studiesPredictedWithoutPACSReport() throws -> [StudyQueueEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: Self.queueSelect + " WHERE q.state = 'predicted' AND q.sr_path IS NULL ORDER BY q.last_arrival, st.study_key")
                .map(StudyQueueEntry.init(row:))
        }
    }

    /// Records the SR for the PACS (`srPath`, relative to the store) written afterwards for the
    /// committed prediction of generation `arrivals`: the study is then sent like any other.
    /// False, and nothing changed, when the study received a new instance meanwhile, is no longer
    /// `predicted`, or has an SR already.
    public func recordPACSReport(studyUID: String, arrivals: Int, srPath: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET sr_path = ?, attempts = 0, next_attempt = NULL
                WHERE study_instance_uid = ? AND arrivals = ? AND state = 'predicted' AND sr_path IS NULL
                """, arguments: [srPath, studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// Puts a `predicted` study without an SR for the PACS back to `received`: predicted again,
    /// this time with its SR. False, and nothing changed, when it is no longer in that state for
    /// generation `arrivals`.
    public func requeuePredictedWithoutPACSReport(studyUID: String, arrivals: Int) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'received'
                WHERE study_instance_uid = ? AND arrivals = ? AND state = 'predicted' AND sr_path IS NULL
                """, arguments: [studyUID, arrivals])
            return db.changesCount == 1
        }
    }

    /// Puts a study whose SR file is missing back to `received` (predicted again).
    public func requeueForPrediction(studyUID: String, arrivals: Int) throws {
        try database.write { db in
            try db.execute(sql: """
                UPDATE study_queue SET state = 'received', sr_path = NULL, failed_stage = NULL, failure = NULL, next_attempt = NULL
                WHERE study_instance_uid = ? AND arrivals = ?
                """, arguments: [studyUID, arrivals])
        }
    }
}
