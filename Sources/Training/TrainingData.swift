import Foundation
import Manifest
import Preprocess
import SonoKitCore

/// One training or validation sample: a frame of a DICOM instance with its label and weight.
public struct TrainingSample: Codable, Sendable, Hashable {
    public var path: String
    public var sopInstanceUID: String
    public var frameIndex: Int
    /// Binary: the label is the positive class (false for every multi-class sample).
    public var isPositive: Bool
    /// Position of the label in the declared classes: the target of a multi-class run.
    public var classIndex: Int
    /// The manifest's row weight (1 when not given); class weights multiply it.
    public var weight: Double
    /// The manifest's study_id (or Study Instance UID) and patient_id: the study groups frames for
    /// study-level validation metrics.
    public var studyID: String
    public var patientID: String

    /// `classIndex` nil: 1 for a positive sample, 0 otherwise (a binary sample made by hand).
    public init(path: String, sopInstanceUID: String, frameIndex: Int, isPositive: Bool, classIndex: Int? = nil, weight: Double,
                studyID: String, patientID: String) {
        self.path = path
        self.sopInstanceUID = sopInstanceUID
        self.frameIndex = frameIndex
        self.isPositive = isPositive
        self.classIndex = classIndex ?? (isPositive ? 1 : 0)
        self.weight = weight
        self.studyID = studyID
        self.patientID = patientID
    }
}

/// The samples of a run: frames of the training splits and of the validation split, selected by
/// the run's frame policy from each instance's frame count (known from the catalog, no decoding).
public struct TrainingData: Sendable {
    public var train: [TrainingSample]
    public var validation: [TrainingSample]
    /// The task and the declared classes (a sample's `classIndex` indexes `classes`).
    public var task: ClassificationTask
    public var classes: [String]

    public init(train: [TrainingSample], validation: [TrainingSample], task: ClassificationTask = .binary, classes: [String] = []) {
        self.train = train
        self.validation = validation
        self.task = task
        self.classes = classes
    }

    /// The samples of `trainSplits` and `validationSplit` of a validated manifest. A training split
    /// without both classes (binary) or without every declared class (multi-class: the error names
    /// the missing classes), or an empty validation split, is an error naming the split.
    public static func make(_ manifest: ResolvedManifest, trainSplits: [String], validationSplit: String,
                            frames policy: FramePolicy) throws -> TrainingData {
        func samples(_ images: [ResolvedImage]) -> [TrainingSample] {
            images.flatMap { image in
                policy.select(frameCount: max(1, image.instance.numberOfFrames)).indices.map { frame in
                    TrainingSample(path: image.instance.path, sopInstanceUID: image.instance.sopInstanceUID, frameIndex: frame,
                                   isPositive: image.isPositive, classIndex: image.classIndex, weight: image.weight, studyID: image.studyID, patientID: image.patientID)
                }
            }
        }
        let train = samples(manifest.images.filter { $0.split.map(trainSplits.contains) ?? false })
        let validation = samples(manifest.images(inSplit: validationSplit))
        let known = manifest.splitNames.joined(separator: ", ")
        guard !train.isEmpty else {
            throw TrainingError.emptySplit(name: trainSplits.joined(separator: "+"), reason: "no image of the manifest is in it (splits present: \(known))")
        }
        let classes = manifest.classes
        switch classes.task {
        case .binary:
            guard train.contains(where: \.isPositive), train.contains(where: { !$0.isPositive }) else {
                throw TrainingError.emptySplit(name: trainSplits.joined(separator: "+"), reason: "it needs frames of both classes to train a classifier")
            }
        case .multiclass:
            let present = Set(train.map(\.classIndex))
            let missing = classes.classes.indices.filter { !present.contains($0) }.map { "'\(classes.classes[$0])'" }
            guard missing.isEmpty else {
                throw TrainingError.emptySplit(name: trainSplits.joined(separator: "+"),
                                               reason: "it has no frame of class \(missing.joined(separator: ", ")); a multi-class network cannot learn a class it never sees (make the splits again, stratified by label, or label more patients of that class)")
            }
        }
        guard !validation.isEmpty else {
            throw TrainingError.emptySplit(name: validationSplit, reason: "no image of the manifest is in it (splits present: \(known)); the best checkpoint and the threshold are chosen on it")
        }
        return TrainingData(train: train, validation: validation, task: classes.task, classes: classes.classes)
    }

    /// Inverse class frequency over the training frames (scikit-learn's "balanced"):
    /// w_c = N / (2 · N_c), so both classes carry the same total weight and a balanced set gets 1.
    public func classWeights() -> (positive: Double, negative: Double) {
        let n = Double(train.count)
        let p = Double(train.filter(\.isPositive).count)
        return (n / (2 * p), n / (2 * (n - p)))
    }

    /// Multi-class inverse class frequency over the training frames (scikit-learn's "balanced",
    /// `compute_class_weight("balanced")`): w_c = N / (K · N_c) for K classes, so every class
    /// carries the same total weight N / K and a balanced set gets 1 for every class. Every class
    /// is present in a training split (`make` checks it).
    public func multiclassWeights() -> [Double] {
        let k = classes.count
        var counts = [Int](repeating: 0, count: k)
        for s in train { counts[s.classIndex] += 1 }
        let n = Double(train.count)
        return counts.map { n / (Double(k) * Double($0)) }
    }
}
