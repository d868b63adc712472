import SonoKitCore

/// Everything validation found, errors and warnings, in line order. `--json` prints this value;
/// its form is documented by `Schemas/manifest-validation.schema.json`.
public struct ValidationReport: Codable, Sendable {
    public static let schemaVersion = 1

    public var schemaVersion: Int = ValidationReport.schemaVersion
    /// The manifest file as the user named it.
    public var manifest: String
    public var issues: [ValidationIssue]
    public var summary: Summary

    /// Counts over the rows that resolved (no patient identifiers).
    public struct Summary: Codable, Sendable, Equatable {
        public var rows: Int
        public var images: Int
        public var frames: Int
        public var patients: Int
        public var studies: Int
        /// Studies (and images, patients) per declared class, in declared order.
        public var studiesPerClass: [ClassCount]
        /// The positive class of a binary task; absent for a multi-class task.
        public var positiveClass: String?
        /// The task the declaration makes; absent when the manifest could not be read.
        public var task: ClassificationTask?
        /// Multi-class: whether the declared order is an order of the classes; absent for binary.
        public var ordinal: Bool?
        /// The same counts per split, in split order; empty when the manifest uses no splits.
        public var splits: [SplitSummary.Row] = []

        enum CodingKeys: String, CodingKey {
            case rows, images, frames, patients, studies, splits
            case studiesPerClass = "studies_per_class"
            case positiveClass = "positive_class"
            case task, ordinal
        }

        public init(rows: Int, images: Int, frames: Int, patients: Int, studies: Int, studiesPerClass: [ClassCount],
                    positiveClass: String?, task: ClassificationTask? = nil, ordinal: Bool? = nil, splits: [SplitSummary.Row] = []) {
            self.rows = rows
            self.images = images
            self.frames = frames
            self.patients = patients
            self.studies = studies
            self.studiesPerClass = studiesPerClass
            self.positiveClass = positiveClass
            self.task = task
            self.ordinal = ordinal
            self.splits = splits
        }
    }

    public struct ClassCount: Codable, Sendable, Equatable {
        public var label: String
        public var studies: Int
        /// Images (DICOM instances) and distinct patients of the class.
        public var images: Int
        public var patients: Int

        public init(label: String, studies: Int, images: Int, patients: Int) {
            self.label = label
            self.studies = studies
            self.images = images
            self.patients = patients
        }
    }

    public var errors: [ValidationIssue] { issues.filter { $0.severity == .error } }
    public var warnings: [ValidationIssue] { issues.filter { $0.severity == .warning } }
    /// True when there is no error (warnings allowed): the condition for exit status 0 and for any
    /// later command to start work.
    public var isValid: Bool { !issues.contains { $0.severity == .error } }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case manifest, issues, summary
        case errorCount = "error_count"
        case warningCount = "warning_count"
        case valid
    }

    public init(manifest: String, issues: [ValidationIssue], summary: Summary) {
        self.manifest = manifest
        self.issues = issues
        self.summary = summary
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        manifest = try c.decode(String.self, forKey: .manifest)
        issues = try c.decode([ValidationIssue].self, forKey: .issues)
        summary = try c.decode(Summary.self, forKey: .summary)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(manifest, forKey: .manifest)
        try c.encode(isValid, forKey: .valid)
        try c.encode(errors.count, forKey: .errorCount)
        try c.encode(warnings.count, forKey: .warningCount)
        try c.encode(issues, forKey: .issues)
        try c.encode(summary, forKey: .summary)
    }
}
