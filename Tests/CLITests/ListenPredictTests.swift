#if canImport(Glibc)
import Glibc
#endif
import Catalog
import Foundation
import SonoKitCore
import SonoKitTestSupport
import XCTest

/// `sonokit listen --predict RUN --forward-sr PACS@HOST:PORT` end to end, against independent
/// peers: DCMTK's `storescu` pushes SampleStudies to the node, DCMTK's `storescp` is the PACS,
/// the SRs arriving there are read with `dcmdump`/`dsrdump` and checked with `dciodvfy`, and the
/// node's reports are compared with `sonokit predict` of the same files on the same run.
final class ListenPredictTests: XCTestCase {
    /// A small run (as KillPointTests trains it), once per test process.
    static let trainedRun: Result<URL, Error> = Result {
        let p = try TrainCommandFixture.prepared.get()
        let run = p.work.appendingPathComponent("listen-predict-run")
        try? FileManager.default.removeItem(at: run)
        let trained = try SonoKitCommand.run(["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                                              "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                                              "--normalize", "unit", "--epochs", "1", "--seed", "3", "-o", run.path])
        guard trained.status == 0 else { throw ReferencePeer.Failure("train failed: \(trained.stderr)") }
        return run
    }

    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-listen-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    // MARK: - (a) (b) (c) (e): the PACS is down at first

    /// The PACS is down while the studies arrive: each study is predicted after the 2 s quiet
    /// time, its send fails and is retried with backoff; once storescp listens every SR arrives,
    /// one per study, carrying the source study's Patient and General Study values exactly and
    /// passing dciodvfy. The node's reports equal `sonokit predict --html --sr` on its catalog,
    /// and neither its log nor its reports folder holds an identifier of SampleStudies.
    func testStudiesArePredictedLikePredictAndTheirSRsReachThePACSOnceItIsUp() throws {
        let run = try Self.trainedRun.get()
        let node = try Node(work: work, run: run, pacsPort: try ReferencePeer.freePort())
        try node.start()
        try node.push()
        let catalog = try Catalog(path: node.catalog.path)
        let studies = Set(try catalog.allInstances().map(\.studyInstanceUID))
        XCTAssertGreaterThanOrEqual(studies.count, 20, "SampleStudies' image studies reached the node")
        XCTAssertEqual(try catalog.allInstances().count, 57, "every ultrasound and secondary capture image of SampleStudies was stored")
        try waitFor("every study predicted and a send failed (PACS down)", node: node) {
            let entries = try catalog.queueEntries()
            return entries.count == studies.count && entries.allSatisfy { $0.state != .received }
                && node.log.contains("failed (attempt 1)")
        }
        XCTAssertTrue(try catalog.queueEntries().contains { $0.state == .failed && $0.failedStage == "send" }, node.log)

        let pacs = try Storescp(port: node.pacsPort, folder: work.appendingPathComponent("pacs"))
        defer { pacs.stop() }
        try waitFor("every SR sent once the PACS is up", node: node) {
            try catalog.queueEntries().allSatisfy { $0.state == .sent || ($0.state == .failed && $0.failedStage == "predict") }
        }
        let status = node.terminate()
        XCTAssertEqual(status, 0, node.log)
        let entries = try catalog.queueEntries()
        let sent = entries.filter { $0.state == .sent }
        XCTAssertGreaterThanOrEqual(sent.count, 5, node.log)
        XCTAssertTrue(sent.contains { $0.attempts >= 1 }, "(c): a send failed before the PACS came up and was retried")
        XCTAssertTrue(entries.allSatisfy { $0.predictions == 1 }, "each study predicted once")

        // (b) What the PACS received, read back with DCMTK.
        try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: sent, catalog: catalog)
        // The SRs for the PACS stay owner-only in the store.
        for entry in sent {
            let path = node.store.path + "/" + (entry.srPath ?? "")
            let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
            XCTAssertEqual(mode & 0o777, 0o600, "\(path)")
        }

        // (a) The node's reports against `sonokit predict` of the same files (its catalog) on the same run.
        try assertSameReportsAsPredict(node: node, run: run)

        // (e) No identifier in the log or in the reports folder.
        try assertNoIdentifiers(log: node.log, folder: node.out)

