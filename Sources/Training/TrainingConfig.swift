import CNN
import Foundation
import SonoKitCore
import Preprocess

/// Every option of a training run, as one value written to `RUN_DIR/config.json`. Two runs with
/// equal configs (and the same thread count) produce bit-identical weights; `--resume` refuses a
/// config that differs and names the fields that do (`differences(from:)`).
public struct TrainingConfig: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, sgd }
    public enum ClassWeighting: String, Codable, Sendable, CaseIterable { case auto, none }
    /// The validation metric that decides the best checkpoint, early stopping and LR on plateau.
    public enum Monitor: String, Codable, Sendable, CaseIterable {
        case valAUC = "val_auc", valLoss = "val_loss"
        /// True when larger is better.
        public var maximize: Bool { self == .valAUC }
    }

    public var network: NetworkSpec
    /// `--weights FILE` (nil: ImageNet VGG16 for vgg16, trained from scratch for small).
    public var weightsFile: String?
    public var epochs: Int = 10
    public var batchSize: Int = 32
    public var learningRate: Float = 1e-3
    public var optimizer: OptimizerKind = .adam
    /// SGD momentum (ignored by Adam).
    public var momentum: Float = 0.9
    public var classWeighting: ClassWeighting = .auto
    public var augmentation: AugmentationSet = []
    /// Layers or blocks unfrozen on top of the architecture's default (vgg16: base frozen).
    public var fineTune: [String] = []
    public var seed: UInt64 = 0
    public var preprocess: PreprocessConfig
    public var monitor: Monitor = .valAUC
    /// Early stopping after this many epochs without improvement of `monitor` (nil: off).
    public var earlyStoppingPatience: Int?
    /// Multiply the learning rate by `plateauFactor` after this many epochs without improvement (nil: off).
    public var plateauPatience: Int?
    public var plateauFactor: Float = 0.5
    /// Also write the `last` checkpoint every this many batches inside an epoch (nil: at epoch ends only).
    public var checkpointEveryBatches: Int?
    /// Split names: trained on `trainSplits`, validated on `validationSplit`.
    public var trainSplits: [String] = ["train"]
    public var validationSplit: String = "validation"
    /// Hashes of the inputs: the manifest file's bytes, the splits file's bytes.
    public var manifestHash: String = ""
    public var splitsHash: String = ""
    public var classes: [String] = []
    /// The positive class of a binary run; empty for a multi-class run.
    public var positiveClass: String = ""
    /// `multiclass` for a multi-class run; nil for a binary run (absent from config.json, so a
    /// binary config and its checkpoint hash are what they were before multi-class existed).
    /// Read it through `classificationTask`.
    public var task: ClassificationTask?
    /// Multi-class: whether the declared class order is an order (nil for binary runs).
    public var ordinal: Bool?
    /// The catalog the manifest was resolved through (absolute path), so that `evaluate` and
    /// `predict` find it without `--catalog`. Nil in runs written before it was recorded.
    public var catalog: String?

    public init(network: NetworkSpec, preprocess: PreprocessConfig) {
        self.network = network
        self.preprocess = preprocess
    }

    /// The task of the run (absent `task` means binary).
    public var classificationTask: ClassificationTask { task ?? .binary }

    /// The preprocessing hash (recorded beside the config so a reader need not recompute it).
    public var preprocessHash: String { preprocess.hash }

    /// Throws when an option cannot work.
    public func validate() throws {
        func bad(_ name: String, _ reason: String) -> TrainingError { .invalidOption(name: name, reason: reason) }
        guard epochs >= 1 else { throw bad("--epochs", "must be at least 1") }
        guard batchSize >= 1 else { throw bad("--batch", "must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard network.inputSize == preprocess.size else {
            throw bad("--size", "the network input (\(network.inputSize)) and the preprocessing size (\(preprocess.size)) differ")
        }
        if let p = earlyStoppingPatience, p < 1 { throw bad("--patience", "must be at least 1") }
        if let p = plateauPatience, p < 1 { throw bad("--lr-patience", "must be at least 1") }
        guard plateauFactor > 0 && plateauFactor < 1 else { throw bad("--lr-factor", "must be in (0, 1)") }
        if let c = checkpointEveryBatches, c < 1 { throw bad("--checkpoint-every", "must be at least 1") }
        switch classificationTask {
        case .binary:
            guard network.outputCount == 1 else { throw bad("network", "a binary run has one output, the network has \(network.outputCount)") }
        case .multiclass:
            guard classes.isEmpty || network.outputCount == classes.count else {
                throw bad("network", "a multi-class run over \(classes.count) classes needs \(classes.count) outputs, the network has \(network.outputCount)")
            }
            guard network.outputCount >= 2 else { throw bad("network", "a multi-class run needs at least two outputs") }
        }
    }

    /// Field-by-field differences, as "name: old -> new" sentences (for `--resume`).
    public func differences(from other: TrainingConfig) -> [String] {
        let encoder = SonoKitJSON.encoder()
        func fields(_ c: TrainingConfig) -> [String: String] {
            guard let data = try? encoder.encode(c), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            var out: [String: String] = [:]
            for (k, v) in object {
                let text = (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
                out[k] = text
            }
            return out
        }
        let mine = fields(self), theirs = fields(other)
        var result: [String] = []
        for key in Set(mine.keys).union(theirs.keys).sorted() where mine[key] != theirs[key] {
            let name: String
            switch key {
            case "manifest_hash": name = "the manifest file's content (manifest_hash)"
            case "splits_hash": name = "the splits file's content (splits_hash)"
            default: name = key
            }
            result.append("\(name): run has \(theirs[key] ?? "nothing"), now \(mine[key] ?? "nothing")")
        }
        return result
    }
}
