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
public struct PredictionReport: Codable, Equatable, Sendable {
    public static let schemaVersion = "1.0.0"
    public static let disclaimer = "Not for diagnostic use. Research software output; the result has not been verified by a physician."

    public var schemaVersion: String = Self.schemaVersion
    public var studyKey: String
    public var studyKeySource: PredictionKeys.StudyKeySource
    /// Raw identifiers, present only with `--include-identifiers`.
    public var identifiers: Identifiers?
    public var createdAt: String
    public var model: PredictionModel
    public var series: [Series]
    public var frames: [Frame]
    public var aggregation: Aggregation
    /// The study probability of the positive class (aggregated by `aggregation.rule`).
    public var probability: Double
    public var threshold: Threshold
    /// The class at the threshold: positive when `probability >= threshold.value`.
    public var label: String
    public var labelIsPositive: Bool
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
        public var probability: Double
        public var decode: DecodeRecord?
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
