import DICOM
import Evaluation
import Foundation
import SonoKitCore
import Preprocess

/// The per-study prediction report, written as `OUT_DIR/<study key>.json` and validated against
/// Schemas/prediction-report.schema.json. Keys are snake_case on disk.
///
/// Modelled on dcmqi's TID 1500 JSON (a coded finding, its evaluation, the algorithm, the
/// images) so that it maps onto the DICOM SR one to one; unlike MONAI Deploy's JSON it names
/// its schema version, the classes, the threshold and where it came from, and the model.
///
/// Both tasks share the document. A binary report is exactly schema 1.0.0 (no `task` key: absent
/// means binary). A multi-class report (schema 1.1.0) has `task: "multiclass"`,
/// `class_probabilities` (every class, in the model's order), `decision` (argmax or per-class
/// thresholds) and per-frame `class_probabilities`; `label` is the predicted class and
/// `probability` its study probability; it has no `threshold` and no `label_is_positive`.
public struct PredictionReport: Codable, Equatable, Sendable {
    public static let schemaVersion = "1.0.0"
    /// The schema version of multi-class reports (1.0.0 plus the multi-class keys).
    public static let multiclassSchemaVersion = "1.1.0"
    public static let disclaimer = "Not for diagnostic use. Research software output; the result has not been verified by a physician."

    public var schemaVersion: String = Self.schemaVersion
    /// Binary or multi-class (written only for multi-class: an absent key means binary).
    public var task: ClassificationTask = .binary
    public var studyKey: String
    public var studyKeySource: PredictionKeys.StudyKeySource
    /// Raw identifiers, present only with `--include-identifiers`.
    public var identifiers: Identifiers?
    public var createdAt: String
    public var model: PredictionModel
    public var series: [Series]
    public var frames: [Frame]
    public var aggregation: Aggregation
    /// Binary: the study probability of the positive class (aggregated by `aggregation.rule`).
    /// Multi-class: the study probability of the predicted class (`label`).
    public var probability: Double
    /// Binary: the threshold and its provenance. Nil for multi-class (see `decision`).
    public var threshold: Threshold?
    /// Binary: the class at the threshold, positive when `probability >= threshold.value`.
    /// Multi-class: the predicted class (see `decision`).
    public var label: String
    /// Binary: whether `label` is the positive class. Always false (and not written) for multi-class.
    public var labelIsPositive: Bool
    /// Multi-class: every class's study probability, in the model's class order.
    public var classProbabilities: [ClassProbability]?
    /// Multi-class: how the predicted class was chosen.
    public var decision: Decision?
    public var warnings: [String]
    /// Instances or frames of this study that could not be used.
    public var failures: [PredictionFailure]
    public var disclaimer: String = Self.disclaimer

    public struct Identifiers: Codable, Equatable, Sendable {
        public var studyInstanceUID: String
        public var patientID: String?
        public var patientName: String?
        public var accessionNumber: String?
    }

    public struct Series: Codable, Equatable, Sendable {
        public var seriesKey: String
        public var seriesInstanceUID: String?
        public var modality: String?
        public var manufacturer: String?
        public var instances: [Instance]
    }

    public struct Instance: Codable, Equatable, Sendable {
        public var instanceKey: String
        public var sopInstanceUID: String?
        public var sopClassUID: String
        public var framesUsed: [Int]
        public var crop: CropDecision
        /// The colour and VOI decisions of the first frame used (all frames of an instance
        /// share the colour model; the VOI of min/max windows may differ per frame).
        public var decode: DecodeRecord?
    }

    public struct Frame: Codable, Equatable, Sendable {
        public var instanceKey: String
        public var frameIndex: Int
        /// Binary: the frame's probability of the positive class. Multi-class: of the study's
        /// predicted class.
        public var probability: Double
        public var decode: DecodeRecord?
        /// Multi-class: the frame's probability of every class, in the model's class order.
        public var classProbabilities: [Double]?
    }

    /// One class's study probability (multi-class).
    public struct ClassProbability: Codable, Equatable, Sendable {
        public var name: String
        public var probability: Double
        enum CodingKeys: String, CodingKey { case name = "class", probability }
    }

    /// The multi-class decision: "argmax" or "per_class_thresholds" (threshold moving, argmax of
    /// p_k / t_k; then each class's threshold and whether the predicted class reached its own).
    public struct Decision: Codable, Equatable, Sendable {
        public var rule: String
        public var thresholds: [ClassThreshold]?
        public var reachedThreshold: Bool?
        /// Where the rule comes from, in words.
        public var source: String
    }

    public struct ClassThreshold: Codable, Equatable, Sendable {
        public var name: String
        public var value: Double
        enum CodingKeys: String, CodingKey { case name = "class", value }
    }

    public struct Aggregation: Codable, Equatable, Sendable {
        /// "mean", "max" or "vote".
        public var rule: String
        /// The frame threshold of the vote rule.
        public var frameThreshold: Double?
        public var framesUsed: Int
    }

    public struct Threshold: Codable, Equatable, Sendable {
        public var value: Double
        /// "youden", "target_sensitivity", "target_specificity" or "fixed".
        public var rule: String
        public var target: Double?
        /// What it was fitted on (nil for a fixed threshold).
        public var fittedOn: FittedOn?
        /// Where the threshold comes from, in words.
        public var source: String
    }

