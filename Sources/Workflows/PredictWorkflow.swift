import Catalog
import DICOM
import Evaluation
import Foundation
import Imaging
import Preprocess
import Reports
import SonoKitCore
import Training

/// `predict`: one report per study from a trained run (JSON, CSV; HTML pages and DICOM SRs on
/// request), with pseudonymous keys only unless identifiers are asked for.
public struct PredictWorkflow {
    /// Preprocessing values given on the command line. Preprocessing belongs to the model card:
    /// these exist only to refuse a value that differs from the card with a sentence.
    public struct PreprocessingRequest: Sendable, Equatable {
        public var frames: String?
        public var crop: String?
        public var window: String?
        public var aspect: String?
        public var interpolation: String?
        public var normalize: String?
        public var size: Int?
        public init(frames: String? = nil, crop: String? = nil, window: String? = nil, aspect: String? = nil,
                    interpolation: String? = nil, normalize: String? = nil, size: Int? = nil) {
            self.frames = frames
            self.crop = crop
            self.window = window
            self.aspect = aspect
            self.interpolation = interpolation
            self.normalize = normalize
            self.size = size
        }
    }

    public struct Options: Sendable {
        /// The run folder written by `train`.
        public var runDirectory: String
        /// DICOM files, folders of them, or catalogs (.sqlite); empty: the catalog the run was
        /// trained with (its config.json records it).
        public var inputs: [String]
        /// The output folder (created).
        public var output: String
        public var html = false
        public var sr = false
        /// `--class-codes FILE`: standard codes (e.g. SNOMED CT) of the classes for the SR's
        /// finding (`ClassCodeMap`); unmapped classes use SonoKit's private scheme, with a warning.
        public var classCodes: String?
        /// `--class-thresholds EVALUATION_JSON` (multi-class runs): decide by the per-class
        /// thresholds that `evaluate --threshold RULE` fitted on the validation split of this run
        /// (threshold moving, argmax of p_k / t_k) instead of argmax.
        public var classThresholds: String?
        public var includeIdentifiers = false
        /// Folder of the on-disk cache of preprocessed frames (does not change results).
        public var frameCache: String?
        public var preprocessing = PreprocessingRequest()
        /// Score only the studies whose StudyInstanceUID this shard owns (FNV-1a 64 mod N, as
        /// `ingest --shard`). A shard writes into `output/shard-I-of-N/` with the key secret of
        /// `output` (created once by the first shard), so that `PredictionMerge` can assemble
        /// the N folders into one equal to an unsharded run's.
        ///
        /// A shard resumes: a study whose report (`<key>.json`, written after its HTML page and SR)
        /// a previous run of the same shard committed is kept, not scored again, when that report
        /// is of this model, threshold and identifier setting, lists exactly the study's current
        /// instances and re-encodes to the same bytes (and its page/SR exist when asked for);
        /// studies are scored and committed in groups of about `commitEvery` instances, so a
        /// requeued task redoes at most the group it was killed in. A study that failed (no frame
        /// scored) is recorded in `failed/<key>.json` (`PredictionShardFailure`) and kept as failed
        /// by a rerun, not scored again, unless `retryFailed`.
        public var shard: Shard = .whole
        /// `--retry-failed` (shards only): score again the studies an earlier run of this shard
        /// recorded as failed, instead of keeping them as failed (for failures that may not
        /// recur, e.g. an I/O error); a study that fails again is recorded again.
        public var retryFailed = false
        /// Instances per commit group of a shard (whole studies; at least one study per group).
        public var commitEvery = 64

        /// The folder this run writes its files into.
        public var folder: String {
            shard == .whole ? output : (output as NSString).appendingPathComponent(PredictionShard.folderName(shard))
        }

        public init(runDirectory: String, inputs: [String], output: String) {
            self.runDirectory = runDirectory
            self.inputs = inputs
            self.output = output
        }
    }

