import ArgumentParser
import Catalog
import CNN
import Foundation
import SonoKitCore
import SonoKitCLI
import Training
import Workflows

/// `sonokit features`: the frozen-base features a `train` with the same options will read,
/// computed into its feature cache, optionally for one shard of the frames (a Slurm array task).
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Compute the frozen-base features of a run's frames into the feature cache train reads (optionally one shard).",
        discussion: """
        The manifest, splits, model, weights and preprocessing options must be those of the `sonokit train` that will \
        use the cache: the frames are the ones that train selects (train and validation splits, the frame policy), the \
        cache keys those it looks up. With --shard I/N only the frames of the instances whose SOP Instance UID hashes \
        to I (mod N) are computed, so N tasks split the work with each instance decoded once; they can write into one \
        shared --feature-cache folder (every entry is renamed into place), and a task that is killed and run again \
        computes only what it had not written. A train after all shards have finished decodes no frame and runs the \
        base on none.

        Examples:
          sonokit features labels.csv --catalog work/catalog.sqlite --splits splits.csv --model vgg16
          sonokit features labels.csv --catalog work/catalog.sqlite --splits splits.csv --model vgg16 \\
              --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
        """
    )

    @OptionGroup var manifest: ManifestOptions
    @Option(help: "The splits file from `sonokit manifest split` (patient_id,split).") var splits: String
    @Option(help: "With a k-fold splits file: the frames of a train with --fold K (validation foldK).") var fold: Int?
    @Option(help: "The network of the train: vgg16 (its base is frozen; the only one trained on cached features).") var model: Architecture
    @Option(help: ArgumentHelp("Weights of the train (as its --weights); vgg16 defaults to the installed ImageNet weights.", valueName: "file"))
    var weights: String?
    @Option(help: ArgumentHelp("Folder of cached base features (default: feature-cache/ next to the catalog, as train).", valueName: "dir"))
    var featureCache: String?
    @Option(help: "Compute only shard I of N (0 <= I < N): the frames of a deterministic share of the instances.")
    var shard: String?
    @OptionGroup var preprocess: PreprocessOptions

    func validate() throws {
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("--shard must be I/N with 0 <= I < N, e.g. 0/4; got '\(shard)'")
        }
        let normalize = try preprocess.config().normalize
        if model == .vgg16, weights == nil, normalize != .caffe {
            throw ValidationError("--model vgg16 with the ImageNet weights needs --normalize caffe (BGR, ImageNet means subtracted), the input those weights were trained on; got \(normalize.rawValue).")
        }
    }

    func run() throws {
        let pre = try preprocess.config()
        var config = TrainingConfig(network: NetworkSpec(architecture: model, inputSize: pre.size), preprocess: pre)
        config.weightsFile = weights.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var options = FeaturesWorkflow.Options(manifest: try manifest.input(), splits: splits, config: config)
        options.fold = fold
        options.featureCache = featureCache
        options.frameCache = preprocess.frameCache
        options.frameCacheLimitMiB = preprocess.frameCacheLimitMb
        options.shard = shard.flatMap(Shard.init(parsing:)) ?? .whole
        let features = try workflow { try FeaturesWorkflow(options, events: .terminal()) }
        print("Base features of \(config.network.architecture.rawValue), shard \(options.shard): \(features.allFrames) frames in the run's splits; \(ComputeThreads.current) network threads, budget \(CPUBudget.current).")
        let result = try workflow { try features.run() }
        print("Done in \(String(format: "%.1f", result.seconds)) s: \(result.frames) frames in this shard, \(result.computed) computed, \(result.cached) already cached.")
    }
}
