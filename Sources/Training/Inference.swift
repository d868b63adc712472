import DICOM
import Foundation
import Preprocess

/// One DICOM instance to run a trained model on.
public struct InferenceInput: Sendable, Equatable {
    public var path: String
    /// The SOP Instance UID when known (from the catalog); read from the file otherwise.
    public var sopInstanceUID: String?
    /// Pseudonymous keys (Catalog) that tie the frames to their study and patient.
    public var studyKey: String
    public var patientKey: String

    public init(path: String, sopInstanceUID: String? = nil, studyKey: String, patientKey: String) {
        self.path = path
        self.sopInstanceUID = sopInstanceUID
        self.studyKey = studyKey
        self.patientKey = patientKey
    }
}

/// The model's probability for one frame, with what was done to the frame on the way.
public struct FrameResult: Codable, Sendable, Equatable {
    public var path: String
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var studyInstanceUID: String
    public var studyKey: String
    public var patientKey: String
    public var frameIndex: Int
    /// Binary: σ(logit), the positive class's probability. Multi-class: the largest class
    /// probability (that of the predicted class); every class's is in `classProbabilities`.
    public var probability: Double
    public var crop: CropDecision
    /// The reader's colour/VOI decisions.
    public var decode: DecodeRecord
    /// Frame-policy clamping and crop fallbacks, e.g. "no ultrasound regions: automatic crop".
    public var warnings: [String]
    /// Multi-class: the softmax over the classes, in the model card's class order (nil for a
    /// binary run, and absent from its JSON).
    public var classProbabilities: [Double]?

    public init(path: String, sopInstanceUID: String, seriesInstanceUID: String, studyInstanceUID: String, studyKey: String,
                patientKey: String, frameIndex: Int, probability: Double, crop: CropDecision, decode: DecodeRecord, warnings: [String],
                classProbabilities: [Double]? = nil) {
        self.classProbabilities = classProbabilities
        self.path = path
        self.sopInstanceUID = sopInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.studyInstanceUID = studyInstanceUID
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.frameIndex = frameIndex
        self.probability = probability
        self.crop = crop
        self.decode = decode
        self.warnings = warnings
    }
}

/// An instance that could not be used (unreadable, undecodable, unsupported transfer syntax).
public struct FrameFailure: Codable, Sendable, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Everything `TrainedRun.predict` produced: frames in input order (then frame order), failures
/// in input order.
public struct InferenceOutput: Sendable {
    public var frames: [FrameResult]
    public var failures: [FrameFailure]

    public init(frames: [FrameResult], failures: [FrameFailure]) {
        self.frames = frames
        self.failures = failures
    }
}
