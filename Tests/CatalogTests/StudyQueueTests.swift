import Catalog
import Foundation
import SonoKitTestSupport
import XCTest

/// The durable queue of `listen --predict` (`study_queue`): its state changes, and that every
/// change the worker makes is refused once the study received a new instance (the guard that
/// keeps a stale prediction or send from being recorded as the study's).
final class StudyQueueTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// A catalog with two studies whose files live under `store` (one patient of SampleStudies).
    func catalogWithStore() throws -> (Catalog, store: URL, studies: [String]) {
        let store = work.appendingPathComponent("store")
        for (i, name) in ["S1/IM000001", "S2/IM000001"].enumerated() {
            let folder = store.appendingPathComponent("0\(i)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C/" + name),
                                             to: folder.appendingPathComponent("\(i).dcm"))
        }
        let catalog = try Catalog(path: work.appendingPathComponent("catalog.sqlite").path)
        _ = try Ingestor(jobs: 1).run(folders: [store.path], into: catalog)
        let studies = Array(Set(try catalog.allInstances().map(\.studyInstanceUID))).sorted()
        XCTAssertEqual(studies.count, 2)
        return (catalog, store, studies)
    }

    func testStudyIsDueOnlyAfterTheQuietTimeAndMovesThroughItsStates() throws {
        let (catalog, _, studies) = try catalogWithStore()
        let study = try XCTUnwrap(studies.first)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        try catalog.queueReceived(studyUID: study, isNew: true, at: t0)
        try catalog.queueReceived(studyUID: study, isNew: true, at: t0.addingTimeInterval(5))
        var entry = try XCTUnwrap(try catalog.queueEntry(studyUID: study))
        XCTAssertEqual(entry.state, .received)
        XCTAssertEqual(entry.arrivals, 2, "the first instance inserts arrivals 1, the second new one counts 2")
        XCTAssertFalse(entry.studyKey.isEmpty)
        // Due when the LAST instance is older than the timeout, not the first.
        XCTAssertTrue(try catalog.studiesToPredict(quietSince: t0.addingTimeInterval(4)).isEmpty)
        XCTAssertEqual(try catalog.studiesToPredict(quietSince: t0.addingTimeInterval(5)).map(\.studyInstanceUID), [study])

        // A prediction made from generation 1 is stale: refused, nothing changes.
        XCTAssertFalse(try catalog.markPredicted(studyUID: study, arrivals: 1, srPath: "sr/x-1.dcm"))
        XCTAssertEqual(try catalog.queueEntry(studyUID: study)?.state, .received)
        XCTAssertTrue(try catalog.markPredicted(studyUID: study, arrivals: 2, srPath: "sr/x-2.dcm"))
        XCTAssertFalse(try catalog.markPredicted(studyUID: study, arrivals: 2, srPath: "sr/x-2.dcm"), "committed once only")
        entry = try XCTUnwrap(try catalog.queueEntry(studyUID: study))
        XCTAssertEqual(entry.state, .predicted)
        XCTAssertEqual(entry.predictions, 1)
        XCTAssertEqual(entry.srPath, "sr/x-2.dcm")
        XCTAssertTrue(try catalog.studiesToPredict(quietSince: t0.addingTimeInterval(100)).isEmpty)
        XCTAssertEqual(try catalog.studiesToSend(at: t0).map(\.studyInstanceUID), [study])

        // Two failed sends: attempts count, the next attempt is when it says.
        XCTAssertTrue(try catalog.markSendFailed(studyUID: study, arrivals: 2, reason: "refused", nextAttempt: t0.addingTimeInterval(10)))
        XCTAssertTrue(try catalog.studiesToSend(at: t0.addingTimeInterval(9)).isEmpty)
        XCTAssertEqual(try catalog.studiesToSend(at: t0.addingTimeInterval(10)).count, 1)
        XCTAssertTrue(try catalog.markSendFailed(studyUID: study, arrivals: 2, reason: "refused", nextAttempt: t0.addingTimeInterval(30)))
        entry = try XCTUnwrap(try catalog.queueEntry(studyUID: study))
        XCTAssertEqual(entry.state, .failed)
        XCTAssertEqual(entry.failedStage, "send")
        XCTAssertEqual(entry.attempts, 2)
        XCTAssertEqual(try catalog.nextSendAttempt(), t0.addingTimeInterval(30))
        XCTAssertTrue(try catalog.markSent(studyUID: study, arrivals: 2, at: t0.addingTimeInterval(31)))
        entry = try XCTUnwrap(try catalog.queueEntry(studyUID: study))
        XCTAssertEqual(entry.state, .sent)
        XCTAssertEqual(entry.sends, 1)
        XCTAssertFalse(try catalog.markSent(studyUID: study, arrivals: 2, at: t0.addingTimeInterval(32)), "a second mark is refused")
        XCTAssertTrue(try catalog.studiesToSend(at: t0.addingTimeInterval(100)).isEmpty)

        // The same instance again changes nothing; a new one sends the study back to received.
        try catalog.queueReceived(studyUID: study, isNew: false, at: t0.addingTimeInterval(40))
        XCTAssertEqual(try catalog.queueEntry(studyUID: study)?.state, .sent)
        try catalog.queueReceived(studyUID: study, isNew: true, at: t0.addingTimeInterval(50))
        entry = try XCTUnwrap(try catalog.queueEntry(studyUID: study))
        XCTAssertEqual(entry.state, .received)
        XCTAssertEqual(entry.arrivals, 3)
        XCTAssertEqual(entry.predictions, 1, "the count of committed predictions is kept")
    }

    func testSendOfAStudyThatReceivedANewInstanceIsNotRecorded() throws {
        let (catalog, _, studies) = try catalogWithStore()
        let study = studies[0]
        let t0 = Date(timeIntervalSince1970: 2_000_000)
        try catalog.queueReceived(studyUID: study, isNew: true, at: t0)
        XCTAssertTrue(try catalog.markPredicted(studyUID: study, arrivals: 1, srPath: "sr/a-1.dcm"))
        try catalog.queueReceived(studyUID: study, isNew: true, at: t0.addingTimeInterval(1))
        XCTAssertFalse(try catalog.markSent(studyUID: study, arrivals: 1, at: t0.addingTimeInterval(2)))
        XCTAssertFalse(try catalog.markSendFailed(studyUID: study, arrivals: 1, reason: "x", nextAttempt: t0))
        XCTAssertTrue(try catalog.studiesToSend(at: t0.addingTimeInterval(10)).isEmpty, "the old SR is not sent for the new generation")
        // A failed prediction is final until a new instance arrives.
        XCTAssertTrue(try catalog.markPredictionFailed(studyUID: study, arrivals: 2, reason: "no frame"))
        XCTAssertTrue(try catalog.studiesToPredict(quietSince: t0.addingTimeInterval(100)).isEmpty)
        XCTAssertTrue(try catalog.studiesToSend(at: t0.addingTimeInterval(100)).isEmpty)
    }

    func testStudiesIndexedUnderTheStoreButNotQueuedAreAdoptedOnce() throws {
        let (catalog, store, studies) = try catalogWithStore()
        let t0 = Date(timeIntervalSince1970: 3_000_000)
        try catalog.queueReceived(studyUID: studies[0], isNew: true, at: t0)
        XCTAssertTrue(try catalog.markPredicted(studyUID: studies[0], arrivals: 1, srPath: nil))
        // Another folder's prefix ("store2" starts like "store") adopts nothing.
        XCTAssertEqual(try catalog.queueUnqueuedStudies(storedUnder: store.path + "2", at: t0), 0)
        XCTAssertEqual(try catalog.queueUnqueuedStudies(storedUnder: store.path, at: t0), studies.count - 1)
        XCTAssertEqual(try catalog.queueUnqueuedStudies(storedUnder: store.path, at: t0), 0)
        XCTAssertEqual(try catalog.queueEntry(studyUID: studies[0])?.state, .predicted, "a queued study is left as it is")
        XCTAssertEqual(try catalog.queueEntries().count, studies.count)
        // Without an SR (no forwarding) a predicted study is never due for sending.
        XCTAssertTrue(try catalog.studiesToSend(at: t0.addingTimeInterval(100)).isEmpty)
    }

    /// A study predicted without forwarding (no SR) gets its SR recorded once by a node with
    /// forwarding, for its committed generation only, and is then due for sending; or goes back
    /// to `received` to be predicted again. Neither applies to a study with an SR, one sent, or
    /// one that received a new instance meanwhile.
    func testStudiesPredictedWithoutAnSRGetOneRecordedOrArePredictedAgain() throws {
        let (catalog, _, studies) = try catalogWithStore()
        let (a, b) = (studies[0], studies[1])
        let t0 = Date(timeIntervalSince1970: 4_000_000)
        for study in studies {
            try catalog.queueReceived(studyUID: study, isNew: true, at: t0)
            XCTAssertTrue(try catalog.markPredicted(studyUID: study, arrivals: 1, srPath: nil))
        }
        XCTAssertEqual(Set(try catalog.studiesPredictedWithoutPACSReport().map(\.studyInstanceUID)), Set(studies))
        XCTAssertFalse(try catalog.recordPACSReport(studyUID: a, arrivals: 2, srPath: "sr/a-2.dcm"), "not its generation")
        XCTAssertTrue(try catalog.recordPACSReport(studyUID: a, arrivals: 1, srPath: "sr/a-1.dcm"))
        XCTAssertFalse(try catalog.recordPACSReport(studyUID: a, arrivals: 1, srPath: "sr/a-other.dcm"), "recorded once only")
        XCTAssertFalse(try catalog.requeuePredictedWithoutPACSReport(studyUID: a, arrivals: 1), "it has its SR now")
        let entry = try XCTUnwrap(try catalog.queueEntry(studyUID: a))
        XCTAssertEqual(entry.state, .predicted)
        XCTAssertEqual(entry.srPath, "sr/a-1.dcm")
        XCTAssertEqual(entry.predictions, 1)
        XCTAssertEqual(try catalog.studiesToSend(at: t0).map(\.studyInstanceUID), [a])
        XCTAssertEqual(try catalog.studiesPredictedWithoutPACSReport().map(\.studyInstanceUID), [b])

        // b: predicted again instead (its report could not serve), with its SR this time.
        XCTAssertFalse(try catalog.requeuePredictedWithoutPACSReport(studyUID: b, arrivals: 2))
        XCTAssertTrue(try catalog.requeuePredictedWithoutPACSReport(studyUID: b, arrivals: 1))
        XCTAssertFalse(try catalog.requeuePredictedWithoutPACSReport(studyUID: b, arrivals: 1), "once")
        XCTAssertEqual(try catalog.studiesToPredict(quietSince: t0).map(\.studyInstanceUID), [b])
        XCTAssertFalse(try catalog.recordPACSReport(studyUID: b, arrivals: 1, srPath: "sr/b-1.dcm"), "no longer predicted")
        XCTAssertTrue(try catalog.markPredicted(studyUID: b, arrivals: 1, srPath: "sr/b-1.dcm"))
        XCTAssertEqual(try catalog.queueEntry(studyUID: b)?.predictions, 2)
        XCTAssertTrue(try catalog.studiesPredictedWithoutPACSReport().isEmpty)

        // Sent, or received anew: neither is touched.
        XCTAssertTrue(try catalog.markSent(studyUID: a, arrivals: 1, at: t0))
        try catalog.queueReceived(studyUID: b, isNew: true, at: t0.addingTimeInterval(1))
        XCTAssertTrue(try catalog.studiesPredictedWithoutPACSReport().isEmpty)
        XCTAssertFalse(try catalog.requeuePredictedWithoutPACSReport(studyUID: a, arrivals: 1))
        XCTAssertEqual(try catalog.queueEntry(studyUID: a)?.state, .sent)
    }
}
