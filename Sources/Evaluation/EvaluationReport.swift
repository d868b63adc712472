import Foundation
import SonoKitCore

/// The machine-readable result of `sonokit evaluate`, written as evaluation.json and described by
/// Schemas/evaluation-report.schema.json (keys in snake_case; encode with `jsonEncoder()`).
///
/// Study level is primary, frame level secondary. Everything a reader needs to judge the numbers
/// is next to them: the aggregation rule, the threshold's provenance (and a flag when the evaluated
/// split is the one it was fitted on), the counts per split and class, the interval methods and the
/// seed, the software versions, and the run/model/preprocessing identity. No patient identifiers:
/// keys are the pseudonymous ones of the manifest.
public struct EvaluationReport: Codable, Equatable, Sendable {
    /// Version of this structure and of the schema (semantic versioning).
    public static let currentSchemaVersion = "1.0.0"

    public var schemaVersion: String
    public var run: RunIdentity
    public var classes: ClassNames
    public var evaluatedSplit: String
    /// The level at which the splits are disjoint ("patient").
    public var splitLevel: String
    public var settings: EvaluationSettings
    public var study: LevelResult
    public var frame: LevelResult?
    public var subgroups: [SubgroupResult]
    /// The worst study-level errors at the study threshold (the command adds their thumbnails).
    public var failureAnalysis: FailureAnalysis?
    public var dataCounts: [SplitCounts]
    public var warnings: [String]
    public var disclaimer: String

    public init(run: RunIdentity, classes: ClassNames, evaluatedSplit: String, splitLevel: String = "patient",
                settings: EvaluationSettings, study: LevelResult, frame: LevelResult?, subgroups: [SubgroupResult],
                failureAnalysis: FailureAnalysis? = nil, dataCounts: [SplitCounts], warnings: [String] = [],
                disclaimer: String = "Research use only. Not for diagnostic use.") {
        schemaVersion = Self.currentSchemaVersion
        self.run = run
        self.classes = classes
        self.evaluatedSplit = evaluatedSplit
        self.splitLevel = splitLevel
        self.settings = settings
        self.study = study
        self.frame = frame
        self.subgroups = subgroups
        self.failureAnalysis = failureAnalysis
        self.dataCounts = dataCounts
        self.warnings = warnings
        self.disclaimer = disclaimer
        if study.threshold.evaluatedOnFittingSplit {
            self.warnings.append("The study threshold was fitted on the evaluated split '\(evaluatedSplit)': "
                + "sensitivity, specificity, PPV and NPV are optimistic. Evaluate on a split the threshold was not fitted on.")
        }
    }

    /// The encoder evaluation.json is written with: snake_case keys, sorted, pretty-printed.
    public static func jsonEncoder() -> JSONEncoder { SonoKitJSON.encoder() }

    public static func jsonDecoder() -> JSONDecoder { SonoKitJSON.decoder() }

    /// The report as JSON bytes (throws on a non-finite number rather than writing invalid JSON).
    public func jsonData() throws -> Data { try Self.jsonEncoder().encode(self) }

    /// Writes evaluation.json atomically (a temporary file renamed into place), so a reader never
    /// sees half a report.
    public func write(to url: URL) throws {
        try AtomicFile.write(try jsonData(), to: url)
    }
}

/// Who produced the predictions: filled by the evaluate command from the run directory.
public struct RunIdentity: Codable, Equatable, Sendable {
    public var runId: String
    public var modelId: String
    /// SHA-256 of the weights file the model was initialised from or saved to, when known.
    public var weightsSha256: String?
    /// The stable hash of the preprocessing configuration the frames went through.
    public var preprocessingHash: String
    /// The run's seed (every random stream of training is derived from it).
    public var seed: UInt64
    /// Software and library versions ("sonokit", "swift", "dcmtk", ...), as name/value pairs.
    public var softwareVersions: [NamedValue]
    /// When the evaluation ran, ISO 8601 UTC.
    public var createdAt: String

    public init(runId: String, modelId: String, weightsSha256: String? = nil, preprocessingHash: String, seed: UInt64,
                softwareVersions: [NamedValue], createdAt: String) {
        self.runId = runId
        self.modelId = modelId
        self.weightsSha256 = weightsSha256
        self.preprocessingHash = preprocessingHash
        self.seed = seed
        self.softwareVersions = softwareVersions
        self.createdAt = createdAt
    }
}

/// A name/value pair (used instead of a dictionary so that key encoding never rewrites the names).
public struct NamedValue: Codable, Equatable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The declared classes: the positive class is named, never inferred.
public struct ClassNames: Codable, Equatable, Sendable {
    public var positive: String
    public var negative: String

    public init(positive: String, negative: String) {
        self.positive = positive
        self.negative = negative
    }
}

/// Data counts of one split, overall and per class (CLAIM: participants by partition).
public struct SplitCounts: Codable, Equatable, Sendable {
    public var split: String
    public var patients: Int
    public var studies: Int
    public var frames: Int
    public var perClass: [ClassCount]

    public struct ClassCount: Codable, Equatable, Sendable {
        /// The class name (one of `ClassNames`).
        public var className: String
        public var patients: Int
        public var studies: Int
        public var frames: Int
    }

    /// Counts a split from its frame predictions (a patient with studies of both classes counts in both).
    public init(split: String, frames: [FramePrediction], classes: ClassNames) {
        self.split = split
        patients = Set(frames.map(\.patientKey)).count
        studies = Set(frames.map(\.studyKey)).count
        self.frames = frames.count
        perClass = [(classes.positive, true), (classes.negative, false)].map { name, positive in
            let members = frames.filter { $0.isPositive == positive }
            return ClassCount(className: name, patients: Set(members.map(\.patientKey)).count,
                              studies: Set(members.map(\.studyKey)).count, frames: members.count)
        }
    }
}
