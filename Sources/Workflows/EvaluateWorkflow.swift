import Catalog
import DICOM
import Evaluation
import Foundation
import Imaging
import Manifest
import Preprocess
import Reports
import SonoKitCore
import Training

/// `evaluate`: study-level results of a trained run on one split, with confidence intervals, a
/// threshold fitted on the validation split only, calibration, subgroups, and a report with
/// thumbnails of the failure cases, written to `RUN_DIR/eval-SPLIT/`.
public struct EvaluateWorkflow {
    public struct Options: Sendable {
        /// The run folder written by `train`.
        public var runDirectory: String
        /// The split evaluated.
        public var split: String = "test"
        /// The split the threshold is fitted on (nil: the run's validation split, else "validation").
        public var validationSplit: String?
        /// Frame-to-study aggregation (nil: the model card's).
        public var aggregation: StudyAggregation?
        /// Patient-bootstrap replicates (0: off).
        public var bootstrap: Int = 2000
        /// Binary: the threshold rule (nil: Youden). Multi-class: nil decides by argmax; a rule
        /// fits one threshold per class, one-vs-rest on the validation split, and decides by
        /// argmax of p_k / t_k (threshold moving).
        public var threshold: ThresholdRule?
        /// The catalog the run was trained with (nil: the one its config.json records).
        public var catalog: String?
        /// Output folder (nil: RUN_DIR/eval-SPLIT).
        public var output: String?
        /// Frames shown per failure case.
        public var thumbnailsPerCase: Int = 4
        /// Skip the duplicate-pixel checks of the manifest validation.
        public var noPixelCheck = false

        public init(runDirectory: String) { self.runDirectory = runDirectory }
    }

    public struct Result {
        /// The report of the run's task.
        public enum Evaluated {
            case binary(EvaluationReport)
            case multiclass(MulticlassEvaluationReport)
        }
        public var evaluated: Evaluated
        /// The folder written (evaluation.json, studies.csv, frames.csv, evaluation.html, thumbnails/).
        public var folder: URL
        public var thumbnailCount: Int

