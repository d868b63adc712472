import ArgumentParser
import CNN
import Foundation
import Manifest
import Preprocess
import Training

extension Architecture: ExpressibleByArgument {}
extension TrainingConfig.OptimizerKind: ExpressibleByArgument {}
extension TrainingConfig.ClassWeighting: ExpressibleByArgument {}
extension TrainingConfig.Monitor: ExpressibleByArgument {}

/// `sonokit train`: trains a classifier on the manifest's train split, validates every epoch on
/// the validation split, and leaves a run directory (../shared/RUN-CONTRACT.md).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on a validated manifest's train split; checkpoints, history, model card.",
        discussion: """
        The manifest is validated first, exactly as `sonokit manifest validate` does with the same options; a manifest \
        with errors is refused. Frames of the split "train" are trained on (with --fold K: every fold but foldK), the \
        split "validation" (with --fold K: foldK) is evaluated after every epoch (val_loss over frames, val_auc over \
        studies, frame probabilities averaged per study). Every random stream comes from --seed: the same seed and \
        thread count give bit-identical weights.

        With a frozen base and no augmentation (vgg16 without --fine-tune), the base's pooled features are computed \
        once per frame and cached (--feature-cache, default: feature-cache/ next to the catalog): later epochs and \
        later runs cost only the head. Preprocessed frames are cached too (--frame-cache, default: frame-cache/ next \
        to the catalog), so no epoch after the first decodes a DICOM file.

        RUN_DIR gets config.json, history.csv, checkpoints/best and last, inputs/ (copies of the manifest and splits) \
        and model-card.json (threshold fitted on the validation studies by Youden's J). A killed run continues with \
        --resume RUN_DIR and the same options; changed inputs or options are refused, naming the difference.

        Examples:
          sonokit train labels.csv --catalog work/catalog.sqlite --classes benign,malignant --positive malignant \\
              --splits splits.csv --model vgg16 -o runs/exp1
          sonokit train labels.csv --catalog work/catalog.sqlite --splits splits.csv --model small --epochs 30 \\
              --augment flip,zoom,rotate,gain,speckle --patience 5 --seed 7 -o runs/small
          sonokit train labels.csv --catalog work/catalog.sqlite --splits splits.csv --model small --resume runs/small
        """
    )

    @OptionGroup var manifest: ManifestOptions
    @Option(help: "The splits file from `sonokit manifest split` (patient_id,split).") var splits: String
    @Option(help: "With a k-fold splits file: validate on foldK, train on the other folds.") var fold: Int?
    @Option(help: "The network: vgg16 (ImageNet base, frozen) or small (trained from scratch).") var model: Architecture
    @Option(help: ArgumentHelp("Weights to start from (.safetensors with Keras or torchvision names, or Keras .h5); vgg16 defaults to the installed ImageNet weights.", valueName: "file"))
    var weights: String?
    @Option(help: "Epochs.") var epochs: Int = 10
    @Option(help: "Frames per batch.") var batch: Int = 32
    @Option(help: "Learning rate.") var lr: Float = 1e-3
    @Option(help: "Optimizer: adam or sgd (momentum 0.9).") var optimizer: TrainingConfig.OptimizerKind = .adam
    @Option(help: "Class weights: auto (inverse class frequency in the train split) or none.") var classWeight: TrainingConfig.ClassWeighting = .auto
    @Option(help: ArgumentHelp("Augmentations of training frames: any of flip,zoom,rotate,gain,speckle (never a vertical flip).", valueName: "list"))
    var augment: String = ""
    @Option(help: ArgumentHelp("Layers or blocks to train on top of the head, e.g. block5 (vgg16).", valueName: "block"))
    var fineTune: [String] = []
    @Option(help: "Seed of every random stream (initialisation, shuffling, augmentation, dropout).") var seed: UInt64 = 0
    @Option(help: "Metric that picks the best checkpoint: val_auc (maximised) or val_loss (minimised).") var monitor: TrainingConfig.Monitor = .valAUC
    @Option(help: "Early stopping: stop after this many epochs without improvement of the monitored metric.") var patience: Int?
    @Option(help: "Reduce the learning rate after this many epochs without improvement.") var lrPatience: Int?
    @Option(help: "Factor of --lr-patience reductions.") var lrFactor: Float = 0.5
    @Option(help: "Also write the last checkpoint every N batches inside an epoch (default: at epoch ends).") var checkpointEvery: Int?
    @Option(help: "Units of the head's hidden Dense layer.") var headUnits: Int = 256
    @Option(help: "Dropout rate before the output layer (0: none).") var dropout: Float = 0
    @Option(help: ArgumentHelp("Folder of cached base features (default: feature-cache/ next to the catalog).", valueName: "dir"))
    var featureCache: String?
    @Flag(help: "Do not use or write cached base features.") var noFeatureCache = false
    @OptionGroup var preprocess: PreprocessOptions
    @Option(name: .shortAndLong, help: "The run directory to create.") var output: String?
    @Option(help: ArgumentHelp("Continue the run in this directory (same inputs and options).", valueName: "run_dir")) var resume: String?

    func validate() throws {
        guard (output == nil) != (resume == nil) else { throw ValidationError("Give exactly one of -o RUN_DIR (a new run) and --resume RUN_DIR.") }
        do { _ = try AugmentationSet(parsing: augment) } catch { throw ValidationError("\(error)") }
        let normalize = try preprocess.config().normalize
        if model == .vgg16, weights == nil, normalize != .caffe {
            throw ValidationError("--model vgg16 with the ImageNet weights needs --normalize caffe (BGR, ImageNet means subtracted), the input those weights were trained on; got \(normalize.rawValue).")
        }
    }

    func run() throws {
        let runPath = output ?? resume!
        let assignment = try SplitsFile.read(path: splits)
        let checked = try manifest.validate(splits: assignment)
        guard checked.report.isValid else {
            for issue in checked.report.errors { warn(issue.formatted(file: manifest.manifest)) }
            throw CommandFailure("\(manifest.manifest): \(checked.report.errors.count) validation error(s); nothing is trained on bad labels. Fix them (sonokit manifest validate lists warnings too) and run again.")
        }
        let pre = try preprocess.config()
        var config = TrainingConfig(network: NetworkSpec(architecture: model, headUnits: headUnits, headDropout: dropout, inputSize: pre.size),
                                    preprocess: pre)
        config.weightsFile = weights.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = lr
        config.optimizer = optimizer
        config.classWeighting = classWeight
        config.augmentation = try AugmentationSet(parsing: augment)
        config.fineTune = fineTune
        config.seed = seed
        config.monitor = monitor
        config.earlyStoppingPatience = patience
        config.plateauPatience = lrPatience
        config.plateauFactor = lrFactor
        config.checkpointEveryBatches = checkpointEvery
        if let fold {
            let name = "fold\(fold)"
            guard assignment.splitNames.contains(name) else {
                throw CommandFailure("\(splits): --fold \(fold): no split '\(name)' (splits: \(assignment.splitNames.joined(separator: ", "))).")
            }
            config.validationSplit = name
            config.trainSplits = assignment.splitNames.filter { $0 != name && $0.hasPrefix("fold") }
        }
        config.manifestHash = try RunDirectory.sha256(file: URL(fileURLWithPath: manifest.manifest))
        config.splitsHash = try RunDirectory.sha256(file: URL(fileURLWithPath: splits))
        config.classes = checked.resolved.classes.classes
        config.positiveClass = checked.resolved.classes.positive
        config.catalog = URL(fileURLWithPath: manifest.catalog).standardizedFileURL.path
        do { try config.validate() } catch { throw CommandFailure("\(error)") }

        let data = try TrainingData.make(checked.resolved, trainSplits: config.trainSplits, validationSplit: config.validationSplit,
                                         frames: pre.frames)
        let catalogFolder = URL(fileURLWithPath: manifest.catalog).deletingLastPathComponent()
        let frameCacheURL = preprocess.frameCache.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? catalogFolder.appendingPathComponent("frame-cache")
        let store = FrameStore(preprocessor: FramePreprocessor(config: pre, cache: FrameCache(directory: frameCacheURL,
                                                                                              maxBytes: Int64(preprocess.frameCacheLimitMb) << 20)))
        let features = noFeatureCache ? nil : FeatureCache(directory: featureCache.map { URL(fileURLWithPath: $0) } ?? catalogFolder.appendingPathComponent("feature-cache"))
        let trainer = Trainer(config: config, data: data, store: store, featureCache: features, run: RunDirectory(runPath))
        // The run keeps copies of its inputs with patient ids replaced by the catalog's keys
        // (no patient identifier in any output), from which evaluate re-resolves the splits.
        let patientKey = try openExisting(manifest.catalog).pseudonymizer.patientKey
        let parsed = try Manifest.load(path: manifest.manifest, delimiter: try manifest.delimiter.map(ManifestDelimiter.init(argument:)),
                                       classes: checked.resolved.classes)
        trainer.inputCopies = (try parsed.pseudonymizedCSV(patientKey: patientKey),
                               try SplitsFile.data(assignment.pseudonymized(patientKey: patientKey),
                                                   comments: ["copy of \(URL(fileURLWithPath: splits).lastPathComponent) with patient_id as pseudonymous patient keys"]))
        trainer.log = { FileHandle.standardError.write(Data($0.utf8)) }
        trainer.logIsTerminal = isatty(STDERR_FILENO) != 0
        let positives = data.train.filter(\.isPositive).count
        print("Training \(model.rawValue) on \(data.train.count) frames (\(positives) \(config.positiveClass)) of split(s) \(config.trainSplits.joined(separator: "+")), "
              + "validating on \(data.validation.count) frames of '\(config.validationSplit)'; \(epochs) epoch(s), batch \(batch), seed \(seed).")
        let start = Date()
        let finished: TrainedRun
        do { finished = try trainer.fit(resume: resume != nil) } catch let error as TrainingError { throw CommandFailure("\(error)") }
        if trainer.usedFeatureCache {
            print("Base features: \(trainer.featuresComputed) computed, \(data.train.count + data.validation.count - trainer.featuresComputed) read from the cache.")
        }
        let card = finished.card
        let history = try String(contentsOf: RunDirectory(runPath).history, encoding: .utf8).split(separator: "\n").count - 1
        print("Done in \(String(format: "%.1f", Date().timeIntervalSince(start))) s: \(history) epoch(s); model \(card.modelID).")
        if let t = card.threshold, let fit = t.fittedOn {
            print("Threshold \(String(format: "%.4f", t.value)) (Youden, \(fit.level.rawValue) level on '\(fit.split)', \(fit.samples) studies: "
                  + "sensitivity \(String(format: "%.3f", fit.sensitivity)), specificity \(String(format: "%.3f", fit.specificity))).")
        }
        print("Run directory: \(runPath). Next: sonokit evaluate \(runPath) --split test")
    }
}
