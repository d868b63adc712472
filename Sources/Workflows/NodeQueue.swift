import Catalog
import DICOM
import DICOMNetwork
import Foundation
import Reports
import SonoKitCore
import Training

/// `listen --predict`: the durable queue of a DICOM node (`study_queue` in the catalog, see
/// `StudyQueueEntry`) and the worker that empties it, on a thread of its own so that C-STORE
/// answers never wait for a prediction.
///
/// - A study is complete when none of its instances has arrived for `studyTimeout`; it is then
///   predicted by `StudyPredictor` exactly as `sonokit predict --html --sr` predicts it from the
///   catalog (same run, preprocessing, frames, decision rule), writing `<key>.json`,
///   `html/<key>.html` (+ pictures) and `sr/<key>.dcm` in `output` (pseudonymous, as `predict`
///   without identifiers), then `predictions.csv` and `html/index.html` over every study of
///   `output`. A study predicted again (it received a new instance) has these files replaced
///   (same key, same names) and its row in predictions.csv replaced.
/// - With `forward`: the SR for the PACS (the same document, with the Patient and General Study
///   modules copied unchanged from one stored instance of the study) is written owner-only into
///   `STORE/sr/<key>-<arrivals>.dcm` before the prediction is committed, and sent by C-STORE;
///   a failed send is tried again after 2^k x `retryInitial` seconds (at most `retryMax`), also
///   after a restart.
/// - Forwarding turned on later: a node started with `forward` first gives each study that a
///   node without it predicted (`predicted`, no SR for the PACS) the SR of its committed
///   prediction, then sends it like any other. The SR is made from the study's report
///   `<key>.json` in `output` when that report is what a prediction now would make (this run's
///   model and decision rule, this study's instances: `StudyPredictor.scoredStudy`), so the PACS
///   gets exactly what the reports folder says; otherwise (no report, another run's, another
///   folder's keys) the study is predicted again. Durable as a prediction: the SR file, then its
///   commit (`recordPACSReport`); a kill between the two reuses the file. A study already `sent`
///   is not sent again, also by a node restarted with another PACS as `forward` (the studies not
///   sent yet go to the new one; `sonokit send STORE/sr/<key>-<n>.dcm` sends one by hand).
/// - Exactly once: a prediction is committed (state `predicted`, one transaction) only after its
///   files are written; a kill before that predicts the study again on restart, rewriting the same
///   files and reusing the SR already written for that generation (so no second, different SR
///   exists). A send is committed (state `sent`) right after the PACS answers Success: a kill in
///   that window sends the SAME SR (same SOP Instance UID) once more on restart (at-least-once;
///   a PACS keeps one instance per SOP Instance UID).
/// - One node per store and `output`: at start-up every temporary file of a write cut short in
///   `output` and `STORE/sr` is removed, whoever wrote it (`StaleTemporaries`, `.thisProcessOnly`).
/// - Logs name studies by their pseudonymous key only; no patient identifier, no UID.
public final class NodeQueue: @unchecked Sendable {
    public struct Options: Sendable {
        public var runDirectory: String
        /// The reports folder (pseudonymous).
        public var output: String
        /// The listener's store and catalog.
        public var store: String
        public var catalog: String
        /// Seconds without a new instance after which a study is complete.
        public var studyTimeout: TimeInterval
        /// The PACS the SRs are sent to, or nil (no SR for a PACS is written).
        public var forward: DicomPeer?
        public var forwardSettings: StorageSCU.Settings
        /// First retry delay of a failed send, and the longest.
        public var retryInitial: TimeInterval = 2
        public var retryMax: TimeInterval = 300

        public init(runDirectory: String, output: String, store: String, catalog: String, studyTimeout: TimeInterval,
                    forward: DicomPeer?, forwardSettings: StorageSCU.Settings) {
            self.runDirectory = runDirectory
            self.output = output
            self.store = store
            self.catalog = catalog
            self.studyTimeout = studyTimeout
            self.forward = forward
            self.forwardSettings = forwardSettings
        }
    }

    public let options: Options
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var stopping = false
    private let exited = DispatchSemaphore(value: 0)
    private var started = false
    private var catalog: Catalog!
    private var predictor: StudyPredictor!
    private var secret = Data()

    public init(_ options: Options, log: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.log = log
    }

    /// The folder of the SRs for the PACS inside the store (owner-only).
    public static func srFolder(inStore store: String) -> String { store + "/sr" }

