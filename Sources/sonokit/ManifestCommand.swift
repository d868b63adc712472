import ArgumentParser
import SonoKitCLI
import Catalog
import Foundation
import Manifest
import SonoKitCore
import Workflows

/// `sonokit manifest`: label manifests (CSV) instead of class folders.
struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Validate label manifests, make patient-grouped stratified splits, convert class folders.",
        subcommands: [Validate.self, Split.self, FromFolders.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem of a manifest with its line and column; exit 0 only without errors.",
            discussion: """
            Errors: unknown or missing label, missing patient_id, a reference that resolves to nothing or to non-image objects, one image with two labels, duplicate rows, a patient in two splits, the same decoded pixels under two patients or in two splits, a split without a positive or negative study (binary) or with studies of fewer than two classes (multi-class). Warnings (exit status stays 0): unknown columns, patient_id differing from the DICOM PatientID, a class with fewer than 10 studies, a class missing from a split or with very few studies in it (multi-class), ...

            The task: with --positive it is binary (that class against the others); without it and with more than two classes it is multi-class; --task binary|multiclass says it explicitly (two classes need one of the two). --ordinal marks the declared order as a scale. The same in the manifest: '# classes: normal,cyst,solid; task: multiclass; ordinal: yes'. A multi-class report adds per class and split the images, studies and patients.

            Examples:
              sonokit manifest validate labels.csv --catalog work/catalog.sqlite --classes benign,malignant --positive malignant
              sonokit manifest validate labels.csv --catalog work/catalog.sqlite --splits splits.csv --json
              sonokit manifest validate birads.csv --catalog work/catalog.sqlite --classes 2,3,4,5 --ordinal
            """
        )
        @OptionGroup var options: ManifestOptions
        @Option(help: "A splits file from `sonokit manifest split`; it decides every row's split.") var splits: String?
        @Flag(help: "Print the report as JSON (Schemas/manifest-validation.schema.json).") var json = false

        func run() throws {
            try Self.execute(try options.input(), splits: splits, json: json)
        }

        /// Validates and prints every problem and the summary (text or JSON); exit status 1 on errors.
        static func execute(_ input: ManifestInput, splits: String? = nil, json: Bool = false) throws {
            let assignment = try splits.map { try SplitsFile.read(path: $0) }
            let result: ValidationResult
            do { result = try workflow { try ManifestWorkflow.validate(input, splits: assignment, events: .terminal()) } }
            catch let error as ManifestError where json {
                print(try SonoKitJSON.string(ValidationReport(manifest: input.manifest, fatal: error)))
                throw ExitCode(1)
            }
            if json {
                print(try SonoKitJSON.string(result.report))
            } else {
                for issue in result.report.issues { print(issue.formatted(file: input.manifest)) }
                print(ManifestText.summaryLine(result.report))
                let s = result.report.summary
                if !s.splits.isEmpty {
                    let total = SplitSummary.Row(name: "total", patients: s.patients, studies: s.studies, frames: s.frames,
                                                 studiesPerClass: s.studiesPerClass.map(\.studies), imagesPerClass: s.studiesPerClass.map(\.images),
                                                 patientsPerClass: s.studiesPerClass.map(\.patients))
                    let table = SplitSummary(classes: s.studiesPerClass.map(\.label), splits: s.splits, total: total)
                    print(table.table)
                    if s.task == .multiclass { print(table.classTable) }
                }
            }
            if !result.report.isValid { throw ExitCode(1) }
        }
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make stratified, patient-grouped splits (no patient in two splits), deterministic for a seed.",
            discussion: """
            The algorithm is scikit-learn's StratifiedGroupKFold (greedy: patients with the most uneven class counts first, each to the split that keeps every class's share closest to its target), with studies as the counting unit and ratios allowed. The splits file has one line per patient: 'patient_id,split' with split names fold0..fold{K-1} or train/validation/test (train/test for two ratios). Its patient_id column holds the catalog's pseudonymous patient keys (P-...), not your patient ids (a comment line says so); validate --splits, train and evaluate match them through the same catalog.

            Examples:
              sonokit manifest split labels.csv --catalog work/catalog.sqlite --group patient_id --stratify label --folds 5 --seed 7 -o splits.csv
              sonokit manifest split labels.csv --catalog work/catalog.sqlite --ratios 0.7,0.15,0.15 --seed 7 -o splits.csv
            """
        )
        enum Group: String, ExpressibleByArgument { case patientID = "patient_id" }
        enum Stratify: String, ExpressibleByArgument { case label }

        @OptionGroup var options: ManifestOptions
        @Option(help: "The grouping column: no group is ever in two splits (patient_id).") var group: Group = .patientID
        @Option(help: "The column whose balance is kept across splits (label).") var stratify: Stratify = .label
        @Option(help: "Number of cross-validation folds (fold0..fold{K-1}).") var folds: Int?
        @Option(help: "Split fractions: train,test or train,validation,test, summing to 1.") var ratios: String?
        @Option(help: "Seed of the shuffle that orders equally hard patients; the same seed gives the same splits.") var seed: UInt64
        @Option(name: .shortAndLong, help: "The splits file to write.") var output: String
        @Flag(help: "Print the per-split counts as JSON.") var json = false

        func validate() throws {
            guard (folds == nil) != (ratios == nil) else { throw ValidationError("Give exactly one of --folds K and --ratios 0.7,0.15,0.15.") }
            _ = try plan()
        }

        func plan() throws -> SplitPlan {
            if let folds { return try SplitPlan.folds(folds).validated() }
            let parts = ratios!.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--ratios takes numbers separated by commas, e.g. 0.7,0.15,0.15") }
            do { return try SplitPlan.ratios(parts.map { $0! }).validated() } catch { throw ValidationError("\(error)") }
        }

        func run() throws {
            let planText = folds.map { "folds=\($0)" } ?? "ratios=\(ratios!)"
            try Self.execute(ManifestWorkflow.SplitOptions(input: try options.input(), plan: try plan(), planText: planText, seed: seed, output: output),
                             json: json)
        }

        /// Splits, prints the per-split counts (text or JSON) and writes the splits file, or says why not (exit status 1).
        static func execute(_ options: ManifestWorkflow.SplitOptions, json: Bool = false) throws {
            let manifest = options.input.manifest
            let outcome = try workflow({ try ManifestWorkflow.split(options, events: .terminal()) })
            let multiclass = outcome.task == .multiclass
            switch outcome {
            case .invalidManifest(let errors):
                for issue in errors { warn(issue.formatted(file: manifest)) }
                warn("\(manifest): \(errors.count) error(s); fix them before splitting (sonokit manifest validate lists warnings too).")
                throw ExitCode(1)
            case .impossibleSplits(let summary, let errors):
                if json { print(try SonoKitJSON.string(summary)) } else { print(summary.table); if multiclass { print(summary.classTable) } }
                for issue in errors { warn(issue.formatted(file: manifest)) }
                warn("No splits file written: the groups do not allow these splits. Use fewer folds, other ratios, or label more patients.")
                throw ExitCode(1)
            case .written(let summary, let assignment, let warnings):
                if json { print(try SonoKitJSON.string(summary)) } else { print(summary.table); if multiclass { print(summary.classTable) } }
                for issue in warnings { warn(issue.formatted(file: manifest)) }
                if !json { print("Wrote \(options.output): \(assignment.splitOfPatient.count) patients in \(assignment.splitNames.count) splits.") }
            }
        }
    }

    struct FromFolders: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "from-folders",
            abstract: "Write a manifest from a folder-per-class tree of DICOM files (the Keras layout).",
            discussion: """
            label = the class folder's name, patient_id = the file's DICOM PatientID, path = relative to the manifest. Classes are not declared in the file: you declare them (N folders are N classes), and which one is positive for a binary task.

            Example:
              sonokit manifest from-folders export/ -o labels.csv
            """
        )
        @Argument(help: "The folder whose sub-folders are the classes.") var directory: String
        @Option(name: .shortAndLong, help: "The manifest to write.") var output: String

        func run() throws {
            let outcome = try FolderManifestBuilder.build(root: directory, manifestPath: output)
            guard !outcome.rows.isEmpty else {
                throw ValidationError("\(directory): no DICOM image in any class folder (\(outcome.skipped.count) file(s) skipped); expected \(directory)/<class>/<files>.")
            }
            try FolderManifestBuilder.write(outcome, to: output)
            print("Wrote \(output): \(outcome.rows.count) images of \(outcome.patients) patients.")
            for folder in outcome.filesPerFolder { print("  \(folder.label): \(folder.files) images") }
            if !outcome.skipped.isEmpty {
                print("Skipped \(outcome.skipped.count) file(s):")
                for item in outcome.skipped.prefix(20) { print("  \(item.path): \(item.reason)") }
                if outcome.skipped.count > 20 { print("  ... and \(outcome.skipped.count - 20) more") }
            }
            if outcome.rowsWithoutPatientID > 0 {
                print("\(outcome.rowsWithoutPatientID) file(s) have no PatientID: fill patient_id on those rows, or validation will fail.")
            }
            let names = outcome.filesPerFolder.map(\.label)
            let list = names.joined(separator: ",")
            let declare = names.count > 2
                ? """
                  2. Declare the classes (SonoKit never guesses them from folder names). The \(names.count) folders are \(names.count) classes: \
                a multi-class task, e.g. (order them as they should be read; add --ordinal if that order is a scale)
                     sonokit manifest validate \(output) --catalog CATALOG --classes \(list)
                     or put '# classes: \(list); task: multiclass' on the first line of \(output).
                     For one class against the others instead, add --positive CLASS ('; positive: CLASS' in the comment).
                """
                : """
                  2. Declare the classes and the positive class (SonoKit never guesses them from folder names), e.g.
                     sonokit manifest validate \(output) --catalog CATALOG --classes \(list) --positive \(names.last ?? "CLASS")
                     or put '# classes: \(list); positive: \(names.last ?? "CLASS")' on the first line of \(output).
                """
            print("""
                Next:
                  1. Check the patient_id column. It was copied from the DICOM PatientID; pseudonymised exports \
                sometimes give one patient several ids (or several patients one), and splits are only as good as these ids.
                """ + "\n" + declare)
        }
    }
}

