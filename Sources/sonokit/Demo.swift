import ArgumentParser
import Catalog
import CNN
import Foundation
import Manifest

/// `sonokit demo`: the user's path on SampleStudies/, run through the very commands a user types
/// (each step is printed as its command line, then run): ingest, validate the manifest, split by
/// patient, train (vgg16 on the installed ImageNet base, else small), evaluate the test split at the
/// study level, predict every study of the test split with HTML pages and DICOM SRs.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run SonoKit's path on the bundled SampleStudies/ (synthetic ultrasound studies).",
        discussion: """
        Every step is printed as the command you would type, so the demo doubles as a tutorial.

        Example:
          sonokit demo                 # outputs under ./demo-output
          sonokit demo -o /tmp/demo --samples SampleStudies
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the outputs.") var output: String = "demo-output"
    @Option(help: "The sample export (with labels.csv inside).") var samples: String = "SampleStudies"

    func run() throws {
        let labels = (samples as NSString).appendingPathComponent("labels.csv")
        guard FileManager.default.fileExists(atPath: labels) else {
            throw CommandFailure("\(labels): not found; run the demo from the repository root or pass --samples DIR")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }
        let catalog = path("catalog.sqlite"), splits = path("splits.csv")
        let classes = ["--classes", "benign,malignant", "--positive", "malignant"]

        try step(1, "index the export", "ingest", Ingest.self, [samples, "--catalog", catalog])
        try step(2, "validate the labels", "manifest validate", ManifestCommand.Validate.self, [labels, "--catalog", catalog] + classes)
        try step(3, "split by patient (train / validation / test)", "manifest split", ManifestCommand.Split.self,
                 [labels, "--catalog", catalog] + classes + ["--group", "patient_id", "--stratify", "label",
                                                           "--ratios", "0.6,0.2,0.2", "--seed", "7", "-o", splits])
        // Step 4: vgg16 (the reference recipe, frozen ImageNet base, feature cache) when its weights are
        // installed, else the small network trained from scratch.
        let run = path("run")
        if FileManager.default.fileExists(atPath: (run as NSString).appendingPathComponent("config.json")) {
            try FileManager.default.removeItem(atPath: run)
        }
        let hasImageNet = (try? PretrainedWeights.vgg16ImageNet()) != nil
        let model = hasImageNet ? ["--model", "vgg16", "--epochs", "10"]
            : ["--model", "small", "--epochs", "8", "--batch", "16", "--size", "64", "--normalize", "unit", "--augment", "flip", "--seed", "1"]
        try step(4, "train (\(hasImageNet ? "vgg16, frozen ImageNet base" : "small from scratch: no ImageNet weights installed"))", "train", TrainCommand.self,
                 [labels, "--catalog", catalog] + classes + ["--splits", splits] + model + ["-o", run])

        // Step 5: study-level evaluation of the test split, threshold fitted on the validation split.
        try step(5, "evaluate the test split (study level, CIs, calibration, HTML)", "evaluate", Evaluate.self,
                 [run, "--split", "test", "--catalog", catalog])

        // Step 6: predict every study of the test split (the files of its patients' studies).
        let reports = path("reports")
        let testFiles = try Self.testSplitFiles(labels: labels, splits: splits, catalog: catalog)
        try step(6, "predict the \(testFiles.studies) studies of the test split (HTML pages, DICOM SR)", "predict", Predict.self,
                 [run] + testFiles.paths + ["-o", reports, "--html", "--sr"],
                 shown: [run, "<\(testFiles.paths.count) files of the test split>", "-o", reports, "--html", "--sr"])
        print("\nDone. Outputs in \(output)/: the run in \(run)/ (model-card.json, history.csv), its evaluation in \(run)/eval-test/"
              + " (evaluation.html, evaluation.json, studies.csv), the reports in \(reports)/"
              + " (predictions.csv, one JSON per study, html/index.html, sr/*.dcm).")
        print("Try: sonokit inspect FILE, sonokit catalog summary --catalog \(catalog), dsrdump \(reports)/sr/<study>.dcm")
    }

    /// Prints `$ sonokit <commandLine> arguments` and runs that command exactly as the CLI would.
    private func step<C: ParsableCommand>(_ number: Int, _ title: String, _ commandLine: String, _ command: C.Type,
                                          _ arguments: [String], shown: [String]? = nil) throws {
        print("\n== \(number). \(title)\n$ sonokit \(commandLine) \((shown ?? arguments).joined(separator: " "))")
        var parsed = try command.parse(arguments)
        try parsed.run()
    }

    /// The image files of the studies whose patients the splits file puts in "test" (studies
    /// named by `study_uid` in the manifest, resolved through the catalog).
    static func testSplitFiles(labels: String, splits: String, catalog: String) throws -> (paths: [String], studies: Int) {
        let assignment = try SplitsFile.read(path: splits)
        let manifest = try ManifestParser.parse(data: try Data(contentsOf: URL(fileURLWithPath: labels)), file: labels,
                                                directory: (labels as NSString).deletingLastPathComponent,
                                                classes: try ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant"))
        let store = try Catalog(path: catalog)
        var paths: [String] = [], studies = 0
        for row in manifest.rows {
            guard let patient = row.patientID, assignment.split(of: patient) == "test",
                  case .studyUID(let uid)? = row.reference else { continue }
            let files = try store.instances(forStudy: uid).filter(\.isImage).map(\.path)
            if !files.isEmpty { studies += 1; paths += files }
        }
        guard !paths.isEmpty else { throw CommandFailure("\(splits): no study of the test split found in \(catalog)") }
        return (paths.sorted(), studies)
    }
}
