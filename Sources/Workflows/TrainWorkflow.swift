import CNN
import Catalog
import DICOM
import Foundation
import Manifest
import Preprocess
import SonoKitCore
import Training

/// `train`: a classifier trained on a validated manifest's train split, validated every epoch,
/// leaving a run folder (config, history, checkpoints, pseudonymised input copies, model card).
/// The manifest's class declaration decides the task: binary (Dense(1), sigmoid cross-entropy,
/// Youden threshold) or multi-class (Dense(N), softmax cross-entropy, argmax; `val_auc` is the
/// macro one-vs-rest AUC and history.csv gains `val_acc`).
///
/// Two steps, so that a caller can say what is about to happen: `init` validates the manifest
/// and prepares the data and caches (nothing is written); `run()` trains.
public final class TrainWorkflow {
    public struct Options: Sendable {
        public var manifest: ManifestInput
        /// The splits file from `manifest split` (patient_id,split).
        public var splits: String
        /// With a k-fold splits file: validate on foldK, train on the other folds.
        public var fold: Int?
        /// Every training option (network, optimiser, epochs, seed, preprocessing, ...); the
        /// workflow fills in what comes from the inputs (hashes, classes, splits, catalog).
        public var config: TrainingConfig
        /// Folder of cached base features (nil: feature-cache/ next to the catalog).
        public var featureCache: String?
        public var noFeatureCache = false
        /// Folder of cached preprocessed frames (nil: frame-cache/ next to the catalog) and its bound.
        public var frameCache: String?
        public var frameCacheLimitMiB = 2048
        /// The run folder to create, or to continue when `resume`.
        public var runDirectory: String
        public var resume = false

        public init(manifest: ManifestInput, splits: String, config: TrainingConfig, runDirectory: String) {
            self.manifest = manifest
            self.splits = splits
            self.config = config
            self.runDirectory = runDirectory
        }
    }

    public struct Result {
        public var run: TrainedRun
        /// Epochs in the run's history.
        public var epochs: Int
        public var seconds: Double
        public var usedFeatureCache: Bool
        public var featuresComputed: Int
        public var featuresFromCache: Int
    }

    public let options: Options
    /// The config as trained (with the inputs' hashes, classes, splits and catalog).
    public let config: TrainingConfig
    /// The frames trained and validated on.
    public let data: TrainingData
    private let trainer: Trainer
    private let events: WorkflowEvents

    /// Validates the manifest with the splits (a manifest with errors is refused, each error
    /// reported as a warning), completes the config and prepares the data and caches.
    public init(_ options: Options, events: WorkflowEvents = .silent) throws {
        self.options = options
        self.events = events
        let input = options.manifest
        let assignment = try SplitsFile.read(path: options.splits)
        let checked = try ManifestWorkflow.validate(input, splits: assignment, events: events)
        guard checked.report.isValid else {
            for issue in checked.report.errors { events.warning(issue.formatted(file: input.manifest)) }
            throw WorkflowError.failed("\(input.manifest): \(checked.report.errors.count) validation error(s); nothing is trained on bad labels. Fix them (sonokit manifest validate lists warnings too) and run again.")
        }
        var config = options.config
        if let fold = options.fold {
            let name = "fold\(fold)"
            guard assignment.splitNames.contains(name) else {
                throw WorkflowError.failed("\(options.splits): --fold \(fold): no split '\(name)' (splits: \(assignment.splitNames.joined(separator: ", "))).")
            }
            config.validationSplit = name
            config.trainSplits = assignment.splitNames.filter { $0 != name && $0.hasPrefix("fold") }
        }
        config.manifestHash = try RunDirectory.sha256(file: URL(fileURLWithPath: input.manifest))
        config.splitsHash = try RunDirectory.sha256(file: URL(fileURLWithPath: options.splits))
        let declaration = checked.resolved.classes
        config.classes = declaration.classes
        switch declaration.task {
        case .binary:
            config.positiveClass = declaration.positive ?? ""
            config.task = nil
            config.ordinal = nil
            config.network.outputs = nil
        case .multiclass:
            // Dense(N) + softmax: one output per declared class, in declared order.
            config.positiveClass = ""
            config.task = .multiclass
            config.ordinal = declaration.ordinal
            config.network.outputs = declaration.classes.count
        }
        config.catalog = URL(fileURLWithPath: input.catalog).standardizedFileURL.path
        do { try config.validate() } catch { throw WorkflowError.failed("\(error)") }
        self.config = config

        let pre = config.preprocess
        data = try TrainingData.make(checked.resolved, trainSplits: config.trainSplits, validationSplit: config.validationSplit,
                                     frames: pre.frames)
        let cropWarnings = pre.crop == .regions ? Self.untrustedRegions(inFiles: (data.train + data.validation).map(\.path), events: events) : []
        let catalogFolder = URL(fileURLWithPath: input.catalog).deletingLastPathComponent()
        let frameCacheURL = options.frameCache.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? catalogFolder.appendingPathComponent("frame-cache")
        let store = FrameStore(preprocessor: FramePreprocessor(config: pre, cache: FrameCache(directory: frameCacheURL,
                                                                                              maxBytes: Int64(options.frameCacheLimitMiB) << 20)))
        let features = options.noFeatureCache ? nil
            : FeatureCache(directory: options.featureCache.map { URL(fileURLWithPath: $0) } ?? catalogFolder.appendingPathComponent("feature-cache"))
        trainer = Trainer(config: config, data: data, store: store, featureCache: features, run: RunDirectory(options.runDirectory))
        // The run keeps copies of its inputs with patient ids replaced by the catalog's keys
        // (no patient identifier in any output), from which evaluate re-resolves the splits.
        let patientKey = try openExistingCatalog(input.catalog).pseudonymizer.patientKey
        let parsed = try Manifest.load(path: input.manifest, delimiter: input.delimiter, classes: checked.resolved.classes)
        trainer.inputCopies = (try parsed.pseudonymizedCSV(patientKey: patientKey),
                               try SplitsFile.data(assignment.pseudonymized(patientKey: patientKey),
                                                   comments: ["copy of \(URL(fileURLWithPath: options.splits).lastPathComponent) with patient_id as pseudonymous patient keys"]))
        trainer.cropWarnings = cropWarnings
        trainer.log = events.log
        trainer.logIsTerminal = events.logIsTerminal
    }

