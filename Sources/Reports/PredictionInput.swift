import DICOM
import Evaluation
import Foundation
import SonoKitCore
import Preprocess

/// One source instance of a study as the predict command found it: what the report and the SR
/// need to reference it. Raw UIDs stay in memory; reports show pseudonymous keys unless
/// identifiers were asked for.
public struct PredictionInstance: Hashable, Sendable {
    public var path: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var studyInstanceUID: String
    public var modality: String?
    public var manufacturer: String?
    /// Number of Frames (1 for a single-frame image): the SR lists the frames it used only for a
    /// multi-frame instance (Referenced Frame Number shall not be present otherwise, PS3.3 10.3).
    public var numberOfFrames: Int

    public init(path: String, sopClassUID: String, sopInstanceUID: String, seriesInstanceUID: String,
                studyInstanceUID: String, modality: String? = nil, manufacturer: String? = nil, numberOfFrames: Int) {
        self.path = path
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.studyInstanceUID = studyInstanceUID
        self.modality = modality
        self.manufacturer = manufacturer
        self.numberOfFrames = numberOfFrames
    }
}

/// The network's probability for one frame with the decisions preprocessing took on the way
/// (the predict-side view of `Training.FrameResult`).
public struct PredictedFrame: Sendable {
    public var sopInstanceUID: String
    public var frameIndex: Int
    /// Binary: the probability of the positive class. Multi-class: the largest class probability
    /// (the builder uses `classProbabilities`).
    public var probability: Double
    /// Multi-class: the softmax output, one probability per class in the model's class order
    /// (nil for a binary model).
    public var classProbabilities: [Double]?
    public var crop: CropDecision
    public var decode: DecodeRecord?
    public var warnings: [String]

    public init(sopInstanceUID: String, frameIndex: Int, probability: Double, crop: CropDecision,
                decode: DecodeRecord?, warnings: [String]) {
        self.sopInstanceUID = sopInstanceUID
        self.frameIndex = frameIndex
        self.probability = probability
        self.crop = crop
        self.decode = decode
        self.warnings = warnings
    }

    /// A frame of a multi-class model: `classProbabilities` in the model's class order.
    public init(sopInstanceUID: String, frameIndex: Int, classProbabilities: [Double], crop: CropDecision,
                decode: DecodeRecord?, warnings: [String]) {
        self.init(sopInstanceUID: sopInstanceUID, frameIndex: frameIndex, probability: classProbabilities.max() ?? 0,
                  crop: crop, decode: decode, warnings: warnings)
        self.classProbabilities = classProbabilities
    }
}

/// A file or instance that could not be used, and why (in words a user can act on).
public struct PredictionFailure: Codable, Hashable, Sendable {
    /// Pseudonymous name of the file (its instance key, or a hash of its path).
    public var item: String
    public var reason: String

    public init(item: String, reason: String) {
        self.item = item
        self.reason = reason
    }
}

/// What the report says about the model that produced it (from the run's model card).
public struct PredictionModel: Codable, Hashable, Sendable {
    public var modelID: String
    public var architecture: String
    public var weightsSHA256: String
    public var weightsOrigin: String?
    /// The classes in the model's order (the order of its outputs for a multi-class model).
    public var classes: [String]
    /// The positive class of a binary model; nil for a multi-class model.
    public var positiveClass: String?
    /// A DICOM UID derived from the model id and weights hash (Device UID per IHE AIR: a new
    /// one for every retrained model).
    public var deviceUID: String
    public var preprocessingHash: String
    public var softwareVersions: [String: String]
    public var createdAt: String?

    public init(modelID: String, architecture: String, weightsSHA256: String, weightsOrigin: String?, classes: [String],
                positiveClass: String?, deviceUID: String, preprocessingHash: String, softwareVersions: [String: String],
                createdAt: String?) {
        self.modelID = modelID
        self.architecture = architecture
        self.weightsSHA256 = weightsSHA256
        self.weightsOrigin = weightsOrigin
        self.classes = classes
        self.positiveClass = positiveClass
        self.deviceUID = deviceUID
        self.preprocessingHash = preprocessingHash
        self.softwareVersions = softwareVersions
        self.createdAt = createdAt
    }

    /// The class that is not the positive one (binary models).
    public var negativeClass: String { classes.first { $0 != positiveClass } ?? "not \(positiveClass ?? "")" }

    /// A DICOM UID (2.25 form) that is a function of the model id and weights hash.
    public static func deviceUID(modelID: String, weightsSHA256: String) -> String {
        let digest = Array(SHA256Hex.bytes(Data("sonokit-device\u{0}\(modelID)\u{0}\(weightsSHA256)".utf8)).prefix(16))
        return StructuredReportWriter.uid(fromUUIDBytes: digest)
    }
}

/// The decision rule the model card prescribes: aggregation of frame probabilities and the
/// threshold (with where it came from).
public struct PredictionDecisionRule: Sendable {
    public var aggregation: StudyAggregation
    public var threshold: ThresholdChoice
    /// Where the threshold comes from, in words ("model card: youden fitted on validation ...").
    public var thresholdSource: String

    public init(aggregation: StudyAggregation, threshold: ThresholdChoice, thresholdSource: String) {
        self.aggregation = aggregation
        self.threshold = threshold
        self.thresholdSource = thresholdSource
    }
}