extension ClassificationTask: ExpressibleByArgument {}

/// The options every command that reads a manifest shares, so that train, evaluate and predict
/// judge a manifest exactly as `manifest validate` does.
struct ManifestOptions: ParsableArguments {
    @Argument(help: "The manifest CSV file.") var manifest: String
    @Option(help: "The catalog made by `sonokit ingest`.") var catalog: String
    @Option(help: "The classes, comma-separated (else the manifest's '# classes:' line).") var classes: String?
    @Option(help: "The positive class (one of --classes): a binary task, this class against the others.") var positive: String?
    @Option(help: ArgumentHelp("binary (needs --positive) or multiclass (no --positive). Default: binary with --positive, multiclass without it and with more than two classes.", valueName: "task"))
    var task: ClassificationTask?
    @Flag(help: "Multi-class: the declared class order is an order (e.g. BI-RADS 2,3,4,5); evaluation weights disagreements by distance.")
    var ordinal = false
    @Option(help: "Field delimiter: comma, semicolon or tab (default: detected from the header).") var delimiter: String?
    @Flag(help: "Skip the duplicate-pixel checks (which decode every frame not yet hashed in the catalog).") var noPixelCheck = false

    func validate() throws {
        if classes == nil, positive != nil || task != nil || ordinal {
            throw ValidationError("--positive, --task and --ordinal describe the classes of --classes; give --classes too (or declare everything in the manifest's '# classes:' line).")
        }
        if let classes {
            do { _ = try ClassDeclaration(commaSeparatedClasses: classes, positive: positive, task: task, ordinal: ordinal) }
            catch { throw ValidationError("\(error)") }
        }
        if let delimiter { do { _ = try ManifestDelimiter(argument: delimiter) } catch { throw ValidationError("\(error)") } }
    }

