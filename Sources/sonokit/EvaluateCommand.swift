import ArgumentParser
import Catalog
import DICOM
import Evaluation
import Foundation
import SonoKitCore
import Imaging
import Manifest
import Preprocess
import Reports
import Training

/// `sonokit evaluate RUN_DIR --split test`: study-level results with confidence intervals, a
/// threshold fitted on the validation split, calibration, subgroups and a report with pictures.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a trained run on a split: study-level metrics with confidence intervals, plots, an HTML report.",
        discussion: """
        The run's copy of its manifest (RUN_DIR/inputs) is validated against the catalog exactly as `sonokit manifest validate` does, with the run's classes and splits; nothing is evaluated on an invalid manifest. Every frame of the evaluated split and of the validation split goes through the run's own preprocessing and network. Frame probabilities become study probabilities by --aggregate; the decision threshold is fitted on the validation split only (at study level for the study results, at frame level for the frame results) and its provenance is written next to it. Evaluating the validation split itself is allowed and flagged: its sensitivity and specificity are then optimistic.

        Writes RUN_DIR/eval-SPLIT/ (or --output): evaluation.json (Schemas/evaluation-report.schema.json), studies.csv, frames.csv, evaluation.html with thumbnails/ beside it. Files hold pseudonymous keys only, no patient name or ID.

        Examples:
          sonokit evaluate runs/exp1 --split test --catalog work/catalog.sqlite
          sonokit evaluate runs/exp1 --catalog work/catalog.sqlite --aggregate max --threshold sensitivity=0.9 --bootstrap 2000
          sonokit evaluate runs/exp1 --catalog work/catalog.sqlite --split validation -o runs/exp1/eval-validation
        """
    )

    @Argument(help: ArgumentHelp("The run directory written by `sonokit train -o RUN_DIR`.", valueName: "RUN_DIR")) var runDirectory: String
    @Option(help: "The split to evaluate (a name of the run's splits file, e.g. test).") var split: String = "test"
    @Option(help: "The split the threshold is fitted on (default: the run's validation split, else validation).") var validationSplit: String?
    @Option(help: "Study aggregation of frame probabilities: mean, max, vote or vote=<frame threshold> (default: the run's).")
    var aggregate: String?
    @Option(help: "Bootstrap replicates for the AUC interval and the ROC band, resampling patients (0 turns it off).")
    var bootstrap: Int = 2000
    @Option(help: "Threshold rule, fitted on the validation split: youden, sensitivity=0.9, specificity=0.9 or fixed=0.5.")
    var threshold: String = "youden"
    @Option(help: "The catalog made by `sonokit ingest` that the run was trained with (needed unless the run's config.json records it).")
    var catalog: String?
    @Option(name: .shortAndLong, help: "Output folder (default: RUN_DIR/eval-SPLIT).") var output: String?
    @Option(help: "Frames shown per failure case in the report.") var thumbnailsPerCase: Int = 4
    @Flag(help: "Skip the duplicate-pixel checks of the manifest validation.") var noPixelCheck = false

    func validate() throws {
        do { _ = try ThresholdRule(parsing: threshold) } catch { throw ValidationError("--threshold: \(error)") }
        if let aggregate { do { _ = try StudyAggregation(parsing: aggregate) } catch { throw ValidationError("--aggregate: \(error)") } }
        guard bootstrap >= 0 else { throw ValidationError("--bootstrap takes 0 (off) or a number of replicates, e.g. 2000") }
        guard thumbnailsPerCase >= 0 else { throw ValidationError("--thumbnails-per-case must be 0 or more") }
        guard !split.isEmpty, validationSplit?.isEmpty != true else { throw ValidationError("--split and --validation-split need a name") }
    }

    func run() throws {
        let trained = try TrainedRun(directory: runDirectory)
        let directory = trained.files
        let card = trained.card
        let rule = try ThresholdRule(parsing: threshold)
        let aggregation = try aggregate.map(StudyAggregation.init(parsing:)) ?? card.aggregation
        let validationSplit = self.validationSplit ?? trained.config?.validationSplit ?? "validation"

        // 1. The run's manifest, validated as `manifest validate` does, with the run's classes and splits.
        let catalogPath = try catalog ?? Self.trainingCatalog(trained)
        let resolved = try Self.validatedManifest(directory, card: card, catalog: catalogPath, noPixelCheck: noPixelCheck)
        guard resolved.splitNames.contains(split) else {
            throw CommandFailure("\(directory.manifestCopy.path): no image in split '\(split)'; the run's splits are \(resolved.splitNames.joined(separator: ", ")).")
        }
        guard resolved.splitNames.contains(validationSplit) else {
            throw CommandFailure("\(directory.manifestCopy.path): no split '\(validationSplit)' to fit the threshold on; the run's splits are "
                + "\(resolved.splitNames.joined(separator: ", ")). Name one with --validation-split.")
        }
        let store = try openExisting(catalogPath)
        let keys = try EvaluationKeys(resolved: resolved, catalog: store, splits: Set([split, validationSplit]))

        // 2. Per-frame probabilities through the run's own preprocessing and network.
        let wanted = resolved.images.filter { $0.split == split || $0.split == validationSplit }
        let inputs = wanted.map { keys.input(for: $0) }
        let line = ProgressLine("evaluate")
        let start = Date()
        let inference = try trained.predict(instances: inputs) { done, total in
            line.update(done: done, total: total, elapsed: Date().timeIntervalSince(start), unit: "instances")
        }
        line.finish()
        var warnings: [String] = []
        var failures: [NamedValue] = []
        for failure in inference.failures {
            let instance = keys.instanceKey(path: failure.path)
            warn("\(failure.path): not evaluated: \(failure.reason)")
            failures.append(NamedValue(instance, failure.reason.replacingOccurrences(of: failure.path, with: "<file>")))
        }
        if !failures.isEmpty {
            warnings.append("\(failures.count) instance(s) could not be read or preprocessed and are not in the results (listed in the HTML report).")
        }

        // 3. Frame predictions with the manifest's labels, and the Evaluation library.
        let rows = try inference.frames.map { try keys.row(for: $0) }
        let evaluated = rows.filter { $0.split == split }, validation = rows.filter { $0.split == validationSplit }
        let missingStudies = Set(wanted.filter { $0.split == split }.map { keys.studyKey(of: $0) }).subtracting(evaluated.map(\.row.studyKey))
        if !missingStudies.isEmpty {
            warnings.append("\(missingStudies.count) stud(ies) of the \(split) split have no readable frame and are not evaluated.")
        }
        let settings = EvaluationSettings(aggregation: aggregation, bootstrapReplicates: bootstrap, bootstrapSeed: card.seed)
        let result = try Evaluator.evaluate(frames: evaluated.map(\.prediction), split: split, validationFrames: validation.map(\.prediction),
                                            validationSplit: validationSplit, rule: rule, settings: settings)
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
                                                                 preprocessor: trained.preprocessor, perCase: thumbnailsPerCase)
        var page = EvaluationPageContent(report: report, modelCard: Self.modelCardRows(card), preprocessing: Self.preprocessingRows(card.preprocess),
                                         thumbnails: thumbnails, frameFailures: failures)
        do {
            page.history = try trained.history()
        } catch {
            page.historyProblem = "\(directory.history.path): \(error)"
        }
        let folder = URL(fileURLWithPath: output ?? URL(fileURLWithPath: runDirectory).appendingPathComponent("eval-\(Self.safeName(split))").path)
        try EvaluationOutput(directory: folder, report: report, studies: result.studies, frames: evaluated.map(\.row), page: page, pictures: pictures).write()
        print(EvaluationSummary.text(report), terminator: "")
        print("Wrote \(folder.path)/: evaluation.json, studies.csv, frames.csv, evaluation.html (+\(pictures.count) thumbnails)")
    }

    // MARK: - Steps

    /// The catalog recorded in the run's config.json, else an error asking for --catalog.
    static func trainingCatalog(_ run: TrainedRun) throws -> String {
        guard let path = run.config?.catalog else {
            throw ValidationError("\(run.files.config.path) records no catalog: give the one the run was trained with, --catalog work/catalog.sqlite")
        }
        return path
    }

    /// Validates RUN_DIR/inputs/manifest.csv (with inputs/splits.csv when present) with the run's
    /// classes through the same options `manifest validate` uses; prints every problem and fails on errors.
    static func validatedManifest(_ directory: RunDirectory, card: ModelCard, catalog: String, noPixelCheck: Bool) throws -> ResolvedManifest {
        let manifest = directory.manifestCopy.path
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw CommandFailure("\(manifest): the run has no copy of its manifest; was it written by `sonokit train`?")
        }
        var arguments = [manifest, "--catalog", catalog, "--classes", card.classes.joined(separator: ","), "--positive", card.positiveClass]
        if noPixelCheck { arguments.append("--no-pixel-check") }
        let options = try ManifestOptions.parse(arguments)
        let splitsPath = directory.splitsCopy.path
        let assignment = FileManager.default.fileExists(atPath: splitsPath) ? try SplitsFile.read(path: splitsPath) : nil
        let result = try options.validate(splits: assignment)
        for issue in result.report.issues { warn(issue.formatted(file: manifest)) }
        guard result.report.isValid else {
            throw CommandFailure("\(manifest): \(result.report.errors.count) error(s) (above); nothing evaluated. The catalog or the files changed since training?")
        }
        return result.resolved
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
                                  perCase: Int) throws -> ([String: [EvaluationThumbnail]], [String: RGBImage]) {
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
                    warn("\(path): no thumbnail: \(error)")
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

    static func modelCardRows(_ card: ModelCard) -> [NamedValue] {
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
    static func preprocessingRows(_ config: PreprocessConfig) -> [NamedValue] {
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

    /// A split name as a folder name part.
    static func safeName(_ s: String) -> String {
        String(s.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" ? Character($0) : "_" })
    }
}

/// The pseudonymous keys and labels of the evaluated images: study and patient keys are the
/// catalog's keyed hashes of the manifest's study and patient (the split group), instance keys
/// hashes of the SOP Instance UID; labels, sites and manufacturers come from the manifest and catalog.
struct EvaluationKeys {
    let pseudonymizer: Pseudonymizer
    let imageBySOP: [String: ResolvedImage]
    let sopByPath: [String: String]
    /// Manufacturer per study key ("mixed: A; B" when a study's instances disagree).
    let manufacturerByStudy: [String: String]

    init(resolved: ResolvedManifest, catalog: Catalog, splits: Set<String>) throws {
        pseudonymizer = catalog.pseudonymizer
        var images: [String: ResolvedImage] = [:], paths: [String: String] = [:]
        var manufacturers: [String: Set<String>] = [:]
        for image in resolved.images {
            images[image.instance.sopInstanceUID] = images[image.instance.sopInstanceUID] ?? image
            paths[image.instance.path] = image.instance.sopInstanceUID
            guard let split = image.split, splits.contains(split) else { continue }
            if let m = try catalog.instance(sopUID: image.instance.sopInstanceUID)?.manufacturer, !m.isEmpty {
                manufacturers[pseudonymizer.studyKey(image.studyID), default: []].insert(m)
            }
        }
        imageBySOP = images
        sopByPath = paths
        manufacturerByStudy = manufacturers.mapValues { $0.count == 1 ? $0.first! : "mixed: " + $0.sorted().joined(separator: "; ") }
    }

    func studyKey(of image: ResolvedImage) -> String { pseudonymizer.studyKey(image.studyID) }
    func patientKey(of image: ResolvedImage) -> String { pseudonymizer.patientKey(image.patientID) }
    func instanceKey(sopInstanceUID: String) -> String { Pseudonym.unkeyed(sopInstanceUID) }
    func instanceKey(path: String) -> String { sopByPath[path].map(instanceKey(sopInstanceUID:)) ?? Pseudonym.unkeyed(path) }

    func input(for image: ResolvedImage) -> InferenceInput {
        InferenceInput(path: image.instance.path, sopInstanceUID: image.instance.sopInstanceUID, studyKey: studyKey(of: image),
                       patientKey: patientKey(of: image))
    }

    func attributes(of image: ResolvedImage) -> [String: String] {
        var a: [String: String] = [:]
        if let site = image.site, !site.isEmpty { a["site"] = site }
        if let m = manufacturerByStudy[studyKey(of: image)] { a["manufacturer"] = m }
        return a
    }

    struct Row {
        var split: String?
        var row: EvaluationFrameRow
        var prediction: FramePrediction {
            FramePrediction(studyKey: row.studyKey, patientKey: row.patientKey, frameIndex: row.frameIndex, isPositive: row.isPositive,
                            probability: row.probability, attributes: row.attributes)
        }
    }

    func row(for frame: FrameResult) throws -> Row {
        guard let image = imageBySOP[frame.sopInstanceUID] else {
            throw CommandFailure("\(frame.path): a predicted instance that the manifest does not name (SOP Instance UID changed since ingest?)")
        }
        return Row(split: image.split, row: EvaluationFrameRow(studyKey: studyKey(of: image), patientKey: patientKey(of: image),
                                                               instanceKey: instanceKey(sopInstanceUID: frame.sopInstanceUID),
                                                               frameIndex: frame.frameIndex, isPositive: image.isPositive,
                                                               probability: frame.probability, attributes: attributes(of: image)))
    }

    /// Patients, studies and frames (as selected by the frame policy) of every split, per class.
    func dataCounts(_ resolved: ResolvedManifest, classes: ClassNames, policy: FramePolicy) -> [SplitCounts] {
        resolved.splitNames.map { name in
            let frames = resolved.images(inSplit: name).flatMap { image in
                policy.select(frameCount: max(1, image.instance.numberOfFrames)).indices.map { index in
                    // Counting only: the probability is not used.
                    FramePrediction(studyKey: studyKey(of: image), patientKey: patientKey(of: image), frameIndex: index,
                                    isPositive: image.isPositive, probability: 0)
                }
            }
            return SplitCounts(split: name, frames: frames, classes: classes)
        }
    }
}