    /// Loads the run (refusing what `predict` refuses), opens the catalog, queues the studies an
    /// earlier listener indexed but could not queue, and starts the worker thread.
    public func start() throws {
        do {
            try FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
        } catch {
            throw WorkflowError.invalidInput("--out \(options.output): cannot create the folder: \(error.localizedDescription)")
        }
        predictor = try StudyPredictor(runDirectory: options.runDirectory, html: true, sr: true, includeIdentifiers: false, output: options.output)
        secret = try PredictionKeys.secret(inOutputFolder: options.output)
        do { catalog = try Catalog(path: options.catalog) } catch {
            throw WorkflowError.invalidInput("--catalog \(options.catalog): \(error)")
        }
        if options.forward != nil {
            do { try OwnerOnly.createFolder(Self.srFolder(inStore: options.store)) } catch {
                throw WorkflowError.invalidInput("--store \(options.store): cannot create its sr folder: \(error)")
            }
        }
        // A write cut by kill -9 leaves its hidden temporary file (the outputs are renamed into
        // place): only this node writes into these folders (one node per store and --out), and
        // it has not written yet, so every such file is removed, whoever wrote it.
        let stale = [options.output, Self.srFolder(inStore: options.store)]
            .map { StaleTemporaries.remove(in: $0, recursive: true, writers: .thisProcessOnly).count }.reduce(0, +)
        if stale > 0 { log("removed \(stale) temporary file(s) of writes cut short by an earlier run") }
        let adopted = try catalog.queueUnqueuedStudies(storedUnder: options.store, at: Date())
        if adopted > 0 { log("queue: \(adopted) stored stud\(adopted == 1 ? "y" : "ies") not queued yet (an earlier run stopped before queueing), queued") }
        // predictions.csv and the index are rewritten after each commit: a kill between the two
        // leaves them one study behind, brought up to date here.
        try writeFolderFiles()
        let entries = try catalog.queueEntries()
        func count(_ s: StudyQueueEntry.State) -> Int { entries.filter { $0.state == s }.count }
        log("queue: \(count(.received)) received, \(count(.predicted)) predicted, \(count(.sent)) sent, \(count(.failed)) failed; "
            + "a study is complete after \(Self.seconds(options.studyTimeout)) without a new instance; model \(predictor.card.modelID)"
            + (options.forward.map { "; SRs forwarded to \($0)" } ?? ""))
        for warning in predictor.coding.warnings { log("warning: \(warning)") }
        // The thread holds the queue only while it works: the queue (the model, the catalog) is
        // then released by its owner, never by this thread while the process exits (freeing
        // oneDNN's and DCMTK's memory there, concurrently with exit's destructors, corrupted the heap).
        let exited = self.exited
        let thread = Thread { [weak self] in
            self?.work()
            exited.signal()
        }
        thread.name = "sonokit-node-queue"
        thread.stackSize = 8 << 20
        condition.lock()
        started = true
        condition.unlock()
        thread.start()
    }

    /// Queues the study of an instance just indexed (called by the listener before it answers).
    public func instanceStored(studyUID: String, isNew: Bool) throws {
        try catalog.queueReceived(studyUID: studyUID, isNew: isNew, at: Date())
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// Stops the worker after the study it is working on and waits until its thread has let go
    /// of the queue.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        let wasStarted = started
        condition.unlock()
        if wasStarted { exited.wait() }
    }

    // MARK: - The worker

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func work() {
        if options.forward != nil { writeMissingPACSReports() }
        while !isStopping {
            do {
                for entry in try catalog.studiesToPredict(quietSince: Date().addingTimeInterval(-options.studyTimeout)) {
                    if isStopping { return }
                    predict(entry)
                }
                if let peer = options.forward {
                    for entry in try catalog.studiesToSend(at: Date()) {
                        if isStopping { return }
                        send(entry, to: peer)
                    }
                }
            } catch {
                log("queue: cannot read the queue in \(options.catalog): \(error); trying again")
            }
            condition.lock()
            if !stopping { _ = condition.wait(until: Date().addingTimeInterval(0.25)) }
            condition.unlock()
        }
    }