    public struct Result {
        public var reports: [PredictionReport]
        public var failed: [PredictionStudyFailure]
        public var unreadableFiles: Int
        public var frames: Int
        public var studies: Int
        public var seconds: Double
        /// Studies whose committed report a previous run of this shard left, kept (not scored
        /// again; their frames are not in `frames`).
        public var resumed: Int = 0
        /// Studies a previous run of this shard recorded as failed, kept as failed (not scored
        /// again; without `retryFailed`). They are among `failed`.
        public var resumedFailed: Int = 0
        public var card: ModelCard
        public var model: PredictionModel
        /// Binary: the threshold rule (nil for a multi-class run).
        public var rule: PredictionDecisionRule?
        /// Multi-class: the aggregation and decision (nil for a binary run).
        public var multiclassRule: MulticlassPredictionRule?
        /// Warnings about the SR's codes (classes left in the private scheme), when SRs were written.
        public var codingWarnings: [String] = []
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    public func run() throws -> Result {
        if options.retryFailed && options.shard == .whole {
            throw WorkflowError.invalidInput("--retry-failed applies to a shard (--shard I/N) rerun: only a shard records its failed studies; an unsharded predict scores every study")
        }
        let started = Date()
        let output = options.folder, includeIdentifiers = options.includeIdentifiers
        let predictor = try StudyPredictor(runDirectory: options.runDirectory, preprocessing: options.preprocessing,
                                           classCodes: options.classCodes, classThresholds: options.classThresholds,
                                           html: options.html, sr: options.sr, includeIdentifiers: includeIdentifiers,
                                           output: output, frameCache: options.frameCache)
        let trained = predictor.trained, card = predictor.card, model = predictor.model
        let binaryRule = predictor.binaryRule, multiclassRule = predictor.multiclassRule, coding = predictor.coding
        if options.sr { for warning in coding.warnings { events.warning(warning) } }
        // With identifiers the folder is owner-only (0700) before anything is written into it,
        // and every file and folder in it is made 0600/0700 at the end.
        if includeIdentifiers {
            try OwnerOnly.createFolder(options.output)
            try OwnerOnly.createFolder(output)
        } else {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        }
        defer { if includeIdentifiers { try? OwnerOnly.restrict(output, recursive: true) } }
        events.removeStaleTemporaries(in: output)
        if options.frameCache != nil, let cache = trained.frameCache { events.removeStaleTemporaries(of: cache) }
        let secret = try PredictionKeys.secret(inOutputFolder: options.output)
        if options.shard != .whole {
            // The shard's folder is complete on its own: it carries the secret its keys were made with.
            let copy = (output as NSString).appendingPathComponent(PredictionKeys.secretFileName)
            let existing: Data
            do { existing = try AtomicFile.createOnce(secret, at: copy, permissions: 0o600) } catch { throw WorkflowError.failed("\(error)") }
            guard existing == secret else {
                throw WorkflowError.failed("\(output) was keyed with another secret than \(options.output): its reports are of another run; delete that folder or use another -o")
            }
        }

        // 1. The instances, grouped by study (inputs sorted by study so progress counts studies).
        var collected = try PredictionInputs.collect(try inputs(of: trained), secret: secret)
        let keys = PredictionKeys(secret: secret, catalogStudyKeys: collected.catalogStudyKeys)
        collected.instances.sort { ($0.studyInstanceUID, $0.path) < ($1.studyInstanceUID, $1.path) }
        guard !collected.instances.isEmpty else {
            throw WorkflowError.failed("no DICOM image instances under \(includeIdentifiers ? options.inputs.joined(separator: ", ") : "the inputs")"
                                 + (collected.unreadable.isEmpty ? "" : " (\(collected.unreadable.count) unreadable files, see \(output)/unreadable-files.csv)"))
        }
        // A shard scores its studies; files that cannot be read belong to no study and are
        // listed by shard 0 only (each listed once in the merged folder).
        let totalStudies = Set(collected.instances.map(\.studyInstanceUID)).count
        if options.shard != .whole {
            collected.instances.removeAll { !options.shard.owns(key: $0.studyInstanceUID) }
            if options.shard.index != 0 { collected.unreadable = [] }
            events.log?("predict shard \(options.shard): \(Set(collected.instances.map(\.studyInstanceUID)).count) of \(totalStudies) studies\n")
        }
        try writeUnreadable(collected.unreadable, keys: keys)
        let studyOrder = collected.instances.map(\.studyInstanceUID)
        let studyCount = Set(studyOrder).count

        let instancesByStudy = Dictionary(grouping: collected.instances, by: \.studyInstanceUID)

        // A requeued shard keeps the studies a previous run of it committed, and (unless asked
        // to retry them) those it recorded as failed (see `Options.shard`).
        var reports: [PredictionReport] = [], failed: [PredictionStudyFailure] = []
        var todo = collected.instances
        if options.shard != .whole {
            var kept = Set<String>()
            for (studyUID, members) in instancesByStudy {
                if let report = committedReport(of: members, keys: keys, model: model, rule: binaryRule, multiclass: multiclassRule) {
                    reports.append(report)
                    kept.insert(studyUID)
                    // A run killed between this report and the removal of an older failure record.
                    try removeFailureRecord(studyKey: report.studyKey)
                } else if !options.retryFailed, let failure = recordedFailure(of: members, keys: keys, card: card) {
                    failed.append(failure)
                    kept.insert(studyUID)
                }
            }
            todo.removeAll { kept.contains($0.studyInstanceUID) }
            if !reports.isEmpty {
                events.log?("predict shard \(options.shard): \(reports.count) of \(studyCount) studies already reported by an earlier run of this shard, kept\n")
            }
            if !failed.isEmpty {
                events.log?("predict shard \(options.shard): \(failed.count) of \(studyCount) studies failed in an earlier run of this shard, kept as failed "
                            + "without scoring them again (\(PredictionShardFailure.folderName)/ of the shard's folder says why; --retry-failed scores them again)\n")
            }
        }
        let resumed = reports.count, resumedFailed = failed.count
        var frameCount = 0
        for group in options.shard == .whole ? [todo] : Self.commitGroups(todo, every: options.commitEvery) {
            let doneBefore = reports.count + failed.count
            let groupDone = Self.studiesCompleted(after: group.map(\.studyInstanceUID))
            let batch = try predictor.predict(group, keys: keys, events: events) { done in
                events.progress("predict", doneBefore + groupDone[done], studyCount, Date().timeIntervalSince(started), "studies")
            }
            frameCount += batch.frames
            reports += batch.reports
            failed += batch.failed
            if options.shard != .whole {
                // After the group's reports: a kill before a record costs at most its group again.
                for failure in batch.failed {
                    try recordFailure(failure, of: group.filter { keys.studyKey($0.studyInstanceUID) == failure.studyKey }, keys: keys, card: card)
                }
                for report in batch.reports { try removeFailureRecord(studyKey: report.studyKey) }
            }
        }
        events.progressFinished("predict")
        reports.sort { $0.studyKey < $1.studyKey }
        failed.sort { $0.studyKey < $1.studyKey }
        let csv = card.task == .multiclass ? PredictionCSV.multiclassText(reports: reports, failed: failed, classes: card.classes)
                                           : PredictionCSV.text(reports: reports, failed: failed)
        try PredictionFiles.write(csv, to: path("predictions.csv"))
        if options.html { try PredictionHTML.writeIndex(reports: reports, failed: failed, outputFolder: output) }
        if options.shard != .whole {
            // Written last: a shard folder without it did not finish, and the merge refuses it.
            let record = PredictionShard(index: options.shard.index, count: options.shard.count, modelID: card.modelID,
                                         weightsSHA256: card.weightsSHA256, reported: reports.map(\.studyKey).sorted(),
                                         failed: failed.sorted { $0.studyKey < $1.studyKey }, html: options.html, sr: options.sr,
                                         includeIdentifiers: includeIdentifiers, unreadableFiles: collected.unreadable.count)
            try PredictionFiles.write(try SonoKitJSON.encoder().encode(record), to: path(PredictionShard.fileName))
        }
        return Result(reports: reports, failed: failed, unreadableFiles: collected.unreadable.count, frames: frameCount,
                      studies: studyCount, seconds: Date().timeIntervalSince(started), resumed: resumed, resumedFailed: resumedFailed,
                      card: card, model: model,
                      rule: binaryRule, multiclassRule: multiclassRule, codingWarnings: options.sr ? coding.warnings : [])
    }

