import ArgumentParser
import SonoKitCLI
import CNN
import Foundation
import Manifest
import Preprocess
import Training
import Workflows

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
        studies, frame probabilities averaged per study).

        The class declaration decides the task. Binary (--positive): Dense(1) with a sigmoid, binary cross-entropy, \
        a threshold fitted on validation. Multi-class (more than two classes without --positive, or --task multiclass): \
        Dense(N) with a softmax, categorical cross-entropy from logits, argmax; --class-weight auto weights class c by \
        N / (K * N_c) over the training frames; val_auc is the macro one-vs-rest AUC over studies and history.csv gets \
        val_acc (study-level accuracy). Every random stream comes from --seed: the same seed and \
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
          sonokit train lesions.csv --catalog work/catalog.sqlite --classes normal,cyst,solid --splits splits.csv \\
              --model vgg16 -o runs/lesions
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
    @Option(help: "Class weights: auto (inverse class frequency of the training frames, N / (K * N_c) for K classes; binary: K = 2, positive against the rest) or none.") var classWeight: TrainingConfig.ClassWeighting = .auto
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
        var options = TrainWorkflow.Options(manifest: try manifest.input(), splits: splits, config: config, runDirectory: output ?? resume!)
        options.fold = fold
        options.featureCache = featureCache
        options.noFeatureCache = noFeatureCache
        options.frameCache = preprocess.frameCache
        options.frameCacheLimitMiB = preprocess.frameCacheLimitMb
        options.resume = resume != nil
        try Self.execute(options)
    }

    /// Trains, printing what is trained on before and the result after.
    static func execute(_ options: TrainWorkflow.Options) throws {
        let runPath = options.runDirectory
        let training = try workflow { try TrainWorkflow(options, events: .terminal()) }
        let config = training.config, data = training.data
        let composition: String
        switch config.classificationTask {
        case .binary:
            composition = "\(data.train.filter(\.isPositive).count) \(config.positiveClass)"
        case .multiclass:
            composition = "multi-class: " + config.classes.enumerated().map { k, name in
                "\(data.train.filter { $0.classIndex == k }.count) \(name)"
            }.joined(separator: ", ")
        }
        print("Training \(config.network.architecture.rawValue) on \(data.train.count) frames (\(composition)) of split(s) \(config.trainSplits.joined(separator: "+")), "
              + "validating on \(data.validation.count) frames of '\(config.validationSplit)'; \(config.epochs) epoch(s), batch \(config.batchSize), seed \(config.seed).")
        let result = try workflow { try training.run() }
        if result.usedFeatureCache {
            print("Base features: \(result.featuresComputed) computed, \(result.featuresFromCache) read from the cache.")
        }
        let card = result.run.card
        print("Done in \(String(format: "%.1f", result.seconds)) s: \(result.epochs) epoch(s); model \(card.modelID).")
        if let t = card.threshold, let fit = t.fittedOn {
            print("Threshold \(String(format: "%.4f", t.value)) (Youden, \(fit.level.rawValue) level on '\(fit.split)', \(fit.samples) studies: "
                  + "sensitivity \(String(format: "%.3f", fit.sensitivity)), specificity \(String(format: "%.3f", fit.specificity))).")
        }
        print("Run directory: \(runPath). Next: sonokit evaluate \(runPath) --split test")
    }
}