        /// The binary report (nil for a multi-class run).
        public var report: EvaluationReport? {
            if case .binary(let report) = evaluated { return report }
            return nil
        }
        /// The multi-class report (nil for a binary run).
        public var multiclassReport: MulticlassEvaluationReport? {
            if case .multiclass(let report) = evaluated { return report }
            return nil
        }
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    public func run() throws -> Result {
        let split = options.split
        let trained = try TrainedRun(directory: options.runDirectory)
        let directory = trained.files
        let card = trained.card
        let aggregation = options.aggregation ?? card.aggregation
        let validationSplit = options.validationSplit ?? trained.config?.validationSplit ?? "validation"

        // 1. The run's manifest, validated as `manifest validate` does, with the run's classes and splits.
        let catalogPath = try options.catalog ?? Self.trainingCatalog(trained)
        let resolved = try Self.validatedManifest(trained, catalog: catalogPath, noPixelCheck: options.noPixelCheck, events: events)
        guard resolved.splitNames.contains(split) else {
            throw WorkflowError.failed("\(directory.manifestCopy.path): no image in split '\(split)'; the run's splits are \(resolved.splitNames.joined(separator: ", ")).")
        }
        guard resolved.splitNames.contains(validationSplit) else {
            throw WorkflowError.failed("\(directory.manifestCopy.path): no split '\(validationSplit)' to fit the threshold on; the run's splits are "
                + "\(resolved.splitNames.joined(separator: ", ")). Name one with --validation-split.")
        }
        let store = try openExistingCatalog(catalogPath)
        let keys = try EvaluationKeys(resolved: resolved, catalog: store, splits: Set([split, validationSplit]))

        // 2. Per-frame probabilities through the run's own preprocessing and network.
        let wanted = resolved.images.filter { $0.split == split || $0.split == validationSplit }
        let inputs = wanted.map { keys.input(for: $0) }
        let progress = events.progress("evaluate", unit: "instances")
        let inference = try trained.predict(instances: inputs) { done, total in progress(done, total) }
        events.progressFinished("evaluate")
        var warnings: [String] = []
        var failures: [NamedValue] = []
        for failure in inference.failures {
            let instance = keys.instanceKey(path: failure.path)
            events.warning("\(failure.path): not evaluated: \(failure.reason)")
            failures.append(NamedValue(instance, failure.reason.replacingOccurrences(of: failure.path, with: "<file>")))
        }
        if !failures.isEmpty {
            warnings.append("\(failures.count) instance(s) could not be read or preprocessed and are not in the results (listed in the HTML report).")
        }

        // Instances whose ultrasound regions do not fit the image were cropped by `auto`: printed
        // with the path, recorded in evaluation.json by instance key.
        var warned = Set<String>()
        for frame in inference.frames where warned.insert(frame.path).inserted {
            for warning in frame.crop.warnings where CropPlanner.isUntrustedRegionWarning(warning) {
                events.warning("\(frame.path): \(warning)")
                warnings.append("instance \(keys.instanceKey(path: frame.path)): \(warning)")
            }
        }

        let folder = URL(fileURLWithPath: options.output
            ?? URL(fileURLWithPath: options.runDirectory).appendingPathComponent("eval-\(Self.safeName(split))").path)
        events.removeStaleTemporaries(in: folder.path)
        if card.task == .multiclass {
            let common = MulticlassInputs(trained: trained, resolved: resolved, keys: keys, inference: inference, wanted: wanted,
                                          split: split, validationSplit: validationSplit, warnings: warnings, failures: failures, folder: folder)
            return try evaluateMulticlass(common)
        }

        // 3. Frame predictions with the manifest's labels, and the Evaluation library.
        let rows = try inference.frames.map { try keys.row(for: $0) }
        let evaluated = rows.filter { $0.split == split }, validation = rows.filter { $0.split == validationSplit }
        let missingStudies = Set(wanted.filter { $0.split == split }.map { keys.studyKey(of: $0) }).subtracting(evaluated.map(\.row.studyKey))
        if !missingStudies.isEmpty {
            warnings.append("\(missingStudies.count) stud(ies) of the \(split) split have no readable frame and are not evaluated.")
        }
        let settings = EvaluationSettings(aggregation: aggregation, bootstrapReplicates: options.bootstrap, bootstrapSeed: card.seed)
        let result = try Evaluator.evaluate(frames: evaluated.map(\.prediction), split: split, validationFrames: validation.map(\.prediction),
                                            validationSplit: validationSplit, rule: options.threshold ?? .youden, settings: settings)
        let classes = ClassNames(positive: card.positiveClass, negative: card.classes.first { $0 != card.positiveClass } ?? "negative")
        var report = EvaluationReport(run: Self.identity(directory, card: card), classes: classes, evaluatedSplit: split, settings: settings,
                                      study: result.study, frame: result.frame, subgroups: result.subgroups,
                                      failureAnalysis: result.failureAnalysis,
                                      dataCounts: keys.dataCounts(resolved, classes: classes, policy: card.preprocess.frames))
        if let trainSplits = trained.config?.trainSplits, trainSplits.contains(split) {
            report.warnings.append("The model was trained on the evaluated split '\(split)': every result here is optimistic. "
                + "Evaluate on a split the model never saw (e.g. test).")
        }
        report.warnings += warnings

        // 4. Thumbnails of the frames the model saw for the failure cases, and the files.
        let (thumbnails, pictures) = try Self.failureThumbnails(result.failureAnalysis, frames: inference.frames, keys: keys,
                                                                 preprocessor: trained.preprocessor, perCase: options.thumbnailsPerCase,
                                                                 events: events)
        var page = EvaluationPageContent(report: report, modelCard: EvaluationPageRows.modelCard(card),
                                         preprocessing: EvaluationPageRows.preprocessing(card.preprocess),
                                         thumbnails: thumbnails, frameFailures: failures)
        do {
            page.history = try trained.history()
        } catch {
            page.historyProblem = "\(directory.history.path): \(error)"
        }
        try EvaluationOutput(directory: folder, report: report, studies: result.studies, frames: evaluated.map(\.row), page: page, pictures: pictures).write()
        return Result(evaluated: .binary(report), folder: folder, thumbnailCount: pictures.count)
    }

