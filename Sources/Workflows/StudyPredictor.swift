import DICOM
import Foundation
import Preprocess
import Reports
import SonoKitCore
import Training

/// The per-study part of `predict`, callable on its own (by `predict` for each group of studies,
/// by `listen --predict` for each completed study): loads the run once, decides as the model card
/// says (binary threshold, or the multi-class rule), scores the frames, builds the reports and
/// writes each study's HTML page and SR (when asked for) and then its report `<key>.json`, which
/// commits the study. The folder-wide files (predictions.csv, index.html) are the caller's.
public final class StudyPredictor {
    /// Everything one scored study produced, with what another SR of it needs (the instances that
    /// were scored and the frames used of each).
    public struct ScoredStudy {
        public var report: PredictionReport
        public var scored: [PredictionInstance]
        public var framesUsed: [String: [Int]]
    }

    /// The outcome of `predict` on a group of whole studies.
    public struct Batch {
        public var studies: [ScoredStudy] = []
        public var failed: [PredictionStudyFailure] = []
        public var frames = 0
        public var reports: [PredictionReport] { studies.map(\.report) }
    }

    public let trained: TrainedRun
    public var card: ModelCard { trained.card }
    public let model: PredictionModel
    /// Binary: the threshold rule (nil for a multi-class run).
    public let binaryRule: PredictionDecisionRule?
    /// Multi-class: the aggregation and decision (nil for a binary run).
    public let multiclassRule: MulticlassPredictionRule?
    /// The SR's codes (with warnings about classes left in the private scheme).
    public let coding: StudyReportSR.ClassCoding
    public let html: Bool
    public let sr: Bool
    public let includeIdentifiers: Bool
    /// The folder the per-study files are written into.
    public let output: String
    private let temporaryCache: URL?
    /// Files whose untrusted-region warning was given already (once per file and predictor).
    private var warned = Set<String>()

    /// Loads the run in `runDirectory` and refuses what `predict` refuses: preprocessing values
    /// that differ from the model card's, a binary run without a fitted threshold, class
    /// thresholds for a binary run or from another run, an unreadable class-code file.
    /// `frameCache`: a folder for the preprocessed frames; with `html` and none given, a
    /// temporary one (removed when the predictor goes away) spares preprocessing twice.
    public init(runDirectory: String, preprocessing: PredictWorkflow.PreprocessingRequest = .init(), classCodes: String? = nil,
                classThresholds: String? = nil, html: Bool, sr: Bool, includeIdentifiers: Bool, output: String,
                frameCache: String? = nil) throws {
        do { trained = try TrainedRun(directory: runDirectory) } catch { throw WorkflowError.failed("\(error)") }
        try PredictWorkflow.refuseChanges(preprocessing, card: trained.card)
        // The HTML pages need each frame's preprocessed picture again (for Grad-CAM): a frame
        // cache, temporary unless one was given, spares preprocessing every frame twice.
        var temporaryCache: URL? = nil
        if frameCache == nil && html {
            temporaryCache = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-predict-frames-\(UUID().uuidString)")
        }
        self.temporaryCache = temporaryCache
        if let folder = frameCache.map({ URL(fileURLWithPath: $0, isDirectory: true) }) ?? temporaryCache {
            trained.frameCache = FrameCache(directory: folder, maxBytes: 2048 << 20)
        }
        // The decision: binary, the card's threshold; multi-class, argmax or the per-class
        // thresholds of an evaluation of this run.
        let card = trained.card
        model = PredictionModel(card: card)
        var binaryRule: PredictionDecisionRule? = nil, multiclassRule: MulticlassPredictionRule? = nil
        switch card.task {
        case .binary:
            if let given = classThresholds {
                throw WorkflowError.invalidInput("--class-thresholds \(given): the run is binary (\(card.positiveClass) against the rest); it decides by the model card's threshold. Drop the option.")
            }
            guard let threshold = card.threshold else {
                throw WorkflowError.failed("\(runDirectory)/model-card.json has no threshold: the run did not fit one on a validation split; retrain with a validation split")
            }
            binaryRule = PredictionDecisionRule(aggregation: card.aggregation, threshold: threshold, thresholdSource: PredictWorkflow.thresholdSource(threshold))
        case .multiclass:
            multiclassRule = try PredictWorkflow.multiclassRule(card: card, classThresholds: classThresholds)
        }
        self.binaryRule = binaryRule
        self.multiclassRule = multiclassRule
        let codeMap: ClassCodeMap?
        do { codeMap = try classCodes.map { try ClassCodeMap.load(path: $0, classes: card.classes) } } catch {
            throw WorkflowError.invalidInput("\(error)")
        }
        coding = StudyReportSR.ClassCoding(model: model, task: card.task, map: codeMap)
        self.html = html
        self.sr = sr
        self.includeIdentifiers = includeIdentifiers
        self.output = output
    }

