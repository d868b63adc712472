import Catalog
import Foundation
import Manifest
import SonoKitCore

/// A manifest as every workflow that reads one names it, so that train and evaluate judge a
/// manifest exactly as `manifest validate` does.
public struct ManifestInput: Sendable {
    /// The manifest CSV file.
    public var manifest: String
    /// The catalog made by `ingest`, through which UIDs and paths resolve.
    public var catalog: String
    /// The declared classes (nil: the manifest's `# classes:` line).
    public var classes: ClassDeclaration?
    /// The field delimiter (nil: detected from the header).
    public var delimiter: ManifestDelimiter?
    /// Skip the duplicate-pixel checks (which decode every frame not yet hashed in the catalog).
    public var noPixelCheck: Bool

    public init(manifest: String, catalog: String, classes: ClassDeclaration? = nil, delimiter: ManifestDelimiter? = nil,
                noPixelCheck: Bool = false) {
        self.manifest = manifest
        self.catalog = catalog
        self.classes = classes
        self.delimiter = delimiter
        self.noPixelCheck = noPixelCheck
    }
}

/// `manifest validate` and `manifest split`.
public enum ManifestWorkflow {
    /// Parses and validates the manifest against the catalog. Fatal parse problems are thrown;
    /// row problems are in the report. Pixel hashing reports progress as "pixel hashes".
    public static func validate(_ input: ManifestInput, splits: SplitAssignment?, ignoreSplitColumn: Bool = false,
                                skipPixelCheck: Bool = false, events: WorkflowEvents = .silent) throws -> ValidationResult {
        let parsed = try Manifest.load(path: input.manifest, delimiter: input.delimiter, classes: input.classes)
        let store = try openExistingCatalog(input.catalog)
        // A splits file of patient keys is matched through this catalog's keys.
        let splits = splits?.byManifestPatients(Set(parsed.rows.compactMap(\.patientID)), patientKey: store.pseudonymizer.patientKey)
        let hasher = input.noPixelCheck || skipPixelCheck ? nil : DecodedPixelHasher(catalog: store)
        let progress = events.progress("pixel hashes", unit: "images")
        let result = ManifestValidator.validate(parsed, resolver: CatalogImageResolver(catalog: store), pixelHasher: hasher, splits: splits,
                                                options: ValidationOptions(ignoreSplitColumn: ignoreSplitColumn, pixelProgress: progress))
        if hasher != nil { events.progressFinished("pixel hashes") }
        return result
    }

    /// What `split` is asked for.
    public struct SplitOptions: Sendable {
        public var input: ManifestInput
        public var plan: SplitPlan
        public var seed: UInt64
        /// The splits file to write.
        public var output: String
        /// The plan as the user wrote it ("folds=5", "ratios=0.7,0.15,0.15"), for the splits file's comment.
        public var planText: String

        public init(input: ManifestInput, plan: SplitPlan, planText: String, seed: UInt64, output: String) {
            self.input = input
            self.plan = plan
            self.planText = planText
            self.seed = seed
            self.output = output
        }

        /// The comment line of the splits file: how the splits were asked for (groups are
        /// always patients, strata always labels).
        public var provenance: String {
            "sonokit manifest split " + [planText, "seed=\(seed)", "group=patient_id", "stratify=label"].joined(separator: " ")
        }
    }

    /// The outcome of `split`: written, or why not (nothing is written unless `.written`).
    public enum SplitOutcome {
        /// The manifest has errors (ignoring its split column): nothing was split.
        case invalidManifest(errors: [ValidationIssue])
        /// The splits were made but fail the checks every later workflow applies (e.g. a split
        /// without a positive study): not written.
        case impossibleSplits(summary: SplitSummary, errors: [ValidationIssue])
        /// The splits file was written (with patient keys); `assignment` is by the manifest's
        /// patient ids, in memory only; `warnings` are the checks' warnings about the splits
        /// (multi-class: a class missing from a split, or with very few studies in it).
        case written(summary: SplitSummary, assignment: SplitAssignment, warnings: [ValidationIssue])

        /// The task of the manifest's class declaration (nil when it was not split).
        public var task: ClassificationTask? {
            switch self {
            case .invalidManifest: return nil
            case .impossibleSplits(let summary, _), .written(let summary, _, _): return summary.task
            }
        }
    }

    /// Patient-grouped stratified splits of a valid manifest, written to `options.output` when
    /// they pass the same checks as every later workflow (binary: each split with a positive and a
    /// negative study; multi-class: each split with studies of at least two classes). Patients are
    /// stratified over all declared classes.
    public static func split(_ options: SplitOptions, events: WorkflowEvents = .silent) throws -> SplitOutcome {
        let first = try validate(options.input, splits: nil, ignoreSplitColumn: true, events: events)
        guard first.report.isValid else { return .invalidManifest(errors: first.report.errors) }
        let assignment = try ManifestSplitter.split(first.resolved, plan: options.plan, seed: options.seed)
        let check = try validate(options.input, splits: assignment, skipPixelCheck: true, events: events)
        let summary = ManifestSplitter.summary(first.resolved, assignment: assignment)
        guard check.report.errors.isEmpty else { return .impossibleSplits(summary: summary, errors: check.report.errors) }
        // The file holds the catalog's patient keys, never the manifest's patient ids (which are
        // usually the DICOM Patient IDs); every reader matches them through the same catalog.
        let patientKey = try openExistingCatalog(options.input.catalog).pseudonymizer.patientKey
        try SplitsFile.write(assignment.pseudonymized(patientKey: patientKey), comments: [options.provenance], to: options.output)
        let splitCodes: Set<ValidationIssue.Code> = [.classMissingFromSplit, .smallClassInSplit]
        return .written(summary: summary, assignment: assignment, warnings: check.report.warnings.filter { splitCodes.contains($0.code) })
    }
}
