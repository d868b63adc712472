import Foundation
import SonoKitCore

/// The machine-readable result of `sonokit evaluate` for a multi-class run, written as
/// evaluation.json and described by the `multiclass_report` part of
/// Schemas/evaluation-report.schema.json (snake_case keys; encode with `jsonEncoder()`).
///
/// `task` is always `multiclass`: a reader tells it from a binary `EvaluationReport` (which has no
/// `task` key; absent means binary) before reading anything else. Study level is primary, frame
/// level secondary, as in the binary report. No patient identifiers: keys are pseudonymous, and
/// frame paths are never written.
public struct MulticlassEvaluationReport: Codable, Equatable, Sendable {
    /// Version of this structure: the schema version that introduced the multi-class report.
    public static let currentSchemaVersion = "1.1.0"

    public var schemaVersion: String
    public var task: ClassificationTask
    public var run: RunIdentity
    /// The declared classes, in the order of every per-class array and probability vector.
    public var classes: [String]
    /// The classes are ordered (kappa is quadratic-weighted).
    public var ordinal: Bool
    public var evaluatedSplit: String
    /// The level at which the splits are disjoint ("patient").
    public var splitLevel: String
    public var settings: MulticlassEvaluationSettings
    public var study: MulticlassLevelResult
    public var frame: MulticlassLevelResult?
    /// Misclassified studies, the highest probability on a wrong class first (the writer adds
    /// their thumbnails).
    public var worstConfusions: [WorstConfusion]
    public var dataCounts: [SplitCounts]
    public var warnings: [String]
    public var disclaimer: String

    public init(run: RunIdentity, classes: [String], ordinal: Bool, evaluatedSplit: String, splitLevel: String = "patient",
                settings: MulticlassEvaluationSettings, study: MulticlassLevelResult, frame: MulticlassLevelResult?,
                worstConfusions: [WorstConfusion], dataCounts: [SplitCounts], warnings: [String] = [],
                disclaimer: String = "Research use only. Not for diagnostic use.") {
        schemaVersion = Self.currentSchemaVersion
        task = .multiclass
        self.run = run
        self.classes = classes
        self.ordinal = ordinal
        self.evaluatedSplit = evaluatedSplit
        self.splitLevel = splitLevel
        self.settings = settings
        self.study = study
        self.frame = frame
        self.worstConfusions = worstConfusions
        self.dataCounts = dataCounts
        self.warnings = warnings
        self.disclaimer = disclaimer
    }

    public static func jsonEncoder() -> JSONEncoder { SonoKitJSON.encoder() }
    public static func jsonDecoder() -> JSONDecoder { SonoKitJSON.decoder() }

    /// The report as JSON bytes (throws on a non-finite number rather than writing invalid JSON).
    public func jsonData() throws -> Data { try Self.jsonEncoder().encode(self) }

    /// Writes evaluation.json atomically.
    public func write(to url: URL) throws { try AtomicFile.write(try jsonData(), to: url) }

    /// The task recorded in an evaluation.json, without decoding the rest: `multiclass` or `binary`
    /// (no `task` key: every binary report). For readers that must refuse the other task's report.
    public static func task(ofReport data: Data) throws -> ClassificationTask {
        struct Probe: Decodable {
            var task: ClassificationTask
            enum CodingKeys: String, CodingKey { case task }
            init(from decoder: Decoder) throws {
                task = try ClassificationTask.decodeRecorded(try decoder.container(keyedBy: CodingKeys.self), forKey: .task)
            }
        }
        return try jsonDecoder().decode(Probe.self, from: data).task
    }
}
