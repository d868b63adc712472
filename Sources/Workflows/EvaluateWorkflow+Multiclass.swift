import DICOM
import Evaluation
import Foundation
import Imaging
import Manifest
import Preprocess
import Reports
import Training

/// `evaluate` for a multi-class run: the same manifest check, keys and inference as the binary
/// path (`EvaluateWorkflow.run`), then the multi-class Evaluation library (per-class one-vs-rest
/// AUC, confusion matrix, kappa, ...) and the multi-class report folder, with thumbnails of the
/// frames the model saw for the worst confusions.
extension EvaluateWorkflow {
    /// What the shared first steps of `run()` produced.
    struct MulticlassInputs {
        var trained: TrainedRun
        var resolved: ResolvedManifest
        var keys: EvaluationKeys
        var inference: InferenceOutput
        var wanted: [ResolvedImage]
        var split: String
        var validationSplit: String
        var warnings: [String]
        var failures: [NamedValue]
        var folder: URL
    }

    func evaluateMulticlass(_ inputs: MulticlassInputs) throws -> Result {
        let trained = inputs.trained, card = trained.card, keys = inputs.keys
        let aggregation = options.aggregation ?? card.aggregation
        let settings: MulticlassEvaluationSettings
        do {
            settings = try MulticlassEvaluationSettings(EvaluationSettings(aggregation: aggregation, bootstrapReplicates: options.bootstrap,
                                                                           bootstrapSeed: card.seed))
        } catch {
            throw WorkflowError.invalidInput("--aggregate \(aggregation): \(error) (a multi-class run aggregates by mean, max or vote)")
        }

        // Frame predictions with the manifest's class of each image, split by split.
        var evaluated: [MulticlassFrame] = [], validation: [MulticlassFrame] = []
        for result in inputs.inference.frames {
            guard let image = keys.imageBySOP[result.sopInstanceUID] else {
                throw WorkflowError.failed("\(result.path): a predicted instance that the manifest does not name (SOP Instance UID changed since ingest?)")
            }
            guard let probabilities = result.classProbabilities, probabilities.count == card.classes.count else {
                throw WorkflowError.failed("\(trained.files.path): the network gave \(result.classProbabilities?.count ?? 1) output(s) for the "
                    + "\(card.classes.count) classes of the model card; the run folder is damaged")
            }
            let frame = MulticlassFrame(studyKey: keys.studyKey(of: image), patientKey: keys.patientKey(of: image),
                                        frame: FrameReference(path: result.path, instanceKey: keys.instanceKey(sopInstanceUID: result.sopInstanceUID),
                                                              frameIndex: result.frameIndex),
                                        trueClass: image.classIndex, probabilities: probabilities, attributes: keys.attributes(of: image))
            if image.split == inputs.split { evaluated.append(frame) }
            if image.split == inputs.validationSplit { validation.append(frame) }
        }
        var warnings = inputs.warnings
        let missingStudies = Set(inputs.wanted.filter { $0.split == inputs.split }.map { keys.studyKey(of: $0) }).subtracting(evaluated.map(\.studyKey))
        if !missingStudies.isEmpty {
            warnings.append("\(missingStudies.count) stud(ies) of the \(inputs.split) split have no readable frame and are not evaluated.")
        }
        let counts = Self.multiclassDataCounts(inputs.resolved, keys: keys, classes: card.classes, policy: card.preprocess.frames)
        let thresholds = options.threshold.map { (rule: $0, validationFrames: validation, validationSplit: inputs.validationSplit) }
        var evaluation: MulticlassEvaluation
        do {
            evaluation = try MulticlassEvaluator(settings).evaluate(frames: evaluated, classes: card.classes, ordinal: card.ordinal ?? false,
                                                                    split: inputs.split, run: Self.identity(trained.files, card: card),
                                                                    dataCounts: counts, thresholds: thresholds)
        } catch {
            throw WorkflowError.failed("\(inputs.split) split of \(trained.files.path): \(error)")
        }
        if let trainSplits = trained.config?.trainSplits, trainSplits.contains(inputs.split) {
            evaluation.report.warnings.append("The model was trained on the evaluated split '\(inputs.split)': every result here is optimistic. "
                + "Evaluate on a split the model never saw (e.g. test).")
        }
        evaluation.report.warnings += warnings

        // Thumbnails of the frames the model saw for the worst confusions, and the files.
        let (thumbnails, pictures) = try Self.confusionThumbnails(evaluation, classes: card.classes, preprocessor: trained.preprocessor,
                                                                   perCase: options.thumbnailsPerCase, events: events)
        var page = MulticlassPageContent(evaluation: evaluation, modelCard: EvaluationPageRows.modelCard(card),
                                         preprocessing: EvaluationPageRows.preprocessing(card.preprocess),
                                         thumbnails: thumbnails, frameFailures: inputs.failures)
        do {
            page.history = try trained.history()
        } catch {
            page.historyProblem = "\(trained.files.history.path): \(error)"
        }
        try MulticlassEvaluationOutput(page: page, pictures: pictures).write(to: inputs.folder)
        return Result(evaluated: .multiclass(evaluation.report), folder: inputs.folder, thumbnailCount: pictures.count)
    }