    private func predict(_ entry: StudyQueueEntry) {
        let key = entry.studyKey
        do {
            let instances = try catalog.instances(forStudy: entry.studyInstanceUID).filter(\.isImage)
                .map(PredictionInputs.instance).sorted { $0.path < $1.path }
            let keys = PredictionKeys(secret: secret, catalogStudyKeys: [entry.studyInstanceUID: key])
            let events = WorkflowEvents(warning: { [log] in log("warning: \($0)") })
            guard !instances.isEmpty else {
                try failPrediction(entry, reasons: ["no image instance among the instances received"])
                return
            }
            let batch = try predictor.predict(instances, keys: keys, events: events)
            if let failure = batch.failed.first {
                try failPrediction(entry, reasons: failure.reasons)
                return
            }
            guard let study = batch.studies.first else { throw WorkflowError.failed("no report was made") }
            var srPath: String? = nil
            if options.forward != nil { srPath = try writePACSReport(study, entry: entry) }
            guard try catalog.markPredicted(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals, srPath: srPath) else {
                log("study \(key): a new instance arrived while it was predicted; predicted again once complete")
                return
            }
            try writeFolderFiles()
            let r = study.report
            log("study \(key): predicted \(r.label) (probability \(String(format: "%.4f", r.probability)), "
                + "\(instances.count) instance\(instances.count == 1 ? "" : "s"), \(r.aggregation.framesUsed) frames)"
                + (entry.predictions > 0 ? "; replaces its earlier prediction" : ""))
        } catch {
            // Not committed: the study stays received and is tried again after a pause.
            log("study \(key): prediction failed: \(error); trying again in \(Self.seconds(options.retryMax))")
            try? catalog.queueReceived(studyUID: entry.studyInstanceUID, isNew: false, at: Date().addingTimeInterval(options.retryMax))
        }
    }

    private func failPrediction(_ entry: StudyQueueEntry, reasons: [String]) throws {
        guard try catalog.markPredictionFailed(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals, reason: reasons.joined(separator: "\n")) else { return }
        // An earlier generation's outputs no longer describe the study.
        let out = options.output as NSString, key = entry.studyKey
        for stale in ["\(key).json", "sr/\(key).dcm", "html/\(key).html", "html/\(key)"] {
            try? FileManager.default.removeItem(atPath: out.appendingPathComponent(stale))
        }
        try writeFolderFiles()
        log("study \(entry.studyKey): cannot be predicted: \(reasons.joined(separator: "; ")); not tried again until a new instance arrives")
    }

    /// The studies a node without `--forward-sr` predicted (`predicted`, no SR for the PACS): each
    /// gets the SR for the PACS of its committed prediction, then is sent like any other.
    private func writeMissingPACSReports() {
        let pending: [StudyQueueEntry]
        do { pending = try catalog.studiesPredictedWithoutPACSReport() } catch {
            log("queue: cannot read the queue in \(options.catalog): \(error); the studies predicted without --forward-sr are sent after a restart")
            return
        }
        guard !pending.isEmpty else { return }
        log("queue: \(pending.count) stud\(pending.count == 1 ? "y was" : "ies were") predicted without --forward-sr: "
            + "writing \(pending.count == 1 ? "its SR" : "their SRs") for the PACS, then sending")
        for entry in pending {
            if isStopping { return }
            addPACSReport(entry)
        }
    }

    /// Writes the SR for the PACS of a study predicted without forwarding from its report in
    /// `--out`, which is the document a prediction now would give when that report was made by
    /// this run with this decision rule from the study's instances (`StudyPredictor.scoredStudy`);
    /// otherwise (no report, another run's, another secret) the study is predicted again. Durable
    /// in two steps, as a prediction: the SR file (reused by a restart that finds it), then its
    /// commit (`recordPACSReport`).
    private func addPACSReport(_ entry: StudyQueueEntry) {
        let key = entry.studyKey
        do {
            let instances = try catalog.instances(forStudy: entry.studyInstanceUID).filter(\.isImage).map(PredictionInputs.instance)
            let keys = PredictionKeys(secret: secret, catalogStudyKeys: [entry.studyInstanceUID: key])
            let report = FileManager.default.contents(atPath: (options.output as NSString).appendingPathComponent("\(key).json"))
                .flatMap { try? PredictionMerge.reportDecoder().decode(PredictionReport.self, from: $0) }
            guard let report, let study = predictor.scoredStudy(fromReport: report, instances: instances, keys: keys) else {
                if try catalog.requeuePredictedWithoutPACSReport(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals) {
                    log("study \(key): its report in --out is missing or was not made by this run from these instances; predicted again for its SR")
                }
                return
            }
            let relative = try writePACSReport(study, entry: entry)
            if try catalog.recordPACSReport(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals, srPath: relative) {
                log("study \(key): SR for the PACS written from its report (predicted without --forward-sr)")
            } else {
                log("study \(key): a new instance arrived meanwhile; predicted again once complete")
            }
        } catch {
            log("study \(key): cannot write its SR for the PACS: \(error); predicted again")
            _ = try? catalog.requeuePredictedWithoutPACSReport(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals)
        }
    }