    /// The files among `paths` whose ultrasound regions (0018,6011) do not fit inside the
    /// image, so that `regions` crops them by `auto` (`CropPlanner.decide`): each is printed with
    /// its path, and returned as "inst-<unkeyed pseudonym of the SOP Instance UID>: <warning>" for
    /// the model card. Reads headers only; a file that cannot be opened is left to training,
    /// which stops on it with its own error.
    public static func untrustedRegions(inFiles paths: [String], events: WorkflowEvents) -> [String] {
        var seen = Set<String>(), recorded: [String] = []
        for path in paths where seen.insert(path).inserted {
            guard let file = try? DicomFile(path: path) else { continue }
            let m = file.metadata
            for warning in CropPlanner.untrustedRegionWarnings(m.regions, width: m.columns, height: m.rows) {
                events.warning("\(path): \(warning)")
                recorded.append("inst-\(Pseudonym.unkeyed(m.sopInstanceUID)): \(warning)")
            }
        }
        return recorded
    }

    /// Fills the feature cache with the base features of the frames of `shard` (the frames of the
    /// instances whose SOP Instance UID the shard owns), with the same model and keys as `run()`;
    /// writes no run folder. See `FeaturesWorkflow`.
    func precomputeFeatures(shard: Shard) throws -> (frames: Int, computed: Int, cached: Int) {
        let mine = (data.train + data.validation).filter { shard.owns(key: $0.sopInstanceUID) }
        removeCachesStaleTemporaries()
        do {
            let counts = try trainer.precomputeFeatures(of: mine)
            return (mine.count, counts.computed, counts.cached)
        } catch let error as TrainingError { throw WorkflowError.failed("\(error)") }
    }

    /// Removes the temporaries killed writers left in the frame and feature caches this run reads
    /// and fills (a shared cache's live writers on this or another node keep theirs).
    private func removeCachesStaleTemporaries() {
        if let frames = trainer.store.preprocessor.cache { events.removeStaleTemporaries(of: frames) }
        if let features = trainer.featureCache { events.removeStaleTemporaries(of: features) }
    }

    /// Instances decoded by this workflow so far (0 for a `run()` whose features were all cached).
    public var instancesDecoded: Int { trainer.store.decodedInstances }

    /// Trains (or continues a resumed run) and returns the finished run.
    public func run() throws -> Result {
        let start = Date()
        events.removeStaleTemporaries(in: options.runDirectory)
        removeCachesStaleTemporaries()
        let finished: TrainedRun
        do { finished = try trainer.fit(resume: options.resume) } catch let error as TrainingError { throw WorkflowError.failed("\(error)") }
        let epochs = try String(contentsOf: finished.files.history, encoding: .utf8).split(separator: "\n").count - 1
        return Result(run: finished, epochs: epochs, seconds: Date().timeIntervalSince(start), usedFeatureCache: trainer.usedFeatureCache,
                      featuresComputed: trainer.featuresComputed,
                      featuresFromCache: data.train.count + data.validation.count - trainer.featuresComputed)
    }
}