    /// The inputs given, else the catalog the run was trained with.
    func inputs(of run: TrainedRun) throws -> [String] {
        if !options.inputs.isEmpty { return options.inputs }
        guard let catalog = run.config?.catalog else {
            throw WorkflowError.invalidInput("\(run.files.config.path) records no catalog: give DICOM files, folders or a catalog to predict on")
        }
        return [catalog]
    }

    private func path(_ name: String) -> String { (options.folder as NSString).appendingPathComponent(name) }

    /// Refuses preprocessing values that differ from the model card's.
    static func refuseChanges(_ request: PreprocessingRequest, card: ModelCard) throws {
        let c = card.preprocess
        func refuse(_ option: String, _ given: String, _ card: String) throws {
            throw WorkflowError.invalidInput("--\(option) \(given) would change the model card's preprocessing (\(option) \(card)); "
                                             + "predict always preprocesses as the model was trained. Drop the option.")
        }
        if let frames = request.frames { let p = try? FramePolicy(parsing: frames); if p != c.frames { try refuse("frames", frames, c.frames.text) } }
        if let crop = request.crop, CropMode(rawValue: crop) != c.crop { try refuse("crop", crop, c.crop.rawValue) }
        if let aspect = request.aspect, AspectPolicy(rawValue: aspect) != c.aspect { try refuse("aspect", aspect, c.aspect.rawValue) }
        if let interpolation = request.interpolation, Interpolation(rawValue: interpolation) != c.interpolation {
            try refuse("interpolation", interpolation, c.interpolation.rawValue)
        }
        if let normalize = request.normalize, Normalization(rawValue: normalize) != c.normalize { try refuse("normalize", normalize, c.normalize.rawValue) }
        if let size = request.size, size != c.size { try refuse("size", String(size), String(c.size)) }
        if let window = request.window {
            let parts = window.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            let given = parts.count == 2 ? VOIWindow(center: parts[0], width: parts[1]) : nil
            if given == nil || given != c.window { try refuse("window", window, c.window.map { "\($0.center),\($0.width)" } ?? "none (the file's own)") }
        }
    }