    /// The manifest as the workflows take it (classes and delimiter parsed).
    func input() throws -> ManifestInput {
        ManifestInput(manifest: manifest, catalog: catalog,
                      classes: try classes.map { try ClassDeclaration(commaSeparatedClasses: $0, positive: positive, task: task, ordinal: ordinal) },
                      delimiter: try delimiter.map(ManifestDelimiter.init(argument:)), noPixelCheck: noPixelCheck)
    }
}

enum ManifestText {
    /// `labels.csv: valid (0 errors, 2 warnings); 40 rows -> 120 images, 360 frames, 40 patients, 60 studies; studies per class: benign 40, malignant (positive) 20`;
    /// a multi-class manifest ends with `; multi-class task (3 classes, ordinal)`.
    static func summaryLine(_ report: ValidationReport) -> String {
        let s = report.summary
        let classes = s.studiesPerClass.map { "\($0.label)\($0.label == s.positiveClass ? " (positive)" : "") \($0.studies)" }.joined(separator: ", ")
        let task = s.task == .multiclass ? "; multi-class task (\(s.studiesPerClass.count) classes\(s.ordinal == true ? ", ordinal" : ""))" : ""
        return "\(report.manifest): \(report.isValid ? "valid" : "INVALID") (\(report.errors.count) error(s), \(report.warnings.count) warning(s)); "
            + "\(s.rows) rows -> \(s.images) images, \(s.frames) frames, \(s.patients) patients, \(s.studies) studies; studies per class: \(classes)" + task
    }
}