    // MARK: - Steps

    /// The catalog recorded in the run's config.json, else an error asking for --catalog.
    static func trainingCatalog(_ run: TrainedRun) throws -> String {
        guard let path = run.config?.catalog else {
            throw WorkflowError.invalidInput("\(run.files.config.path) records no catalog: give the one the run was trained with, --catalog work/catalog.sqlite")
        }
        return path
    }

    /// Validates RUN_DIR/inputs/manifest.csv (with inputs/splits.csv when present) with the run's
    /// classes, exactly as `manifest validate` does; reports every problem as a warning and fails on errors.
    static func validatedManifest(_ run: TrainedRun, catalog: String, noPixelCheck: Bool, events: WorkflowEvents) throws -> ResolvedManifest {
        let directory = run.files, card = run.card
        let manifest = directory.manifestCopy.path
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw WorkflowError.failed("\(manifest): the run has no copy of its manifest; was it written by `sonokit train`?")
        }
        let input = ManifestInput(manifest: manifest, catalog: catalog, classes: try classDeclaration(of: card), noPixelCheck: noPixelCheck)
        let splitsPath = directory.splitsCopy.path
        let assignment = FileManager.default.fileExists(atPath: splitsPath) ? try SplitsFile.read(path: splitsPath) : nil
        let result = try ManifestWorkflow.validate(input, splits: assignment, events: events)
        for issue in result.report.issues { events.warning(issue.formatted(file: manifest)) }
        guard result.report.isValid else {
            throw WorkflowError.failed("\(manifest): \(result.report.errors.count) error(s) (above); nothing evaluated. The catalog or the files changed since training?")
        }
        return result.resolved
    }

    /// The class declaration a run was trained with (its task, classes, positive class or order).
    static func classDeclaration(of card: ModelCard) throws -> ClassDeclaration {
        switch card.task {
        case .binary: return try ClassDeclaration(classes: card.classes, positive: card.positiveClass)
        case .multiclass: return try ClassDeclaration(classes: card.classes, positive: nil, task: .multiclass, ordinal: card.ordinal ?? false)
        }
    }

    static func identity(_ directory: RunDirectory, card: ModelCard) -> RunIdentity {
        var versions = card.softwareVersions.sorted { $0.key < $1.key }.map { NamedValue("\($0.key) (training)", $0.value) }
        versions += [NamedValue("sonokit (evaluation)", SoftwareVersions.sonokit), NamedValue("swift (evaluation)", SoftwareVersions.swift),
                     NamedValue("dcmtk (evaluation)", SoftwareVersions.dcmtk), NamedValue("onednn (evaluation)", SoftwareVersions.oneDNN)]
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return RunIdentity(runId: URL(fileURLWithPath: directory.path).standardizedFileURL.lastPathComponent, modelId: card.modelID,
                           weightsSha256: card.weightsSHA256, preprocessingHash: card.preprocessHash, seed: card.seed,
                           softwareVersions: versions, createdAt: formatter.string(from: Date()))
    }