    deinit { if let temporaryCache { try? FileManager.default.removeItem(at: temporaryCache) } }

    /// Scores `group` (the instances of whole studies, sorted by study) and writes, per study, its
    /// HTML page and SR when asked for, then its report `<key>.json`. `progress` receives the
    /// number of instances of `group` scored so far.
    public func predict(_ group: [PredictionInstance], keys: PredictionKeys, events: WorkflowEvents,
                        progress: @escaping (Int) -> Void = { _ in }) throws -> Batch {
        let includeIdentifiers = self.includeIdentifiers
        let builder = binaryRule.map { PredictionReportBuilder(model: model, rule: $0, keys: keys, includeIdentifiers: includeIdentifiers) }
            ?? PredictionReportBuilder(model: model, multiclass: multiclassRule!, keys: keys, includeIdentifiers: includeIdentifiers)
        let instancesByStudy = Dictionary(grouping: group, by: \.studyInstanceUID)
        let studyUIDByKey = Dictionary(instancesByStudy.keys.map { (keys.studyKey($0), $0) }, uniquingKeysWith: { a, _ in a })

        // 2. The network on every frame (decode + preprocess on all cores, a chunk ahead).
        let inferenceInputs = group.map {
            InferenceInput(path: $0.path, sopInstanceUID: $0.sopInstanceUID, studyKey: keys.studyKey($0.studyInstanceUID), patientKey: "")
        }
        let inference = try trained.predict(instances: inferenceInputs) { done, _ in progress(done) }
        var batch = Batch()
        batch.frames = inference.frames.count

        // 3. Reports.
        let pathToUID = Dictionary(group.map { ($0.path, $0.sopInstanceUID) }, uniquingKeysWith: { a, _ in a })
        var failures: [String: [String]] = [:]
        for f in inference.failures {
            guard let uid = pathToUID[f.path] else { continue }
            failures[uid, default: []].append(PredictionInputs.scrub(f.reason, path: f.path, key: keys.instanceKey(uid), keep: includeIdentifiers))
        }
        // Regions that do not fit the image were not trusted (auto crop): say so per file, named by
        // its path only with --include-identifiers (paths of exports often hold patient names).
        for frame in inference.frames where warned.insert(frame.path).inserted {
            for warning in frame.crop.warnings where CropPlanner.isUntrustedRegionWarning(warning) {
                events.warning("\(includeIdentifiers ? frame.path : "instance " + keys.instanceKey(frame.sopInstanceUID)): \(warning)")
            }
        }
        let frames = inference.frames.map(PredictedFrame.init)
        let (groupReports, groupFailed) = try builder.build(instances: group, frames: frames, failures: failures) { studyUID in
            guard let first = instancesByStudy[studyUID]?.first, let file = try? DicomFile(path: first.path) else { return nil }
            return PredictionStudyIdentifiers(patient: file.identifiers, accessionNumber: file.metadata.accessionNumber)
        }

        // 4. Per study: HTML page and SR, then the report, which commits the study (a resumed
        // shard keeps a study whose report exists).
        let framesByInstance = Dictionary(grouping: inference.frames, by: \.sopInstanceUID)
        for report in groupReports {
            let members = instancesByStudy[studyUIDByKey[report.studyKey]!]!
            if html {
                let explained = card.task == .multiclass ? card.classes.firstIndex(of: report.label) : nil
                let pictures = try PredictWorkflow.pictures(of: members, frames: framesByInstance, run: trained, keys: keys, classIndex: explained)
                try PredictionHTML.writeStudyPage(report, pictures: pictures, outputFolder: output)
            }
            let scored = members.filter { framesByInstance[$0.sopInstanceUID] != nil }
            let used = scored.reduce(into: [String: [Int]]()) { $0[$1.sopInstanceUID] = framesByInstance[$1.sopInstanceUID]!.map(\.frameIndex).sorted() }
            if sr {
                let document = StudyReportSR.document(for: report, instances: scored, framesUsed: used,
                                                      softwareVersion: SoftwareVersions.sonokit, includeIdentifiers: includeIdentifiers,
                                                      coding: coding)
                try StructuredReportWriter.write(document, to: path("sr/\(report.studyKey).dcm"))
            }
            try PredictionFiles.write(report.jsonData(), to: path("\(report.studyKey).json"))
            batch.studies.append(ScoredStudy(report: report, scored: scored, framesUsed: used))
        }
        batch.failed = groupFailed
        return batch
    }

