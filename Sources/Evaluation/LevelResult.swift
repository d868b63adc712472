import Foundation

/// How many samples, of which class, from how many patients.
public struct SampleCounts: Codable, Equatable, Sendable {
    public var samples: Int
    public var positives: Int
    public var negatives: Int
    public var patients: Int

    public init(_ samples: [ScoredSample]) {
        self.samples = samples.count
        positives = samples.filter(\.isPositive).count
        negatives = samples.count - positives
        patients = Set(samples.map(\.group)).count
    }
}

/// The AUC with both of its intervals.
public struct AUCResult: Codable, Equatable, Sendable {
    public var estimate: Double
    /// DeLong variance and interval — Obuchowski's cluster-aware one over patients when some patient
    /// has several samples (`DeLong.patientAwareInterval`); nil when there are fewer than 2 samples
    /// (or patients) of a class (see `notes`).
    public var delong: DeLongResult?
    /// Patient-bootstrap percentile interval; nil when turned off or degenerate (see `notes`).
    public var bootstrap: BootstrapResult?

    public struct DeLongResult: Codable, Equatable, Sendable {
        public var variance: Double
        public var interval: ConfidenceInterval
    }

    public struct BootstrapResult: Codable, Equatable, Sendable {
        public var interval: ConfidenceInterval
        public var replicates: Int
        public var used: Int
        public var skipped: Int
        public var seed: UInt64
        public var resamplingUnit: String
    }
}

/// Calibration of the probabilities at one level.
public struct CalibrationResult: Codable, Equatable, Sendable {
    public var brierScore: Double
    public var logLoss: Double
    public var expectedCalibrationError: Double
    public var binCount: Int
    public var bins: [ReliabilityBin]
}

/// All results at one level (study, or frame) of one split.
public struct LevelResult: Codable, Equatable, Sendable {
    public var level: EvaluationLevel
    public var split: String
    public var counts: SampleCounts
    /// P / n: the chance level of the average precision, and what PPV/NPV depend on.
    public var prevalence: Double
    public var auc: AUCResult
    public var averagePrecision: Double
    public var threshold: ThresholdReport
    public var atThreshold: ThresholdMetrics
    public var calibration: CalibrationResult
    public var rocCurve: [ROCPoint]
    /// Pointwise bootstrap band of the ROC curve (nil without bootstrap).
    public var rocBand: [ROCBandPoint]?
    public var precisionRecallCurve: [PrecisionRecallPoint]
    /// Why something is missing or must be read with care, in sentences.
    public var notes: [String]
}

/// The threshold used for a result, where it came from, and whether the result is on its own fitting split.
public struct ThresholdReport: Codable, Equatable, Sendable {
    public var choice: ThresholdChoice
    /// True when the evaluated split is the split the threshold was fitted on: the sensitivity and
    /// specificity at the threshold are then optimistic.
    public var evaluatedOnFittingSplit: Bool

    public init(_ choice: ThresholdChoice, evaluatedSplit: String) {
        self.choice = choice
        evaluatedOnFittingSplit = choice.isFitted(on: evaluatedSplit)
    }
}