        // A new instance of a study already sent (a copy with a new SOP Instance UID, made by
        // dcmodify): the study is predicted again from both instances and a second, different
        // SR (same study) reaches the PACS; the store keeps only the new generation's SR.
        let study = try XCTUnwrap(sent.first { try catalog.instances(forStudy: $0.studyInstanceUID).count == 1 })
        let extra = work.appendingPathComponent("extra.dcm")
        try FileManager.default.copyItem(atPath: try catalog.instances(forStudy: study.studyInstanceUID)[0].path, toPath: extra.path)
        try DCMTKTools.run("dcmodify", ["-nb", "-gin", extra.path])
        try node.start()
        try node.push([extra.path])
        try waitFor("the study predicted again and its new SR sent", node: node) {
            let entry = try catalog.queueEntry(studyUID: study.studyInstanceUID)
            return entry?.predictions == 2 && entry?.state == .sent
        }
        XCTAssertEqual(node.terminate(), 0, node.log)
        let again = try XCTUnwrap(try catalog.queueEntry(studyUID: study.studyInstanceUID))
        XCTAssertEqual(again.arrivals, 2)
        XCTAssertEqual(again.sends, 2)
        let atPACS = try FileManager.default.contentsOfDirectory(atPath: pacs.folder.path)
            .filter { (try? Self.dump(pacs.folder.path + "/" + $0, ["0020,000d"]))?["0020,000d"] == study.studyInstanceUID }
        XCTAssertEqual(atPACS.count, 2, "one SR per prediction of the study, with distinct SOP Instance UIDs")
        let inStore = try FileManager.default.contentsOfDirectory(atPath: node.store.path + "/sr").filter { $0.hasPrefix(study.studyKey + "-") }
        XCTAssertEqual(inStore, ["\(study.studyKey)-2.dcm"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: node.out.appendingPathComponent("\(study.studyKey).json"))) as? [String: Any])
        let instances = (report["series"] as? [[String: Any]] ?? []).flatMap { $0["instances"] as? [Any] ?? [] }
        XCTAssertEqual(instances.count, 2, "the report was replaced by one of both instances")
        try assertSameReportsAsPredict(node: node, run: run)
    }

    // MARK: - Forwarding over DICOM TLS

    /// `--forward-tls-ca/--forward-tls-cert/--forward-tls-key`: the SR goes to a PACS that speaks
    /// TLS only and demands our certificate (DCMTK's `storescp +tls --require-peer-cert`), so it
    /// arrives only over a verified TLS association; a node trusting another CA does not send it
    /// (the send fails in the handshake, is logged with the reason and stays queued).
    func testSRsAreForwardedOverTLSOnlyToAPACSSignedByTheGivenCA() throws {
        let run = try Self.trainedRun.get()
        let certs = try TestCertificates.shared()
        let received = work.appendingPathComponent("pacs-tls")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        let pacs = try ReferencePeer("storescp", ["--aetitle", "PACS", "+tls", certs.server.key, certs.server.certificate, "+cf", certs.ca,
                                                  "--require-peer-cert", "-od", received.path], deadline: 900)
        defer { pacs.stop() }
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("site-b")
        let files = try FileManager.default.subpathsOfDirectory(atPath: study.path).map { study.appendingPathComponent($0) }
            .filter { (try? Part10($0)) != nil }.sorted { $0.path < $1.path }
        let one = try XCTUnwrap(files.first { (try? DCMTKTools.run("dcmdump", ["-M", "+P", "0002,0002", $0.path]).contains("=Ultrasound")) == true })

        for name in ["wrong", "right"] { try FileManager.default.createDirectory(at: work.appendingPathComponent(name), withIntermediateDirectories: true) }
        // Trusting another CA: the handshake fails, the SR stays queued.
        let wrong = try Node(work: work.appendingPathComponent("wrong"), run: run, pacsPort: pacs.port, studyTimeout: "1s")
        wrong.extraArguments = ["--forward-tls-ca", certs.otherCA, "--forward-tls-cert", certs.client.certificate, "--forward-tls-key", certs.client.key]
        try wrong.start()
        try wrong.push([one.path])
        let wrongCatalog = try Catalog(path: wrong.catalog.path)
        try waitFor("a send refused in the TLS handshake", node: wrong) { wrong.log.contains("failed (attempt 1)") }
        XCTAssertEqual(wrong.terminate(), 0, wrong.log)
        XCTAssertTrue(wrong.log.contains("TLS handshake failed"), wrong.log)
        XCTAssertTrue(try wrongCatalog.queueEntries().allSatisfy { $0.state == .failed && $0.failedStage == "send" }, wrong.log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: received.path), [], "nothing reached the PACS")

        // Trusting the PACS's CA, with our certificate: the SR arrives.
        let node = try Node(work: work.appendingPathComponent("right"), run: run, pacsPort: pacs.port, studyTimeout: "1s")
        node.extraArguments = ["--forward-tls-ca", certs.ca, "--forward-tls-cert", certs.client.certificate, "--forward-tls-key", certs.client.key]
        try node.start()
        try node.push([one.path])
        let catalog = try Catalog(path: node.catalog.path)
        try waitFor("the SR sent over TLS", node: node) { try catalog.queueEntries().count == 1 && catalog.queueEntries().allSatisfy { $0.state == .sent } }
        XCTAssertEqual(node.terminate(), 0, node.log)
        let atPACS = try FileManager.default.contentsOfDirectory(atPath: received.path)
        XCTAssertEqual(atPACS.count, 1, pacs.output)
        let sr = try Self.dump(received.appendingPathComponent(atPACS[0]).path, ["0008,0060", "0010,0020", "0020,000d"])
        let source = try Self.dump(one.path, ["0010,0020", "0020,000d"])
        XCTAssertEqual(sr["0008,0060"], "SR")
        XCTAssertEqual(sr["0010,0020"], source["0010,0020"], "the PACS's SR carries the study's Patient ID")
        XCTAssertEqual(sr["0020,000d"], source["0020,000d"])

        // The forwarding's TLS options need --forward-sr, and name their file when unusable.
        let usage = try SonoKitCommand.run(["listen", "--store", work.appendingPathComponent("s").path, "--catalog", work.appendingPathComponent("c.sqlite").path,
                                            "--predict", run.path, "--forward-tls-ca", certs.ca])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("--forward-tls-ca applies only with --forward-sr"), usage.stderr)
        let missing = try SonoKitCommand.run(["listen", "--store", work.appendingPathComponent("s").path, "--catalog", work.appendingPathComponent("c.sqlite").path,
                                              "--predict", run.path, "--forward-sr", "PACS@127.0.0.1:104", "--forward-tls-ca", "/nonexistent/ca.pem"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("--forward-tls-ca") && missing.stderr.contains("/nonexistent/ca.pem"), missing.stderr)
    }

    /// Options that need --predict are refused without it; a bad duration and a reports folder
    /// inside the store are refused with the option's name.
    func testPredictOptionsAreCheckedBeforeListening() throws {
        let base = ["listen", "--port", "\(try ReferencePeer.freePort())", "--store", work.appendingPathComponent("store").path,
                    "--catalog", work.appendingPathComponent("c.sqlite").path]
        let cases: [([String], String)] = [
            (["--study-timeout", "2s"], "--study-timeout applies only with --predict"),
            (["--forward-sr", "PACS@127.0.0.1:104"], "--forward-sr applies only with --predict"),
            (["--predict", work.path, "--study-timeout", "soon"], "--study-timeout soon"),
            (["--predict", work.path, "--forward-sr", "PACS@nowhere"], "--forward-sr PACS@nowhere"),
            (["--predict", work.path, "--out", work.appendingPathComponent("store/reports").path], "inside the store"),
            (["--predict", work.appendingPathComponent("no-run").path], "no-run"),
        ]
        for (extra, expected) in cases {
            let result = try SonoKitCommand.run(base + extra)
            XCTAssertNotEqual(result.status, 0, "\(extra)")
            XCTAssertTrue(result.stderr.contains(expected), "\(extra): \(result.stderr)")
            XCTAssertFalse(ReferencePeer.accepts(UInt16(base[2])!), "\(extra): it listened")
        }
    }

    // MARK: - (d): kill -9, twice

    /// kill -9 of the node right after the push (studies received, not yet predicted), restart,
    /// kill -9 again as soon as a study has been predicted, restart: in the end every study was
    /// predicted once (the queue's count of committed predictions; at most one "predicted" log
    /// line) and the PACS holds one SR per study (distinct SOP Instance UIDs = studies), and the
    /// reports still equal `sonokit predict`'s.
    func testKillNineBeforeAndDuringPredictionStillPredictsAndSendsEachStudyOnce() throws {
        let run = try Self.trainedRun.get()
        let pacs = try Storescp(port: try ReferencePeer.freePort(), folder: work.appendingPathComponent("pacs"))
        defer { pacs.stop() }
        let node = try Node(work: work, run: run, pacsPort: pacs.port)
        try node.start()
        try node.push()
        node.kill9()
        let catalog = try Catalog(path: node.catalog.path)
        let studies = Set(try catalog.allInstances().map(\.studyInstanceUID))
        XCTAssertGreaterThanOrEqual(studies.count, 5)
        let predictedBeforeRestart = try catalog.queueEntries().filter { $0.predictions > 0 }.count
        XCTAssertLessThan(predictedBeforeRestart, studies.count, "the first kill came before some predictions")

        try node.start()
        try waitFor("a study predicted after the first restart", node: node, poll: 0.02) {
            try catalog.queueEntries().filter { $0.predictions > 0 }.count > predictedBeforeRestart
        }
        node.kill9()
        let predictedAtSecondKill = try catalog.queueEntries().filter { $0.predictions > 0 }.count

        try node.start()
        try waitFor("every SR sent after the second restart", node: node) {
            let entries = try catalog.queueEntries()
            return entries.count == studies.count && entries.allSatisfy { $0.state == .sent || ($0.state == .failed && $0.failedStage == "predict") }
        }
        XCTAssertEqual(node.terminate(), 0, node.log)
        let entries = try catalog.queueEntries()
        for entry in entries {
            XCTAssertEqual(entry.predictions, 1, "study \(entry.studyKey) committed \(entry.predictions) predictions")
            let logged = node.log.components(separatedBy: "study \(entry.studyKey): predicted").count - 1
            XCTAssertLessThanOrEqual(logged, 1, "study \(entry.studyKey) logged as predicted \(logged) times")
        }
        let sent = entries.filter { $0.state == .sent }
        XCTAssertTrue(sent.allSatisfy { $0.sends == 1 })
        try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: sent, catalog: catalog)
        try assertSameReportsAsPredict(node: node, run: run)
        try assertNoIdentifiers(log: node.log, folder: node.out)
        print("kill -9 after the push (\(predictedBeforeRestart) of \(studies.count) studies predicted), again at \(predictedAtSecondKill); "
              + "\(sent.count) SRs at the PACS, one per study")
    }

    /// The node killed at every durable step it takes (CrashPoint: each file renamed into place,
    /// each catalog commit: receiving, queueing, the reports, the SR for the PACS, the commit of a
    /// prediction, of a send), on one patient's two studies, then restarted and pushed to again
    /// (the sender retries): every study ends sent, predicted once, with one SR at the PACS.
    func testKilledAtEveryDurableStepEachStudyEndsPredictedAndSentOnce() throws {
        let run = try Self.trainedRun.get()
        let patient = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        var point = 1, killedDuringPrediction = 0
        let started = Date()
        while true {
            let folder = work.appendingPathComponent("point-\(point)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let pacs = try Storescp(port: try ReferencePeer.freePort(), folder: folder.appendingPathComponent("pacs"))
            defer { pacs.stop() }
            let node = try Node(work: folder, run: run, pacsPort: pacs.port, studyTimeout: "1s")
            try node.start(crashAt: point)
            try? node.push([patient])
            let catalog = try Catalog(path: node.catalog.path)
            if try finishedBeforeCrashPoint(node, point, catalog: catalog) { break }
            if try catalog.queueEntries().contains(where: { $0.state == .received }) && node.log.contains("stored") { killedDuringPrediction += 1 }
            try node.start()
            try node.push([patient])
            try waitFor("point \(point): both studies sent after the restart", node: node, seconds: 120) {
                let entries = try catalog.queueEntries()
                return entries.count == 2 && entries.allSatisfy { $0.state == .sent }
            }
            XCTAssertEqual(node.terminate(), 0, node.log)
            let entries = try catalog.queueEntries()
            XCTAssertEqual(entries.map(\.predictions), [1, 1], "point \(point)")
            XCTAssertEqual(entries.map(\.sends), [1, 1], "point \(point)")
            try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: entries, catalog: catalog, validate: false)
            try? FileManager.default.removeItem(at: folder)
            point += 1
            if point > 400 { XCTFail("more than 400 durable steps for 4 instances"); break }
        }
        XCTAssertGreaterThan(point, 20)
        XCTAssertGreaterThan(killedDuringPrediction, 3)
        print("listen --predict killed at each of \(point - 1) durable steps (\(killedDuringPrediction) with a study still to predict): "
              + "after a restart every study predicted once and its SR at the PACS once (\(Int(Date().timeIntervalSince(started))) s)")
    }

    // MARK: - Forwarding turned on later

    /// A node without --forward-sr predicts one patient's two studies; restarted with it (storescp
    /// as the PACS) it writes each study's SR for the PACS and sends it once: the study whose
    /// report is in --out from that report (predicted once in all), the one whose report was
    /// deleted by predicting it again. What arrives carries the source's identifiers (dcmdump),
    /// passes dsrdump and dciodvfy, and its content (dsrdump, every value, code and UID, and
    /// the referenced frames) is what `sonokit predict --sr` writes for the study from the node's
    /// catalog. A third start sends nothing again. At start-up the temporaries of writes cut short
    /// that other processes left in --out (a live pid's, Foundation's .atomic one) are removed.
    func testStudiesPredictedWithoutForwardingAreSentOnceWhenTheNodeIsRestartedWithIt() throws {
        let run = try Self.trainedRun.get()
        let patient = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let node = try Node(work: work, run: run, pacsPort: try ReferencePeer.freePort(), studyTimeout: "1s")
        try predictWithoutForwarding(node, patient: patient)
        let catalog = try Catalog(path: node.catalog.path)
        let predicted = try catalog.queueEntries()
        XCTAssertEqual(predicted.map(\.srPath), [nil, nil], "no SR for a PACS without --forward-sr")
        XCTAssertFalse(FileManager.default.fileExists(atPath: node.store.path + "/sr"))
        // One study's report is gone from --out: it is predicted again. Writes cut short by other
        // processes left temporaries there (pid 1 runs: the shared rule would keep its file).
        let (fromReport, deleted) = (predicted[0], predicted[1])
        try FileManager.default.removeItem(at: node.out.appendingPathComponent("\(deleted.studyKey).json"))
        let leftovers = [".predictions.csv.1@\(StaleTemporaries.host).0F6A1C9E-7B2D-4E8A-9C3F-5D1B2A3C4E5F.tmp", "html/.dat.nosync4DFF.a0d9Pw"]
        for name in leftovers { try Data("partial".utf8).write(to: node.out.appendingPathComponent(name)) }

        let pacs = try Storescp(port: node.pacsPort, folder: work.appendingPathComponent("pacs"))
        defer { pacs.stop() }
        node.forwards = true
        try node.start()
        try waitFor("both SRs sent", node: node) { try catalog.queueEntries().allSatisfy { $0.state == .sent } }
        XCTAssertEqual(node.terminate(), 0, node.log)
        let log = node.log
        XCTAssertTrue(log.contains("removed 2 temporary file(s)"), log)
        for name in leftovers { XCTAssertFalse(FileManager.default.fileExists(atPath: node.out.appendingPathComponent(name).path), name) }
        XCTAssertTrue(log.contains("queue: 2 studies were predicted without --forward-sr"), log)
        XCTAssertTrue(log.contains("study \(fromReport.studyKey): SR for the PACS written from its report"), log)
        XCTAssertTrue(log.contains("study \(deleted.studyKey): its report in --out is missing"), log)
        let entries = try catalog.queueEntries()
        XCTAssertEqual(entries.map(\.studyKey), [fromReport.studyKey, deleted.studyKey])
        XCTAssertEqual(entries.map(\.predictions), [1, 2], "the study with its report was not predicted again")
        XCTAssertEqual(entries.map(\.sends), [1, 1])
        XCTAssertEqual(entries.map(\.srPath), entries.map { "sr/\($0.studyKey)-\($0.arrivals).dcm" })
        try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: entries, catalog: catalog)
        let reference = try assertSameReportsAsPredict(node: node, run: run, studies: 2)
        try assertPACSContentEqualsPredict(pacs.folder, reference: reference, catalog: catalog)
        try assertNoIdentifiers(log: log, folder: node.out)

        // Started once more, forwarding to another PACS: nothing is left to send, and what the
        // first PACS received is not sent again (to either).
        let other = try Storescp(port: try ReferencePeer.freePort(), folder: work.appendingPathComponent("pacs-b"))
        defer { other.stop() }
        node.pacsPort = other.port
        try node.start()
        try waitFor("the third start's queue line", node: node) { node.log.components(separatedBy: "queue: 0 received, 0 predicted, 2 sent").count == 2 }
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(node.terminate(), 0, node.log)
        XCTAssertEqual(node.log.components(separatedBy: "were predicted without --forward-sr").count - 1, 1, "at the second start only")
        XCTAssertEqual(node.log.components(separatedBy: "written from its report").count - 1, 1, "at the second start only")
        XCTAssertEqual(try catalog.queueEntries().map(\.sends), [1, 1])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: pacs.folder.path).count, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other.folder.path), [])
        XCTAssertTrue(node.log.contains("SRs forwarded to PACS@127.0.0.1:\(other.port)"), node.log)
    }

    /// The node restarted with --forward-sr, killed at every durable step it takes to give two
    /// studies predicted without it their SRs and send them (CrashPoint: start-up commits, each
    /// SR file renamed into place, each commit of an SR, of a send), then started again: each
    /// study ends sent once, predicted once (its SR made from its report, never by predicting
    /// again), with one SR at the PACS. Each point starts from the same copy of the node's folder.
    func testKilledAtEveryStepOfForwardingLaterEachStudyIsSentOnce() throws {
        let run = try Self.trainedRun.get()
        let patient = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let folder = work.appendingPathComponent("node"), snapshot = work.appendingPathComponent("snapshot")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try predictWithoutForwarding(try Node(work: folder, run: run, pacsPort: try ReferencePeer.freePort(), studyTimeout: "1s"), patient: patient)
        try FileManager.default.copyItem(at: folder, to: snapshot)
        var point = 1
        let started = Date()
        while true {
            try FileManager.default.removeItem(at: folder)
            try FileManager.default.copyItem(at: snapshot, to: folder)
            let pacs = try Storescp(port: try ReferencePeer.freePort(), folder: work.appendingPathComponent("pacs-\(point)"))
            defer { pacs.stop() }
            let node = try Node(work: folder, run: run, pacsPort: pacs.port, studyTimeout: "1s")
            try node.start(crashAt: point)
            let catalog = try Catalog(path: node.catalog.path)
            if try finishedBeforeCrashPoint(node, point, catalog: catalog) { break }
            try node.start()
            try waitFor("point \(point): both studies sent after the restart", node: node, seconds: 120) {
                try catalog.queueEntries().allSatisfy { $0.state == .sent }
            }
            XCTAssertEqual(node.terminate(), 0, node.log)
            let entries = try catalog.queueEntries()
            XCTAssertEqual(entries.map(\.predictions), [1, 1], "point \(point)\n\(node.log)")
            XCTAssertEqual(entries.map(\.sends), [1, 1], "point \(point)")
            try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: entries, catalog: catalog, validate: false)
            point += 1
            if point > 100 { XCTFail("more than 100 durable steps to send two SRs"); break }
        }
        XCTAssertGreaterThan(point, 6)
        print("listen --forward-sr over studies predicted without it, killed at each of \(point - 1) durable steps: "
              + "every study predicted once and its SR at the PACS once (\(Int(Date().timeIntervalSince(started))) s)")
    }

    /// Runs `node` without --forward-sr until both studies of `patient` (pushed by storescu) are
    /// predicted, then stops it.
    func predictWithoutForwarding(_ node: Node, patient: String) throws {
        node.forwards = false
        try node.start()
        try node.push([patient])
        let catalog = try Catalog(path: node.catalog.path)
        try waitFor("both studies predicted without forwarding", node: node) {
            let entries = try catalog.queueEntries()
            return entries.count == 2 && entries.allSatisfy { $0.state == .predicted }
        }
        XCTAssertEqual(node.terminate(), 0, node.log)
    }

    // MARK: - A multi-class run

    /// A multi-class run (SampleStudies' three ordered classes of labels-multiclass.csv; the
    /// cheapest run: small, 32 px, one frame, one epoch), once per test process.
    static let multiclassRun: Result<URL, Error> = Result {
        let p = try TrainCommandFixture.prepared.get()
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels-multiclass.csv").path
        let splits = p.work.appendingPathComponent("listen-multiclass-splits.csv").path
        let run = p.work.appendingPathComponent("listen-multiclass-run")
        try? FileManager.default.removeItem(at: run)
        let split = try SonoKitCommand.run(["manifest", "split", labels, "--catalog", p.catalogPath, "--ratios", "0.6,0.2,0.2", "--seed", "7",
                                            "--no-pixel-check", "-o", splits])
        guard split.status == 0 else { throw ReferencePeer.Failure("manifest split failed: \(split.stderr)") }
        let trained = try SonoKitCommand.run(["train", labels, "--catalog", p.catalogPath, "--splits", splits, "--no-pixel-check", "--model", "small",
                                              "--size", "32", "--frames", "uniform:1", "--normalize", "unit", "--epochs", "1", "--seed", "3",
                                              "--head-units", "8", "-o", run.path])
        guard trained.status == 0 else { throw ReferencePeer.Failure("train failed: \(trained.stderr)") }
        return run
    }

    /// `listen --predict` with a multi-class run, forwarding to storescp: the per-study JSON has
    /// the task, every class's probability (summing to 1) and the decision, equal to `sonokit
    /// predict`'s of the same studies from the node's catalog, as are predictions.csv (with its
    /// probability_<class> columns) and the pages; each SR at the PACS carries the study's identifiers,
    /// passes dciodvfy, codes one probability per class and the predicted class, and says what
    /// predict's SR of the study says.
    func testAMulticlassRunIsPredictedAndForwardedLikePredict() throws {
        let run = try Self.multiclassRun.get()
        let pacs = try Storescp(port: try ReferencePeer.freePort(), folder: work.appendingPathComponent("pacs"))
        defer { pacs.stop() }
        let node = try Node(work: work, run: run, pacsPort: pacs.port, studyTimeout: "1s")
        try node.start()
        let patients = ["SITEA/P4C821C", "SITEA/P0AFA78"].map { RepositoryPaths.sampleStudies.appendingPathComponent($0).path }
        try node.push(patients)
        let catalog = try Catalog(path: node.catalog.path)
        let studies = Set(try catalog.allInstances().map(\.studyInstanceUID))
        XCTAssertGreaterThanOrEqual(studies.count, 3)
        try waitFor("every study predicted and sent", node: node) {
            let entries = try catalog.queueEntries()
            return entries.count == studies.count && entries.allSatisfy { $0.state == .sent }
        }
        XCTAssertEqual(node.terminate(), 0, node.log)
        let entries = try catalog.queueEntries()
        XCTAssertEqual(entries.map(\.predictions), Array(repeating: 1, count: studies.count))

        let classes = ["benign", "small-mass", "large-mass"]
        let header = try XCTUnwrap(try Self.csvRows(node.out.appendingPathComponent("predictions.csv")).first)
        for column in ["task", "predicted_class", "probability_benign", "probability_small_mass", "probability_large_mass"] { XCTAssertTrue(header.contains(column), "\(header)") }
        let reference = try assertSameReportsAsPredict(node: node, run: run, studies: studies.count)
        for entry in entries {
            let name = "\(entry.studyKey).json"
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: node.out.appendingPathComponent(name))) as? [String: Any])
            let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent(name))) as? [String: Any])
            XCTAssertEqual(object["task"] as? String, "multiclass", name)
            let probabilities = try XCTUnwrap(object["class_probabilities"] as? [[String: Any]], name)
            let predicted = try XCTUnwrap(expected["class_probabilities"] as? [[String: Any]], name)
            XCTAssertEqual(probabilities.compactMap { $0["class"] as? String }, classes, name)
            XCTAssertEqual(probabilities.compactMap { $0["probability"] as? Double }.reduce(0, +), 1, accuracy: 1e-5, name)
            for (a, b) in zip(probabilities, predicted) {
                XCTAssertEqual(a["probability"] as? Double ?? -1, b["probability"] as? Double ?? -2, accuracy: 1e-6, name)
            }
            XCTAssertEqual((object["decision"] as? [String: Any])?["rule"] as? String, "argmax", name)
            XCTAssertEqual(object["label"] as? String, expected["label"] as? String, name)
            XCTAssertTrue(node.log.contains("study \(entry.studyKey): predicted \(object["label"] as? String ?? "?") "), node.log)
        }
        try assertPACSHoldsOneSRPerStudy(pacs.folder, sent: entries, catalog: catalog)
        try assertPACSContentEqualsPredict(pacs.folder, reference: reference, catalog: catalog)
        for file in try FileManager.default.contentsOfDirectory(atPath: pacs.folder.path) {
            let content = try DCMTKTools.run("dsrdump", ["-Ph", "+Pl", pacs.folder.appendingPathComponent(file).path])
            XCTAssertEqual(content.components(separatedBy: "\"Probability\")=").count - 1, 3, content)
            for name in classes { XCTAssertTrue(content.contains("99SONOKIT,\"\(name)\")"), content) }
            XCTAssertTrue(content.contains("\"Predicted class\")="), content)
        }
        try assertNoIdentifiers(log: node.log, folder: node.out)
    }

    /// Waits until `node`, started with its crash point at `point`, is killed there, or has sent
    /// both studies' SRs: then every durable step was visited, the node is stopped and the answer
    /// is true. Any other end fails the test.
    func finishedBeforeCrashPoint(_ node: Node, _ point: Int, catalog: Catalog) throws -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while node.isRunning, Date() < deadline {
            let entries = try catalog.queueEntries()
            if entries.count == 2 && entries.allSatisfy({ $0.state == .sent }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if node.isRunning {
            XCTAssertEqual(node.terminate(), 0, node.log)
            XCTAssertEqual(try catalog.queueEntries().filter { $0.state == .sent }.count, 2, "point \(point): finished without a kill\n\(node.log)")
            return true
        }
        XCTAssertTrue(node.wasKilled && node.log.contains("sonokit: crash point \(point) ("), "point \(point): not the crash point's end\n\(node.log)")
        return false
    }

    // MARK: - Checks

    /// One SR per sent study at the PACS (by SOP Instance UID and by StudyInstanceUID), each
    /// carrying its source study's Patient and General Study values exactly (dcmdump of the SR
    /// against dcmdump of a stored instance of the study), readable by dsrdump, and without an
    /// error from dciodvfy.
    func assertPACSHoldsOneSRPerStudy(_ folder: URL, sent: [StudyQueueEntry], catalog: Catalog, validate: Bool = true) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).map { folder.path + "/" + $0 }
        var sopUIDs = Set<String>(), studyUIDs: [String] = []
        let tags = ["0010,0010", "0010,0020", "0010,0030", "0010,0040", "0020,000d", "0008,0050", "0008,0020", "0008,0030", "0008,0090"]
        for file in files {
            let sr = try Self.dump(file, tags + ["0008,0018", "0008,0016"])
            XCTAssertEqual(sr["0008,0016"], "1.2.840.10008.5.1.4.1.1.88.34", "\(file): a Comprehensive 3D SR")
            sopUIDs.insert(sr["0008,0018"] ?? "")
            let studyUID = try XCTUnwrap(sr["0020,000d"])
            studyUIDs.append(studyUID)
            let source = try XCTUnwrap(try catalog.instances(forStudy: studyUID).first, "\(file): an SR of a study the node did not receive")
            let original = try Self.dump(source.path, tags)
            for tag in tags {
                XCTAssertEqual(sr[tag] ?? "", original[tag] ?? "", "\(file): (\(tag)) differs from the source study's")
            }
            XCTAssertFalse((original["0010,0020"] ?? "").isEmpty, "the source has a Patient ID (the comparison means something)")
            guard validate else { continue }
            let structure = try DCMTKTools.run("dsrdump", [file])
            XCTAssertTrue(structure.contains("Imaging Measurement Report"), structure)
            let verdict = try DCMTKTools.dciodvfy(file)
            XCTAssertTrue(verdict.split(separator: "\n").filter { $0.hasPrefix("Error") }.isEmpty, "\(file): dciodvfy reports\n\(verdict)")
        }
        XCTAssertEqual(studyUIDs.count, Set(studyUIDs).count, "a study has two different SRs at the PACS")
        XCTAssertEqual(Set(studyUIDs), Set(sent.map(\.studyInstanceUID)))
        XCTAssertEqual(sopUIDs.count, sent.count, "distinct SR SOP Instance UIDs at the PACS")
    }

    /// `sonokit predict RUN NODE_CATALOG --html --sr`: the same predictions.csv, the same study
    /// reports (probability, label, every frame's probability) and the same files (pictures
    /// counted per study: their names carry instance keys of each folder's own secret), but
    /// predict's unreadable-files.csv: the node refuses an unreadable instance at C-STORE time.
    /// `studies`: how many studies the node received at least. Returns predict's folder.
    @discardableResult
    func assertSameReportsAsPredict(node: Node, run: URL, studies: Int = 20) throws -> URL {
        let reference = work.appendingPathComponent("reference-\(UUID().uuidString)")
        let predicted = try SonoKitCommand.run(["predict", run.path, node.catalog.path, "-o", reference.path, "--html", "--sr"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        // A study's warnings are listed in the order of its instance keys, which are keyed with each
        // folder's own secret: compared as sets; every other field byte for byte.
        let nodeRows = try Self.csvRows(node.out.appendingPathComponent("predictions.csv"))
        let referenceRows = try Self.csvRows(reference.appendingPathComponent("predictions.csv"))
        XCTAssertGreaterThanOrEqual(referenceRows.count, studies + 1)
        XCTAssertEqual(nodeRows, referenceRows)
        XCTAssertEqual(try Self.fileShape(node.out), try Self.fileShape(reference))
        let names = try FileManager.default.contentsOfDirectory(atPath: reference.path).filter { $0.hasSuffix(".json") }
        XCTAssertGreaterThanOrEqual(names.count, min(5, studies))
        for name in names {
            let a = try Self.reportValues(node.out.appendingPathComponent(name)), b = try Self.reportValues(reference.appendingPathComponent(name))
            XCTAssertEqual(a.label, b.label, name)
            XCTAssertEqual(a.probability, b.probability, accuracy: 1e-6, name)
            XCTAssertEqual(a.frames.count, b.frames.count, name)
            for (x, y) in zip(a.frames, b.frames) { XCTAssertEqual(x, y, accuracy: 1e-6, name) }
        }
        return reference
    }

    /// Each SR at the PACS says what `sonokit predict --sr` says of its study from the node's
    /// catalog (`reference`: predict's folder): the same content tree (dsrdump without the
    /// document header, every value in full, every code, the referenced instances' UIDs) and the
    /// same referenced frames (dcmdump). The header differs by design: the PACS's SR carries the
    /// study's identifiers, predict's a pseudonym.
    func assertPACSContentEqualsPredict(_ folder: URL, reference: URL, catalog: Catalog) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertFalse(files.isEmpty)
        for name in files {
            let file = folder.appendingPathComponent(name).path
            let studyUID = try XCTUnwrap(try Self.dump(file, ["0020,000d"])["0020,000d"])
            let key = try XCTUnwrap(try catalog.queueEntry(studyUID: studyUID)?.studyKey)
            let expected = reference.appendingPathComponent("sr/\(key).dcm").path
            let tree = { (path: String) in try DCMTKTools.run("dsrdump", ["-Ph", "+Pl", "+Pu", "+Pc", path]) }
            let frames = { (path: String) in
                try DCMTKTools.run("dcmdump", ["-Un", "+P", "0008,1160", path]).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            let content = try tree(file)
            XCTAssertTrue(content.contains("Imaging Measurement Report") && content.contains(key), content)
            XCTAssertEqual(content, try tree(expected), "\(name): the SR of study \(key) differs from predict's")
            XCTAssertEqual(try frames(file), try frames(expected), "\(name): other referenced frames than predict's")
        }
    }

    func assertNoIdentifiers(log: String, folder: URL) throws {
        let identifiers = try SampleIdentifiers.values()
        XCTAssertFalse(identifiers.isEmpty)
        for value in identifiers { XCTAssertFalse(log.contains(value), "the node's log holds an identifier of SampleStudies") }
        let e = FileManager.default.enumerator(atPath: folder.path)
        var checked = 0
        while let relative = e?.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: folder.path + "/" + relative) else { continue }
            checked += 1
            for value in identifiers where data.range(of: Data(value.utf8)) != nil {
                XCTFail("\(relative) in --out holds an identifier of SampleStudies")
            }
        }
        XCTAssertGreaterThan(checked, 10)
    }

    /// The rows of a predictions.csv (RFC 4180), the `warnings` field's "; "-separated items sorted.
    static func csvRows(_ url: URL) throws -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(try String(contentsOf: url, encoding: .utf8))[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { row.append(field); field = ""
            } else if c == "\n" { row.append(field); rows.append(row); row = []; field = ""
            } else { field.append(c) }
        }
        let column = try XCTUnwrap(rows.first?.firstIndex(of: "warnings"))
        return rows.map { r in
            var r = r
            if column < r.count { r[column] = r[column].components(separatedBy: "; ").sorted().joined(separator: "; ") }
            return r
        }
    }

    static func reportValues(_ url: URL) throws -> (label: String, probability: Double, frames: [Double]) {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let frames = (object["frames"] as? [[String: Any]] ?? []).compactMap { $0["probability"] as? Double }.sorted()
        return (object["label"] as? String ?? "", object["probability"] as? Double ?? -1, frames)
    }

    /// Relative paths of a reports folder, with the files of each html/<study>/ pictures folder
    /// replaced by their count (the key secret itself left out).
    static func fileShape(_ folder: URL) throws -> [String: Int] {
        var shape: [String: Int] = [:]
        let e = FileManager.default.enumerator(atPath: folder.path)
        while let relative = e?.nextObject() as? String {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: folder.path + "/" + relative, isDirectory: &isFolder)
            if isFolder.boolValue || relative.hasSuffix(".sonokit-key-secret") || relative == "unreadable-files.csv" { continue }
            let parts = relative.split(separator: "/")
            shape[parts.count == 3 && parts[0] == "html" ? "html/\(parts[1])/*" : relative, default: 0] += 1
        }
        return shape
    }

    /// `dcmdump +P tag` of each tag: its first value (top-level attributes come before the
    /// sequences that repeat some of them); "" when present without a value.
    static func dump(_ path: String, _ tags: [String]) throws -> [String: String] {
        var values: [String: String] = [:]
        for line in try DCMTKTools.run("dcmdump", ["-Un"] + tags.flatMap { ["+P", $0] } + [path]).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("("), text.count > 11 else { continue }
            let tag = String(text.dropFirst().prefix(9)).lowercased()
            guard values[tag] == nil else { continue }
            if let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") {
                values[tag] = String(text[text.index(after: open)..<close])
            } else {
                values[tag] = ""
            }
        }
        return values
    }

    func waitFor(_ what: String, node: Node, seconds: TimeInterval = 900, poll: TimeInterval = 0.25, _ condition: () throws -> Bool) throws {
        let start = Date()
        while try !condition() {
            guard node.isRunning else { throw ReferencePeer.Failure("the node exited while waiting for: \(what)\n\(node.log)") }
            guard Date().timeIntervalSince(start) < seconds else { throw ReferencePeer.Failure("timed out after \(Int(seconds)) s waiting for: \(what)\n\(node.log)") }
            Thread.sleep(forTimeInterval: poll)
        }
    }
}