    private func writeUnreadable(_ unreadable: [(path: String, reason: String)], keys: PredictionKeys) throws {
        var text = "file_key,reason\n"
        for u in unreadable.sorted(by: { $0.path < $1.path }) {
            let key = options.includeIdentifiers ? u.path : keys.fileKey(u.path)
            text += PredictionCSV.quote(key) + "," + PredictionCSV.quote(PredictionInputs.scrub(u.reason, path: u.path, key: key, keep: options.includeIdentifiers)) + "\n"
        }
        try PredictionFiles.write(text, to: path("unreadable-files.csv"))
    }

    /// `instances` (sorted by study) cut into groups of whole studies, each closed as soon as it
    /// holds at least `every` instances.
    public static func commitGroups(_ instances: [PredictionInstance], every: Int) -> [[PredictionInstance]] {
        var groups: [[PredictionInstance]] = [], current: [PredictionInstance] = []
        for (i, instance) in instances.enumerated() {
            current.append(instance)
            let studyEnds = i + 1 == instances.count || instances[i + 1].studyInstanceUID != instance.studyInstanceUID
            if studyEnds, current.count >= max(every, 1) || i + 1 == instances.count {
                groups.append(current)
                current = []
            }
        }
        return groups
    }

    /// The report of the study of `members` that an earlier run of this shard committed, when it
    /// is one this run would keep: written by this model with this threshold, with identifiers
    /// exactly when asked for, listing exactly the study's instances (scored or failed), with its
    /// HTML page and SR when asked for, and re-encoding to its own bytes (so predictions.csv and
    /// the index built from it equal an uninterrupted run's). Anything else: nil (scored again).
    func committedReport(of members: [PredictionInstance], keys: PredictionKeys, model: PredictionModel,
                         rule: PredictionDecisionRule?, multiclass: MulticlassPredictionRule?) -> PredictionReport? {
        guard let studyUID = members.first?.studyInstanceUID else { return nil }
        let studyKey = keys.studyKey(studyUID)
        guard let data = FileManager.default.contents(atPath: path("\(studyKey).json")),
              let report = try? PredictionMerge.reportDecoder().decode(PredictionReport.self, from: data),
              report.studyKey == studyKey, report.model == model, (report.identifiers != nil) == options.includeIdentifiers,
              (try? report.jsonData()) == data else { return nil }
        if let rule {
            guard report.task == .binary, report.threshold?.value == rule.threshold.value, report.threshold?.source == rule.thresholdSource else { return nil }
        }
        if let multiclass {
            guard report.task == .multiclass, report.decision?.source == multiclass.source,
                  report.decision?.thresholds?.map(\.value) == multiclass.thresholds else { return nil }
        }
        let listed = Set(report.series.flatMap(\.instances).map(\.instanceKey) + report.failures.map(\.item))
        guard listed == Set(members.map { keys.instanceKey($0.sopInstanceUID) }) else { return nil }
        if options.html, !FileManager.default.fileExists(atPath: path("html/\(studyKey).html")) { return nil }
        if options.sr, !FileManager.default.fileExists(atPath: path("sr/\(studyKey).dcm")) { return nil }
        return report
    }

