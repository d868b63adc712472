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
        /// Studies per declared class, in declared order.
        public var studiesPerClass: [ClassCount]
        public var positiveClass: String
        /// The same counts per split, in split order; empty when the manifest uses no splits.
        public var splits: [SplitSummary.Row] = []

        enum CodingKeys: String, CodingKey {
            case rows, images, frames, patients, studies, splits
            case studiesPerClass = "studies_per_class"
            case positiveClass = "positive_class"
        }
    }

    public struct ClassCount: Codable, Sendable, Equatable {
        public var label: String
        public var studies: Int
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