/// The node under test: `sonokit listen --predict` under coreutils `timeout` (its own process
/// group, so kill -9 of the group takes the node with it), its log appended to one file across
/// restarts.
final class Node {
    let store: URL, catalog: URL, out: URL, logFile: URL, run: URL
    let port: UInt16
    /// The PACS's port on 127.0.0.1 (`--forward-sr`); may change between starts.
    var pacsPort: UInt16
    let studyTimeout: String
    /// More options of `listen` (e.g. the forwarding's TLS).
    var extraArguments: [String] = []
    /// With `--forward-sr PACS@127.0.0.1:pacsPort`; false: the node only predicts.
    var forwards = true
    private var process: Process?

    init(work: URL, run: URL, pacsPort: UInt16, studyTimeout: String = "2s") throws {
        self.studyTimeout = studyTimeout
        store = work.appendingPathComponent("store")
        catalog = work.appendingPathComponent("catalog.sqlite")
        out = work.appendingPathComponent("out")
        logFile = work.appendingPathComponent("node.log")
        self.run = run
        self.pacsPort = pacsPort
        port = try ReferencePeer.freePort()
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
    }

    deinit { if process?.isRunning == true { kill9() } }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process?.isRunning == true }
    /// True when the last run ended by SIGKILL (a crash point or kill9).
    var wasKilled: Bool { process.map { !$0.isRunning && $0.terminationReason == .uncaughtSignal && $0.terminationStatus == SIGKILL } ?? false }

    /// Starts the node; `crashAt` arms `SONOKIT_CRASH_AT` (CrashPoint: SIGKILL at that durable step).
    func start(crashAt: Int? = nil) throws {
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-s", "TERM", "-k", "5", "1200", SonoKitCommand.executable.path, "listen", "--port", "\(port)", "--ae-title", "SONOKIT",
                       "--store", store.path, "--catalog", catalog.path, "--predict", run.path, "--study-timeout", studyTimeout, "--out", out.path,
                       "--timeout", "5"]
            + (forwards ? ["--forward-sr", "PACS@127.0.0.1:\(pacsPort)", "--forward-calling-ae", "SONOKITFWD"] : []) + extraArguments
        p.standardOutput = handle
        p.standardError = handle
        var environment = ProcessInfo.processInfo.environment
        environment["SONOKIT_CRASH_AT"] = crashAt.map(String.init)
        p.environment = environment
        try p.run()
        process = p
        let start = Date()
        while !ReferencePeer.accepts(port) {
            if crashAt != nil && !p.isRunning && wasKilled { return }  // its crash point came during start-up
            guard p.isRunning else { throw ReferencePeer.Failure("listen exited: \(log)") }
            guard Date().timeIntervalSince(start) < 60 else { kill9(); throw ReferencePeer.Failure("listen did not listen within 60 s: \(log)") }
            usleep(20_000)
        }
    }

    /// DCMTK's storescu sends every file of SampleStudies, each in its own transfer syntax: a
    /// configuration proposes one presentation context per (SOP class, transfer syntax) of the
    /// ultrasound and secondary capture classes (storescu's own proposal has one context per SOP
    /// class, and would try to convert the compressed files). The SR and key object files are
    /// refused (no presentation context), as the node does not take them.
    func push(_ paths: [String] = [RepositoryPaths.sampleStudies.path]) throws {
        let configuration = try StorescuConfiguration.arguments(sopClasses: StorescuConfiguration.ultrasound + ["SecondaryCaptureImageStorage"],
                                                                writingInto: logFile.deletingLastPathComponent())
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-k", "5", "300", "storescu", "-aet", "SCANNER", "-aec", "SONOKIT", "+sd", "+r", "-nh"] + configuration
            + ["127.0.0.1", "\(port)"] + paths
        let output = try ChildProcess.run(p, timeout: 320)
        guard output.status != 124 else { throw ReferencePeer.Failure("storescu timed out") }
    }

    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(-p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM (timeout passes it on to listen): the exit status of listen.
    func terminate() -> Int32 {
        guard let p = process else { return -1 }
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// DCMTK's storescp as the PACS on a given port (under coreutils `timeout`), writing into `folder`.
final class Storescp {
    let port: UInt16, folder: URL
    private let process = Process()

    init(port: UInt16, folder: URL) throws {
        self.port = port
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "TERM", "-k", "2", "1500", "storescp", "--aetitle", "PACS", "-od", folder.path, "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let start = Date()
        while !ReferencePeer.accepts(port) {
            guard process.isRunning, Date().timeIntervalSince(start) < 20 else { stop(); throw ReferencePeer.Failure("storescp did not listen on \(port)") }
            usleep(20_000)
        }
    }

    deinit { stop() }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM); process.waitUntilExit() }
    }
}