    public struct FittedOn: Codable, Equatable, Sendable {
        public var split: String
        public var level: String
        public var aggregation: String?
        public var samples: Int
        public var positives: Int
        public var negatives: Int
        public var sensitivity: Double
        public var specificity: Double
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion, task, studyKey, studyKeySource, identifiers, createdAt, model, series, frames, aggregation
        case probability, threshold, label, labelIsPositive, classProbabilities, decision, warnings, failures, disclaimer
    }

    public init(schemaVersion: String = Self.schemaVersion, task: ClassificationTask = .binary, studyKey: String,
                studyKeySource: PredictionKeys.StudyKeySource, identifiers: Identifiers?, createdAt: String, model: PredictionModel,
                series: [Series], frames: [Frame], aggregation: Aggregation, probability: Double, threshold: Threshold?,
                label: String, labelIsPositive: Bool, classProbabilities: [ClassProbability]? = nil, decision: Decision? = nil,
                warnings: [String], failures: [PredictionFailure], disclaimer: String = Self.disclaimer) {
        self.schemaVersion = schemaVersion
        self.task = task
        self.studyKey = studyKey
        self.studyKeySource = studyKeySource
        self.identifiers = identifiers
        self.createdAt = createdAt
        self.model = model
        self.series = series
        self.frames = frames
        self.aggregation = aggregation
        self.probability = probability
        self.threshold = threshold
        self.label = label
        self.labelIsPositive = labelIsPositive
        self.classProbabilities = classProbabilities
        self.decision = decision
        self.warnings = warnings
        self.failures = failures
        self.disclaimer = disclaimer
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(String.self, forKey: .schemaVersion)
        task = try ClassificationTask.decodeRecorded(c, forKey: .task)
        studyKey = try c.decode(String.self, forKey: .studyKey)
        studyKeySource = try c.decode(PredictionKeys.StudyKeySource.self, forKey: .studyKeySource)
        identifiers = try c.decodeIfPresent(Identifiers.self, forKey: .identifiers)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        model = try c.decode(PredictionModel.self, forKey: .model)
        series = try c.decode([Series].self, forKey: .series)
        frames = try c.decode([Frame].self, forKey: .frames)
        aggregation = try c.decode(Aggregation.self, forKey: .aggregation)
        probability = try c.decode(Double.self, forKey: .probability)
        threshold = try c.decodeIfPresent(Threshold.self, forKey: .threshold)
        label = try c.decode(String.self, forKey: .label)
        labelIsPositive = try c.decodeIfPresent(Bool.self, forKey: .labelIsPositive) ?? false
        classProbabilities = try c.decodeIfPresent([ClassProbability].self, forKey: .classProbabilities)
        decision = try c.decodeIfPresent(Decision.self, forKey: .decision)
        warnings = try c.decode([String].self, forKey: .warnings)
        failures = try c.decode([PredictionFailure].self, forKey: .failures)
        disclaimer = try c.decode(String.self, forKey: .disclaimer)
    }

    /// A binary report writes exactly the keys of schema 1.0.0; a multi-class one adds `task`,
    /// `class_probabilities` and `decision` and leaves out `threshold` and `label_is_positive`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(studyKey, forKey: .studyKey)
        try c.encode(studyKeySource, forKey: .studyKeySource)
        try c.encodeIfPresent(identifiers, forKey: .identifiers)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(model, forKey: .model)
        try c.encode(series, forKey: .series)
        try c.encode(frames, forKey: .frames)
        try c.encode(aggregation, forKey: .aggregation)
        try c.encode(probability, forKey: .probability)
        try c.encodeIfPresent(threshold, forKey: .threshold)
        try c.encode(label, forKey: .label)
        switch task {
        case .binary:
            try c.encode(labelIsPositive, forKey: .labelIsPositive)
        case .multiclass:
            try c.encode(task, forKey: .task)
            try c.encodeIfPresent(classProbabilities, forKey: .classProbabilities)
            try c.encodeIfPresent(decision, forKey: .decision)
        }
        try c.encode(warnings, forKey: .warnings)
        try c.encode(failures, forKey: .failures)
        try c.encode(disclaimer, forKey: .disclaimer)
    }

    /// The encoder every report file uses: snake_case keys, sorted, pretty.
    public static func encoder() -> JSONEncoder { SonoKitJSON.encoder() }

    /// The report as JSON bytes (a trailing newline).
    public func jsonData() throws -> Data {
        var data = try Self.encoder().encode(self)
        data.append(0x0A)
        return data
    }
}

extension PredictionReport.Threshold {
    init(_ choice: ThresholdChoice, source: String) {
        value = choice.value
        switch choice.rule {
        case .youden: rule = "youden"; target = nil
        case .targetSensitivity(let t): rule = "target_sensitivity"; target = t
        case .targetSpecificity(let t): rule = "target_specificity"; target = t
        case .fixed(let t): rule = "fixed"; target = t
        }
        fittedOn = choice.fittedOn.map {
            PredictionReport.FittedOn(split: $0.split, level: $0.level.rawValue, aggregation: $0.aggregation?.description,
                                      samples: $0.samples, positives: $0.positives, negatives: $0.negatives,
                                      sensitivity: $0.sensitivity, specificity: $0.specificity)
        }
        self.source = source
    }
}

extension PredictionReport.Aggregation {
    init(_ aggregation: StudyAggregation, framesUsed: Int) {
        switch aggregation {
        case .mean: rule = "mean"; frameThreshold = nil
        case .max: rule = "max"; frameThreshold = nil
        case .vote(let tau): rule = "vote"; frameThreshold = tau
        }
        self.framesUsed = framesUsed
    }
}