    /// A study scored before, rebuilt from the report this predictor's output folder holds for it
    /// (`<key>.json`) and the study's image instances now: what another SR of it needs, exactly as
    /// `predict` returned it then (the SR depends only on the report, the instances scored and
    /// the frames used of each, all recorded in the report). Nil unless the report can only be
    /// what a prediction now would make: made by this run's model (`PredictionModel`, i.e. the
    /// same model id, weights, preprocessing and classes) with this predictor's decision rule
    /// (aggregation, threshold or multi-class rule, and their sources), for this study (`keys`:
    /// the folder's secret), every instance it used found among `instances` (same key, series
    /// and SOP class), the frames it counts those it lists.
    public func scoredStudy(fromReport report: PredictionReport, instances: [PredictionInstance], keys: PredictionKeys) -> ScoredStudy? {
        guard let studyUID = instances.first?.studyInstanceUID, instances.allSatisfy({ $0.studyInstanceUID == studyUID }),
              report.studyKey == keys.studyKey(studyUID), report.model == model, report.task == card.task, decides(like: report) else { return nil }
        let byKey = Dictionary(instances.map { (keys.instanceKey($0.sopInstanceUID), $0) }, uniquingKeysWith: { a, _ in a })
        var scored: [PredictionInstance] = [], used: [String: [Int]] = [:]
        for series in report.series {
            for entry in series.instances {
                guard let instance = byKey[entry.instanceKey], instance.sopClassUID == entry.sopClassUID,
                      keys.seriesKey(instance.seriesInstanceUID) == series.seriesKey, used[instance.sopInstanceUID] == nil else { return nil }
                scored.append(instance)
                used[instance.sopInstanceUID] = entry.framesUsed
            }
        }
        guard !scored.isEmpty, used.values.map(\.count).reduce(0, +) == report.aggregation.framesUsed else { return nil }
        return ScoredStudy(report: report, scored: scored, framesUsed: used)
    }

    /// True when `report` states this predictor's decision rule (see `PredictionReportBuilder`).
    private func decides(like report: PredictionReport) -> Bool {
        if let rule = binaryRule {
            let aggregation: (String, Double?)
            switch rule.aggregation {
            case .mean: aggregation = ("mean", nil)
            case .max: aggregation = ("max", nil)
            case .vote(let tau): aggregation = ("vote", tau)
            }
            guard let threshold = report.threshold else { return false }
            return report.aggregation.rule == aggregation.0 && report.aggregation.frameThreshold == aggregation.1
                && threshold.value == rule.threshold.value && threshold.source == rule.thresholdSource && report.decision == nil
        }
        guard let rule = multiclassRule, let decision = report.decision else { return false }
        return report.aggregation.rule == rule.aggregation.rawValue && report.aggregation.frameThreshold == nil && report.threshold == nil
            && decision.rule == (rule.thresholds == nil ? "argmax" : "per_class_thresholds")
            && decision.thresholds?.map(\.value) == rule.thresholds && (decision.thresholds?.map(\.name) ?? card.classes) == card.classes
            && decision.source == rule.source
    }

    private func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }
}
