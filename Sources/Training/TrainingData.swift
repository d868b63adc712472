import Foundation
import Manifest
import Preprocess

/// One training or validation sample: a frame of a DICOM instance with its label and weight.
public struct TrainingSample: Codable, Sendable, Hashable {
    public var path: String
    public var sopInstanceUID: String
    public var frameIndex: Int
    public var isPositive: Bool
    /// The manifest's row weight (1 when not given); class weights multiply it.
    public var weight: Double
    /// The manifest's study_id (or Study Instance UID) and patient_id: the study groups frames for
    /// study-level validation metrics.
    public var studyID: String
    public var patientID: String
}

/// The samples of a run: frames of the training splits and of the validation split, selected by
/// the run's frame policy from each instance's frame count (known from the catalog, no decoding).
public struct TrainingData: Sendable {
    public var train: [TrainingSample]
    public var validation: [TrainingSample]

    public init(train: [TrainingSample], validation: [TrainingSample]) {
        self.train = train
        self.validation = validation
    }

    /// The samples of `trainSplits` and `validationSplit` of a validated manifest. A training split
    /// without both classes, or an empty validation split, is an error naming the split.
    public static func make(_ manifest: ResolvedManifest, trainSplits: [String], validationSplit: String,
                            frames policy: FramePolicy) throws -> TrainingData {
        func samples(_ images: [ResolvedImage]) -> [TrainingSample] {
            images.flatMap { image in
                policy.select(frameCount: max(1, image.instance.numberOfFrames)).indices.map { frame in
                    TrainingSample(path: image.instance.path, sopInstanceUID: image.instance.sopInstanceUID, frameIndex: frame,
                                   isPositive: image.isPositive, weight: image.weight, studyID: image.studyID, patientID: image.patientID)
                }
            }
        }
        let train = samples(manifest.images.filter { $0.split.map(trainSplits.contains) ?? false })
        let validation = samples(manifest.images(inSplit: validationSplit))
        let known = manifest.splitNames.joined(separator: ", ")
        guard !train.isEmpty else {
            throw TrainingError.emptySplit(name: trainSplits.joined(separator: "+"), reason: "no image of the manifest is in it (splits present: \(known))")
        }
        guard train.contains(where: \.isPositive), train.contains(where: { !$0.isPositive }) else {
            throw TrainingError.emptySplit(name: trainSplits.joined(separator: "+"), reason: "it needs frames of both classes to train a classifier")
        }
        guard !validation.isEmpty else {
            throw TrainingError.emptySplit(name: validationSplit, reason: "no image of the manifest is in it (splits present: \(known)); the best checkpoint and the threshold are chosen on it")
        }
        return TrainingData(train: train, validation: validation)
    }

    /// Inverse class frequency over the training frames (scikit-learn's "balanced"):
    /// w_c = N / (2 · N_c), so both classes carry the same total weight and a balanced set gets 1.
    public func classWeights() -> (positive: Double, negative: Double) {
        let n = Double(train.count)
        let p = Double(train.filter(\.isPositive).count)
        return (n / (2 * p), n / (2 * (n - p)))
    }
}