    /// For each failure case, the `perCase` frames that drove the study probability (FP: highest
    /// frame probabilities first; FN: lowest first), preprocessed again by the run's own pipeline.
    static func failureThumbnails(_ analysis: FailureAnalysis, frames: [FrameResult], keys: EvaluationKeys, preprocessor: FramePreprocessor,
                                  perCase: Int, events: WorkflowEvents) throws -> ([String: [EvaluationThumbnail]], [String: RGBImage]) {
        var thumbnails: [String: [EvaluationThumbnail]] = [:]
        var pictures: [String: RGBImage] = [:]
        guard perCase > 0 else { return (thumbnails, pictures) }
        let byStudy = Dictionary(grouping: frames, by: \.studyKey)
        let cases = analysis.falsePositives.map { ($0, true) } + analysis.falseNegatives.map { ($0, false) }
        for (failure, isFalsePositive) in cases {
            let chosen = (byStudy[failure.studyKey] ?? []).sorted {
                isFalsePositive ? ($0.probability, $1.path, $1.frameIndex) > ($1.probability, $0.path, $0.frameIndex)
                                : ($0.probability, $0.path, $0.frameIndex) < ($1.probability, $1.path, $1.frameIndex)
            }.prefix(perCase)
            var shown: [EvaluationThumbnail] = []
            for (path, group) in Dictionary(grouping: chosen, by: \.path) {
                let instance: PreprocessedInstance
                do { instance = try preprocessor.process(try DicomFile(path: path)) } catch {
                    events.warning("\(path): no thumbnail: \(error)")
                    continue
                }
                for frame in group {
                    guard let picture = instance.frames.first(where: { $0.frameIndex == frame.frameIndex }) else { continue }
                    let instanceKey = keys.instanceKey(sopInstanceUID: frame.sopInstanceUID)
                    let file = EvaluationOutput.thumbnailFile(studyKey: failure.studyKey, instanceKey: instanceKey, frameIndex: frame.frameIndex)
                    pictures[file] = picture.image
                    shown.append(EvaluationThumbnail(file: file, instanceKey: instanceKey, frameIndex: frame.frameIndex, probability: frame.probability))
                }
            }
            thumbnails[failure.studyKey] = shown.sorted {
                isFalsePositive ? ($0.probability, $1.file) > ($1.probability, $0.file) : ($0.probability, $0.file) < ($1.probability, $1.file)
            }
        }
        return (thumbnails, pictures)
    }

    /// A split name as a folder name part.
    static func safeName(_ s: String) -> String {
        String(s.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" ? Character($0) : "_" })
    }
}

/// The model card's and the preprocessing's rows on the evaluation page.
public enum EvaluationPageRows {
    public static func modelCard(_ card: ModelCard) -> [NamedValue] {
        var rows = [NamedValue("Architecture", card.architecture), NamedValue("Weights origin", card.weightsOrigin ?? "not recorded"),
                    NamedValue("Frozen layers", card.frozenLayers.isEmpty ? "none" : card.frozenLayers.joined(separator: ", ")),
                    NamedValue("Classes", card.classes.joined(separator: ", ")), NamedValue("Positive class", card.positiveClass),
                    NamedValue("Manifest hash", card.manifestHash), NamedValue("Training aggregation", "\(card.aggregation)"),
                    NamedValue("Trained", card.createdAt)]
        if let t = card.threshold {
            rows.append(NamedValue("Threshold at the end of training", "\(t.value) (rule \(t.rule)\(t.fittedOn.map { ", fitted on \($0.split)" } ?? ""))"))
        }
        return rows
    }

    /// The preprocessing configuration's fields as rows (from its JSON encoding, so a new field shows up by itself).
    public static func preprocessing(_ config: PreprocessConfig) -> [NamedValue] {
        var rows = [NamedValue("Hash", config.hash)]
        if let data = try? SonoKitJSON.encoder().encode(config), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for key in object.keys.sorted() {
                let value = object[key]!
                let text: String
                if let s = value as? String { text = s } else if JSONSerialization.isValidJSONObject(value),
                    let d = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) { text = String(decoding: d, as: UTF8.self) }
                else { text = "\(value)" }
                rows.append(NamedValue(key, text))
            }
        }
        return rows
    }
}