    /// The failure an earlier run of this shard recorded for the study of `members`, when it is one
    /// this run keeps (see `PredictionShardFailure`): this model and weights, this identifier
    /// setting, exactly the study's instances. Anything else: nil (scored again).
    func recordedFailure(of members: [PredictionInstance], keys: PredictionKeys, card: ModelCard) -> PredictionStudyFailure? {
        guard let studyUID = members.first?.studyInstanceUID else { return nil }
        let studyKey = keys.studyKey(studyUID)
        guard let data = FileManager.default.contents(atPath: path(PredictionShardFailure.relativePath(studyKey: studyKey))),
              let record = try? SonoKitJSON.decoder().decode(PredictionShardFailure.self, from: data),
              record.failure.studyKey == studyKey, record.modelID == card.modelID, record.weightsSHA256 == card.weightsSHA256,
              record.includeIdentifiers == options.includeIdentifiers,
              record.instanceKeys == members.map({ keys.instanceKey($0.sopInstanceUID) }).sorted() else { return nil }
        return record.failure
    }

    /// Records `failure` (a study of this shard that produced no report) in `failed/<key>.json`.
    private func recordFailure(_ failure: PredictionStudyFailure, of members: [PredictionInstance], keys: PredictionKeys, card: ModelCard) throws {
        let record = PredictionShardFailure(failure: failure, modelID: card.modelID, weightsSHA256: card.weightsSHA256,
                                            includeIdentifiers: options.includeIdentifiers,
                                            instanceKeys: members.map { keys.instanceKey($0.sopInstanceUID) }.sorted())
        try PredictionFiles.write(try SonoKitJSON.encoder().encode(record), to: path(PredictionShardFailure.relativePath(studyKey: failure.studyKey)))
    }

    /// Removes the failure record of a study that is reported now (nothing when there is none).
    private func removeFailureRecord(studyKey: String) throws {
        let file = path(PredictionShardFailure.relativePath(studyKey: studyKey))
        guard FileManager.default.fileExists(atPath: file) else { return }
        do { try FileManager.default.removeItem(atPath: file) } catch {
            throw WorkflowError.failed("\(file): cannot remove this stale failure record (\(error)); delete it and run the shard again")
        }
    }

    /// studiesCompleted[k] = number of studies whose instances are all among the first k
    /// (instances sorted by study).
    public static func studiesCompleted(after studyOrder: [String]) -> [Int] {
        var out = [Int](repeating: 0, count: studyOrder.count + 1)
        for k in 1...max(studyOrder.count, 1) where k <= studyOrder.count {
            let finished = k == studyOrder.count || studyOrder[k] != studyOrder[k - 1]
            out[k] = out[k - 1] + (finished ? 1 : 0)
        }
        return out
    }

    /// The multi-class rule: the card's aggregation, and argmax, or the per-class thresholds of
    /// `classThresholds` (an evaluation.json that `evaluate --threshold RULE` wrote for this very
    /// run: same model and weights, study-level decision by per-class thresholds).
    static func multiclassRule(card: ModelCard, classThresholds: String?) throws -> MulticlassPredictionRule {
        let aggregation: MulticlassAggregation
        do { aggregation = try MulticlassAggregation(card.aggregation) } catch {
            throw WorkflowError.failed("model-card.json: aggregation \(card.aggregation) does not apply to a multi-class run: \(error)")
        }
        guard let file = classThresholds else { return MulticlassPredictionRule(aggregation: aggregation, source: "model card: argmax") }
        let report: MulticlassEvaluationReport
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            guard try MulticlassEvaluationReport.task(ofReport: data) == .multiclass else {
                throw WorkflowError.invalidInput("--class-thresholds \(file): a binary evaluation report; give the evaluation.json of this multi-class run")
            }
            report = try SonoKitJSON.decoder().decode(MulticlassEvaluationReport.self, from: data)
        } catch let error as WorkflowError { throw error } catch {
            throw WorkflowError.invalidInput("--class-thresholds \(file): not a readable evaluation.json: \(error)")
        }
        guard report.run.modelId == card.modelID, report.run.weightsSha256 == card.weightsSHA256, report.classes == card.classes else {
            throw WorkflowError.invalidInput("--class-thresholds \(file): evaluates another model (\(report.run.modelId)) than this run's (\(card.modelID)); "
                + "run `sonokit evaluate RUN_DIR --threshold youden` on this run and give its evaluation.json")
        }
        guard case .perClassThresholds(let thresholds) = report.study.decision else {
            throw WorkflowError.invalidInput("--class-thresholds \(file): that evaluation decided by argmax and fitted no thresholds; "
                + "run `sonokit evaluate RUN_DIR --threshold youden` (or sensitivity=0.9, ...) and give its evaluation.json")
        }
        let first = thresholds.thresholds.first
        let fitted = first?.fittedOn.map { " fitted on the \($0.split) split" } ?? ""
        return MulticlassPredictionRule(aggregation: aggregation, decision: .perClassThresholds(thresholds),
                                        source: "per-class thresholds (\(first.map { "\($0.rule)" } ?? "")\(fitted)), from the evaluation of split \(report.evaluatedSplit)")
    }