    /// The SR for the PACS of this generation: written once (owner-only), reused when a restart
    /// predicts the same generation again. Returns its path relative to the store.
    private func writePACSReport(_ study: StudyPredictor.ScoredStudy, entry: StudyQueueEntry) throws -> String {
        let relative = "sr/\(entry.studyKey)-\(entry.arrivals).dcm"
        let path = options.store + "/" + relative
        if FileManager.default.fileExists(atPath: path) {
            // A kill between its rename and the chmod below left it with the default mode.
            try OwnerOnly.restrict(path)
            log("study \(entry.studyKey): the SR for the PACS of this prediction was written before a restart; reused")
            return relative
        }
        let document = StudyReportSR.document(for: study.report, instances: study.scored, framesUsed: study.framesUsed,
                                              softwareVersion: SoftwareVersions.sonokit, includeIdentifiers: true, coding: predictor.coding)
        try StructuredReportWriter.write(document, to: path)
        try OwnerOnly.restrict(path)
        // Earlier generations' SRs of the study are superseded.
        let prefix = "\(entry.studyKey)-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: Self.srFolder(inStore: options.store))) ?? []
        where name.hasPrefix(prefix) && name != "\(entry.studyKey)-\(entry.arrivals).dcm" {
            try? FileManager.default.removeItem(atPath: Self.srFolder(inStore: options.store) + "/" + name)
        }
        return relative
    }

    /// predictions.csv and html/index.html over every report in the folder and every study whose
    /// prediction failed.
    private func writeFolderFiles() throws {
        let folder = options.output
        var reports: [PredictionReport] = []
        let decoder = PredictionMerge.reportDecoder()
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        where name.hasSuffix(".json") && !name.hasPrefix(".") {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                  let report = try? decoder.decode(PredictionReport.self, from: data) else { continue }
            reports.append(report)
        }
        let failed = try catalog.queueEntries().filter { $0.state == .failed && $0.failedStage == "predict" }
            .map { PredictionStudyFailure(studyKey: $0.studyKey, reasons: ($0.failure ?? "").components(separatedBy: "\n")) }
        reports.sort { $0.studyKey < $1.studyKey }
        let card = predictor.card
        let csv = card.task == .multiclass ? PredictionCSV.multiclassText(reports: reports, failed: failed, classes: card.classes)
                                           : PredictionCSV.text(reports: reports, failed: failed)
        try PredictionFiles.write(csv, to: folder + "/predictions.csv")
        try PredictionHTML.writeIndex(reports: reports, failed: failed, outputFolder: folder)
    }

    private func send(_ entry: StudyQueueEntry, to peer: DicomPeer) {
        guard let relative = entry.srPath else { return }
        let path = options.store + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            log("study \(entry.studyKey): its SR for the PACS is missing from the store; predicted again")
            try? catalog.requeueForPrediction(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals)
            return
        }
        let attempt = entry.attempts + 1
        var reason: String? = nil
        do {
            let outcome = try StorageSCU.store([path], to: peer, settings: options.forwardSettings).first
            if outcome?.stored != true {
                reason = outcome?.message ?? outcome?.status.map { "status 0x\(String($0, radix: 16, uppercase: true))" } ?? "not sent"
            }
        } catch {
            reason = "\(error)"
        }
        do {
            if let reason {
                let delay = min(options.retryInitial * pow(2, Double(entry.attempts)), options.retryMax)
                if try catalog.markSendFailed(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals, reason: reason,
                                              nextAttempt: Date().addingTimeInterval(delay)) {
                    log("study \(entry.studyKey): sending its SR to \(peer) failed (attempt \(attempt)): \(reason.replacingOccurrences(of: path, with: relative)); "
                        + "next attempt in \(Self.seconds(delay))")
                }
            } else if try catalog.markSent(studyUID: entry.studyInstanceUID, arrivals: entry.arrivals, at: Date()) {
                log("study \(entry.studyKey): SR sent to \(peer) (attempt \(attempt))")
            } else {
                log("study \(entry.studyKey): SR sent to \(peer); the study received a new instance meanwhile and will be predicted and sent again")
            }
        } catch {
            log("study \(entry.studyKey): cannot record the send in the queue: \(error)")
        }
    }

    static func seconds(_ t: TimeInterval) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t)
    }
}
