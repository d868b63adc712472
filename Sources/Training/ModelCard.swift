import CNN
import Evaluation
import Foundation
import SonoKitCore
import Preprocess

/// What a trained run is, written to `RUN_DIR/model-card.json` at the end of training and read by
/// `evaluate` and `predict`: the network, where its weights came from, the exact preprocessing,
/// the classes, the data it was trained on (by hash) and the decision threshold fitted on the
/// validation split (study level), with its provenance.
public struct ModelCard: Codable, Sendable, Equatable {
    /// "sonokit-<architecture>-<first 8 hex of weightsSHA256>".
    public var modelID: String
    /// "vgg16" | "small".
    public var architecture: String
    /// SHA-256 of `checkpoints/best.safetensors`.
    public var weightsSHA256: String
    /// The ImageNet file with its licence and credit, or "trained from scratch".
    public var weightsOrigin: String?
    /// Layers that were not trained.
    public var frozenLayers: [String]
    public var preprocess: PreprocessConfig
    public var preprocessHash: String
    /// Binary or multi-class (cards written before the task was recorded are binary).
    public var task: ClassificationTask
    /// The classes in declared order; multi-class: output k of the network is `classes[k]`.
    public var classes: [String]
    /// The positive class of a binary run; empty for a multi-class run.
    public var positiveClass: String
    /// Multi-class: whether the declared class order is an order (nil for binary runs).
    public var ordinal: Bool?
    public var manifestHash: String
    public var seed: UInt64
    /// Fitted on the validation split at the end of training (study level, `aggregation`); nil
    /// when the run had no validation split with both classes, and for a multi-class run (argmax).
    public var threshold: ThresholdChoice?
    public var aggregation: StudyAggregation
    /// "sonokit", "dcmtk", "onednn", "swift".
    public var softwareVersions: [String: String]
    /// ISO 8601.
    public var createdAt: String
    /// How to rebuild the network before loading the weights (head width, dropout, input side).
    /// Added to the contract so that a run can be loaded without its config.json.
    public var network: NetworkSpec
    /// Crop fallbacks of training and validation instances that the preprocessing options alone
    /// do not explain, as "inst-<unkeyed pseudonym of the SOP Instance UID>: <warning>": today the
    /// instances whose ultrasound regions (0018,6011) do not fit inside the image, cropped by
    /// `auto` instead of `regions`. Absent (nil) when there were none, and in cards written
    /// before it was recorded.
    public var cropWarnings: [String]?

    public init(modelID: String, architecture: String, weightsSHA256: String, weightsOrigin: String?, frozenLayers: [String],
                preprocess: PreprocessConfig, preprocessHash: String, classes: [String], positiveClass: String,
                manifestHash: String, seed: UInt64, threshold: ThresholdChoice?, aggregation: StudyAggregation = .mean,
                softwareVersions: [String: String], createdAt: String, network: NetworkSpec, cropWarnings: [String]? = nil,
                task: ClassificationTask = .binary, ordinal: Bool? = nil) {
        self.task = task
        self.ordinal = ordinal
        self.modelID = modelID
        self.architecture = architecture
        self.weightsSHA256 = weightsSHA256
        self.weightsOrigin = weightsOrigin
        self.frozenLayers = frozenLayers
        self.preprocess = preprocess
        self.preprocessHash = preprocessHash
        self.classes = classes
        self.positiveClass = positiveClass
        self.manifestHash = manifestHash
        self.seed = seed
        self.threshold = threshold
        self.aggregation = aggregation
        self.softwareVersions = softwareVersions
        self.createdAt = createdAt
        self.network = network
        self.cropWarnings = cropWarnings
    }

    /// Keys as `RunJSON` writes them (snake_case: model_id, weights_sha256, ...); the raw values
    /// are what the snake_case conversion maps back to, so that acronyms survive the round trip.
    enum CodingKeys: String, CodingKey {
        case modelID = "modelId", architecture, weightsSHA256 = "weightsSha256", weightsOrigin, frozenLayers, preprocess,
             preprocessHash, classes, positiveClass, manifestHash, seed, threshold, aggregation, softwareVersions, createdAt, network, cropWarnings,
             task, ordinal
    }

    /// Decodes every card; one written before the task was recorded is binary.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelID = try c.decode(String.self, forKey: .modelID)
        architecture = try c.decode(String.self, forKey: .architecture)
        weightsSHA256 = try c.decode(String.self, forKey: .weightsSHA256)
        weightsOrigin = try c.decodeIfPresent(String.self, forKey: .weightsOrigin)
        frozenLayers = try c.decode([String].self, forKey: .frozenLayers)
        preprocess = try c.decode(PreprocessConfig.self, forKey: .preprocess)
        preprocessHash = try c.decode(String.self, forKey: .preprocessHash)
        task = try ClassificationTask.decodeRecorded(c, forKey: .task)
        classes = try c.decode([String].self, forKey: .classes)
        positiveClass = try c.decodeIfPresent(String.self, forKey: .positiveClass) ?? ""
        ordinal = try c.decodeIfPresent(Bool.self, forKey: .ordinal)
        manifestHash = try c.decode(String.self, forKey: .manifestHash)
        seed = try c.decode(UInt64.self, forKey: .seed)
        threshold = try c.decodeIfPresent(ThresholdChoice.self, forKey: .threshold)
        aggregation = try c.decode(StudyAggregation.self, forKey: .aggregation)
        softwareVersions = try c.decode([String: String].self, forKey: .softwareVersions)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        network = try c.decode(NetworkSpec.self, forKey: .network)
        cropWarnings = try c.decodeIfPresent([String].self, forKey: .cropWarnings)
    }

    /// "sonokit-small-1a2b3c4d".
    public static func modelID(architecture: String, weightsSHA256: String) -> String {
        "sonokit-\(architecture)-\(weightsSHA256.prefix(8))"
    }

    /// The credit line for the ImageNet VGG16 weights.
    public static let vgg16ImageNetCredit =
        "VGG16 ImageNet weights (Simonyan & Zisserman 2014, arXiv:1409.1556; Keras Applications release, CC BY 4.0)"
}

/// The shape of a network: enough to rebuild it with `Architecture.make` before loading weights.
public struct NetworkSpec: Codable, Sendable, Equatable {
    public var architecture: Architecture
    /// Units of the hidden Dense layer of the head.
    public var headUnits: Int
    /// Dropout rate between the head's Dense layers (0: none).
    public var headDropout: Float
    /// Per-block filter counts when not the architecture's default (tests use narrow models).
    public var widths: [Int]?
    /// Side of the square input (the preprocessing `size`).
    public var inputSize: Int
    /// Units of the last Dense layer for a multi-class run (the number of classes); nil for a
    /// binary run (one logit), so binary files are written exactly as before multi-class existed.
    public var outputs: Int?

    public init(architecture: Architecture, headUnits: Int = 256, headDropout: Float = 0, widths: [Int]? = nil, inputSize: Int = 224,
                outputs: Int? = nil) {
        self.architecture = architecture
        self.headUnits = headUnits
        self.headDropout = headDropout
        self.widths = widths
        self.inputSize = inputSize
        self.outputs = outputs
    }

    /// Units of the network's last layer: `outputs`, or 1 (binary).
    public var outputCount: Int { outputs ?? 1 }

    /// A fresh network of this shape, weights drawn from `rng`.
    public func make(rng: inout SplitMix64) throws -> Model {
        try architecture.make(rng: &rng, widths: widths, headUnits: headUnits, headDropout: headDropout,
                              outputs: outputCount, inputShape: [inputSize, inputSize, 3])
    }
}