    public static func thresholdSource(_ t: ThresholdChoice) -> String {
        guard let f = t.fittedOn else { return "model card: fixed threshold" }
        return "model card: \(t.rule) fitted on the \(f.split) split at \(f.level.rawValue) level"
            + (f.aggregation.map { " (\($0) aggregation)" } ?? "") + ", \(f.samples) samples"
    }

    /// The pictures of a study's frames: source with crop box, network input, Grad-CAM. The
    /// Grad-CAMs of a study are computed one after another before any picture is drawn: the
    /// network's OpenMP threads spin between calls, and interleaving them with PNG encoding on 2
    /// cores doubled the time of `--html`.
    static func pictures(of members: [PredictionInstance], frames: [String: [FrameResult]], run: TrainedRun,
                         keys: PredictionKeys, classIndex: Int? = nil) throws -> [PredictionFramePictures] {
        let pre = run.preprocessor
        var prepared: [(instance: PredictionInstance, source: MemoizedFrames, frame: PreprocessedFrame, probability: Double)] = []
        for instance in members {
            guard let scored = frames[instance.sopInstanceUID], let file = try? DicomFile(path: instance.path) else { continue }
            let source = MemoizedFrames(file)
            guard let processed = try? pre.process(source) else { continue }
            // The probability shown: binary, the positive class's; multi-class, the explained class's.
            let probability = Dictionary(scored.map { frame in
                (frame.frameIndex, classIndex.flatMap { k in frame.classProbabilities.map { $0[k] } } ?? frame.probability)
            }, uniquingKeysWith: { a, _ in a })
            for frame in processed.frames {
                if let p = probability[frame.frameIndex] { prepared.append((instance, source, frame, p)) }
            }
        }
        let heatmaps = try prepared.map { try run.gradCAM(of: $0.frame, classIndex: classIndex) }
        return try zip(prepared, heatmaps).map { item, heat in
            let decoded = try item.source.decodeRGB(frame: item.frame.frameIndex, window: run.card.preprocess.window)
            let boxed = PreviewPictures.drawing(item.frame.crop.box, on: decoded, colour: PreviewPictures.colour(of: item.frame.crop.source))
            return PredictionFramePictures(instanceKey: keys.instanceKey(item.instance.sopInstanceUID), frameIndex: item.frame.frameIndex,
                                           probability: item.probability, source: boxed, input: item.frame.image, heatmap: heat)
        }
    }
}


extension PredictedFrame {
    /// A scored frame as the reports take it (with every class's probability for a multi-class run).
    public init(_ frame: FrameResult) {
        if let classProbabilities = frame.classProbabilities {
            self.init(sopInstanceUID: frame.sopInstanceUID, frameIndex: frame.frameIndex, classProbabilities: classProbabilities,
                      crop: frame.crop, decode: frame.decode, warnings: frame.warnings)
        } else {
            self.init(sopInstanceUID: frame.sopInstanceUID, frameIndex: frame.frameIndex, probability: frame.probability,
                      crop: frame.crop, decode: frame.decode, warnings: frame.warnings)
        }
    }
}

extension PredictionModel {
    /// The model as a prediction report names it, from the run's model card.
    public init(card: ModelCard) {
        self.init(modelID: card.modelID, architecture: card.architecture, weightsSHA256: card.weightsSHA256, weightsOrigin: card.weightsOrigin,
                  classes: card.classes, positiveClass: card.task == .binary ? card.positiveClass : nil,
                  deviceUID: PredictionModel.deviceUID(modelID: card.modelID, weightsSHA256: card.weightsSHA256),
                  preprocessingHash: card.preprocessHash, softwareVersions: card.softwareVersions, createdAt: card.createdAt)
    }
}