    /// Patients, studies and frames (as selected by the frame policy) of every split, per class.
    static func multiclassDataCounts(_ resolved: ResolvedManifest, keys: EvaluationKeys, classes: [String], policy: FramePolicy) -> [SplitCounts] {
        resolved.splitNames.map { name in
            let frames = resolved.images(inSplit: name).flatMap { image in
                policy.select(frameCount: max(1, image.instance.numberOfFrames)).indices.map { index in
                    // Counting only: the probabilities are not used.
                    MulticlassFrame(studyKey: keys.studyKey(of: image), patientKey: keys.patientKey(of: image),
                                    frame: FrameReference(path: "", instanceKey: keys.instanceKey(sopInstanceUID: image.instance.sopInstanceUID),
                                                          frameIndex: index),
                                    trueClass: image.classIndex, probabilities: [Double](repeating: 1 / Double(classes.count), count: classes.count))
                }
            }
            return SplitCounts(split: name, multiclassFrames: frames, classes: classes)
        }
    }

    /// For each worst confusion, the `perCase` frames with the highest probability of the wrongly
    /// decided class, preprocessed again by the run's own pipeline; each thumbnail carries that
    /// probability.
    static func confusionThumbnails(_ evaluation: MulticlassEvaluation, classes: [String], preprocessor: FramePreprocessor, perCase: Int,
                                    events: WorkflowEvents) throws -> ([String: [EvaluationThumbnail]], [String: RGBImage]) {
        var thumbnails: [String: [EvaluationThumbnail]] = [:]
        var pictures: [String: RGBImage] = [:]
        guard perCase > 0 else { return (thumbnails, pictures) }
        for confusion in evaluation.report.worstConfusions {
            guard let wrong = classes.firstIndex(of: confusion.predictedClass) else { continue }
            let chosen = MulticlassEvaluationOutput.thumbnailFrames(for: confusion, frames: evaluation.frames, classes: classes, perCase: perCase)
            var shown: [EvaluationThumbnail] = []
            for (path, group) in Dictionary(grouping: chosen, by: \.frame.path) {
                let instance: PreprocessedInstance
                do { instance = try preprocessor.process(try DicomFile(path: path)) } catch {
                    events.warning("\(path): no thumbnail: \(error)")
                    continue
                }
                for frame in group {
                    guard let picture = instance.frames.first(where: { $0.frameIndex == frame.frame.frameIndex }) else { continue }
                    let file = EvaluationOutput.thumbnailFile(studyKey: confusion.studyKey, instanceKey: frame.frame.instanceKey,
                                                              frameIndex: frame.frame.frameIndex)
                    pictures[file] = picture.image
                    shown.append(EvaluationThumbnail(file: file, instanceKey: frame.frame.instanceKey, frameIndex: frame.frame.frameIndex,
                                                     probability: frame.probabilities[wrong]))
                }
            }
            thumbnails[confusion.studyKey] = shown.sorted { ($0.probability, $1.file) > ($1.probability, $0.file) }
        }
        return (thumbnails, pictures)
    }
}
