import Catalog
import Evaluation
import Foundation
import Manifest
import Preprocess
import Reports
import SonoKitCore
import SonoKitTestSupport
import Training
import Workflows
import Synthesis
import XCTest

/// The workflows called directly, as the commands call them (no `sonokit` process): typed
/// options in, typed results out, files where the commands put them.
final class WorkflowsTests: XCTestCase {
    static let classes = try! ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant")

    /// SampleStudies ingested into a fresh catalog, split 50/25/25 by patient, and a small
    /// network trained for 2 epochs on 64x64 inputs (a few seconds), shared by the tests.
    struct Fixture {
        var work: URL
        var catalog: String
        var labels: String
        var splits: String
        var ingest: IngestWorkflow.Result
        var split: ManifestWorkflow.SplitOutcome
        var trained: TrainWorkflow.Result
        var run: String
    }

    nonisolated(unsafe) static var shared: Result<Fixture, Error>?

    static func fixture() throws -> Fixture {
        if let shared { return try shared.get() }
        let result = Result { try makeFixture() }
        shared = result
        return try result.get()
    }

    static func makeFixture() throws -> Fixture {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-workflows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let catalog = work.appendingPathComponent("catalog.sqlite").path
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        let splits = work.appendingPathComponent("splits.csv").path
        let ingest = try IngestWorkflow(.init(folders: [RepositoryPaths.sampleStudies.path], catalog: catalog)).run()
        let input = ManifestInput(manifest: labels, catalog: catalog, classes: classes, noPixelCheck: true)
        let split = try ManifestWorkflow.split(.init(input: input, plan: try SplitPlan.ratios([0.5, 0.25, 0.25]).validated(),
                                                     planText: "ratios=0.5,0.25,0.25", seed: 7, output: splits))
        let preprocess = PreprocessConfig(frames: .uniform(2), normalize: .unit, size: 64)
        var config = TrainingConfig(network: NetworkSpec(architecture: .small, inputSize: 64), preprocess: preprocess)
        config.epochs = 2
        config.seed = 5
        let run = work.appendingPathComponent("runs/exp1").path
        var options = TrainWorkflow.Options(manifest: input, splits: splits, config: config, runDirectory: run)
        options.frameCache = work.appendingPathComponent("frame-cache").path
        let trained = try TrainWorkflow(options).run()
        return Fixture(work: work, catalog: catalog, labels: labels, splits: splits, ingest: ingest, split: split, trained: trained, run: run)
    }

    // MARK: ingest: every DICOM file of SampleStudies indexed, the totals returned
    func testIngestIndexesTheExport() throws {
        let f = try Self.fixture()
        XCTAssertEqual(f.ingest.run.newInstances, 59)
        XCTAssertEqual(f.ingest.summary.studies, 40)
        XCTAssertEqual(f.ingest.summary.patients, 30)
        XCTAssertTrue(f.ingest.problems.isEmpty)
    }

    // MARK: manifest validate / split: typed report and outcome; the splits file carries its provenance
    func testValidateAndSplit() throws {
        let f = try Self.fixture()
        let result = try ManifestWorkflow.validate(ManifestInput(manifest: f.labels, catalog: f.catalog, classes: Self.classes, noPixelCheck: true),
                                                   splits: nil)
        XCTAssertTrue(result.report.isValid)
        XCTAssertEqual(result.report.summary.rows, 40)
        guard case .written(let summary, let assignment, _) = f.split else { return XCTFail("not written: \(f.split)") }
        XCTAssertEqual(summary.splits.map(\.name), ["train", "validation", "test"])
        XCTAssertEqual(assignment.splitOfPatient.count, 30)
        let text = try String(contentsOfFile: f.splits, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# sonokit manifest split ratios=0.5,0.25,0.25 seed=7 group=patient_id stratify=label"), text)
        // Keys, never the manifest's patient ids: the written file is the assignment pseudonymised
        // with the catalog's keys, and reads back as such.
        let patientKey = try Catalog(path: f.catalog).pseudonymizer.patientKey
        XCTAssertFalse(text.contains("SKP0"), text)
        XCTAssertEqual(try SplitsFile.read(path: f.splits), assignment.pseudonymized(patientKey: patientKey))
        // The demo's test-split lookup reads it through the catalog.
        let demoTest = try DemoWorkflow.testSplitFiles(labels: f.labels, splits: f.splits, catalog: f.catalog, classes: Self.classes)
        let testKeys = Set(assignment.splitOfPatient.filter { $0.value == "test" }.keys)
        XCTAssertEqual(demoTest.studies, try Manifest.load(path: f.labels, delimiter: nil, classes: Self.classes).rows
            .filter { testKeys.contains($0.patientID ?? "") }.count)
        XCTAssertGreaterThan(demoTest.studies, 0)
    }

    // MARK: A missing catalog is an invalid input naming the file and the command that makes one
    func testMissingCatalogIsAnInvalidInput() {
        let input = ManifestInput(manifest: RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path,
                                  catalog: "/nonexistent/catalog.sqlite", classes: Self.classes)
        XCTAssertThrowsError(try ManifestWorkflow.validate(input, splits: nil)) { error in
            guard case WorkflowError.invalidInput(let message)? = error as? WorkflowError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("/nonexistent/catalog.sqlite") && message.contains("sonokit ingest"), message)
        }
    }

    // MARK: train: the run folder is typed; its config records the catalog it was trained from
    func testTrainLeavesATypedRun() throws {
        let f = try Self.fixture()
        XCTAssertEqual(f.trained.epochs, 2)
        let run = try TrainedRun(directory: f.run)
        XCTAssertEqual(run.card, f.trained.run.card)
        XCTAssertEqual(run.config?.catalog, URL(fileURLWithPath: f.catalog).standardizedFileURL.path)
        XCTAssertEqual(run.config?.trainSplits, ["train"])
        XCTAssertEqual(try run.history().rows.count, 2)
    }

    // MARK: Nothing is trained on bad labels
    /// Guards the first rule of issue 7: the manifest is validated (as `manifest validate` does)
    /// before anything is trained; each error is reported with its file and line, and a manifest
    /// with errors leaves no run folder.
    func testAManifestWithErrorsIsRefusedNamingTheLine() throws {
        let f = try Self.fixture()
        var lines = try String(contentsOfFile: f.labels, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[3] = lines[3].replacingOccurrences(of: ",malignant,", with: ",maybe,").replacingOccurrences(of: ",benign,", with: ",maybe,")
        let bad = f.work.appendingPathComponent("bad.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: bad, atomically: true, encoding: .utf8)
        // Paths in labels.csv are UIDs, so the copy resolves through the catalog like the original.
        let run = f.work.appendingPathComponent("refused-run").path
        var config = f.trained.run.config!
        config.epochs = 1
        let options = TrainWorkflow.Options(manifest: ManifestInput(manifest: bad.path, catalog: f.catalog, classes: Self.classes, noPixelCheck: true),
                                            splits: f.splits, config: config, runDirectory: run)
        var warnings: [String] = []
        XCTAssertThrowsError(try TrainWorkflow(options, events: WorkflowEvents(warning: { warnings.append($0) }))) { error in
            guard case WorkflowError.failed(let message)? = error as? WorkflowError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("nothing is trained"), message)
        }
        XCTAssertTrue(warnings.contains { $0.contains("bad.csv:4") && $0.contains("unknown_label") }, "\(warnings)")   // file:line, as manifest validate prints it
        XCTAssertFalse(FileManager.default.fileExists(atPath: run))
    }

    // MARK: evaluate: without a catalog option, the run's own catalog is used
    func testEvaluateUsesTheRunsCatalog() throws {
        let f = try Self.fixture()
        var options = EvaluateWorkflow.Options(runDirectory: f.run)
        options.bootstrap = 0
        options.noPixelCheck = true
        options.output = f.work.appendingPathComponent("eval").path
        var warnings: [String] = []
        let result = try EvaluateWorkflow(options, events: WorkflowEvents(warning: { warnings.append($0) })).run()
        XCTAssertEqual(result.report?.evaluatedSplit, "test")
        XCTAssertNil(result.multiclassReport)
        XCTAssertEqual(result.folder.path, options.output)
        for name in ["evaluation.json", "studies.csv", "frames.csv", "evaluation.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: result.folder.appendingPathComponent(name).path), name)
        }
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
    }

    // MARK: evaluate: a split the run does not have is a failure naming the run's splits
    func testEvaluateUnknownSplitFails() throws {
        let f = try Self.fixture()
        var options = EvaluateWorkflow.Options(runDirectory: f.run)
        options.split = "tset"
        options.noPixelCheck = true
        XCTAssertThrowsError(try EvaluateWorkflow(options).run()) { error in
            XCTAssertTrue("\(error)".contains("no image in split 'tset'") && "\(error)".contains("train"), "\(error)")
        }
    }

    // MARK: predict: without inputs, every image of the run's catalog; one report per study
    func testPredictWithoutInputsUsesTheRunsCatalog() throws {
        let f = try Self.fixture()
        let output = f.work.appendingPathComponent("reports").path
        let result = try PredictWorkflow(PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: output)).run()
        XCTAssertEqual(result.reports.count + result.failed.count, 40)
        XCTAssertEqual(result.studies, 40)
        XCTAssertEqual(result.model, PredictionModel(card: result.card))
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/predictions.csv"))
        for report in result.reports {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/\(report.studyKey).json"))
        }
    }

    // MARK: predict: a preprocessing option that differs from the model card is refused, naming it
    func testPredictRefusesAnotherPreprocessing() throws {
        let f = try Self.fixture()
        var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [f.catalog], output: f.work.appendingPathComponent("refused").path)
        options.preprocessing.size = 224
        XCTAssertThrowsError(try PredictWorkflow(options).run()) { error in
            guard case WorkflowError.invalidInput(let message)? = error as? WorkflowError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("--size 224") && message.contains("size 64"), message)
        }
    }

    // MARK: preview: source and input pictures per selected frame, a contact sheet and preview.json per study
    func testPreviewWritesPicturesPerFrameAndStudy() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-preview-wf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try PreviewWorkflow(.init(inputs: [RepositoryPaths.sampleStudies.path], output: out.path,
                                               config: PreprocessConfig(frames: .first, size: 64))).run()
        XCTAssertEqual(result.instances, 57)
        XCTAssertEqual(result.frames, 57, "one frame (the first) per instance")
        XCTAssertEqual(result.studies, 40)
        let studies = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("study-") }
        XCTAssertEqual(studies.count, 40)
        for study in studies {
            let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(study).path)
            XCTAssertTrue(files.contains("contact-sheet.png") && files.contains("preview.json"), "\(files)")
            XCTAssertTrue(files.contains { $0.hasSuffix("-source.png") } && files.contains { $0.hasSuffix("-input.png") }, "\(files)")
        }
        XCTAssertThrowsError(try PreviewWorkflow(.init(inputs: [out.appendingPathComponent("empty").path], output: out.path,
                                                       config: PreprocessConfig())).run())
    }

    // MARK: Ultrasound regions that overhang the image are not trusted
    // A SampleStudies cine loop (320 x 240) whose tissue region is rewritten by dcmodify as if for
    // a 400 x 300 acquisition (columns 30...399, rows 32...299): clamping would keep columns
    // 30...319 and rows 32...239 of the wrong picture. Preview must warn naming the file and the
    // region, and record the `auto` crop and the warning in preview.json.
    func testPreviewDistrustsARegionOutsideTheImage() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-preview-region-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let input = work.appendingPathComponent("in"), out = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let file = input.appendingPathComponent("cine.dcm")
        try FileManager.default.copyItem(at: RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P8D6FE8/S1/IM000001"), to: file)
        try DCMTKTools.run("dcmodify", ["-nb", "-m", "(0018,6011)[0].(0018,601c)=399", "-m", "(0018,6011)[0].(0018,601e)=299", file.path])
        var warnings: [String] = []
        let config = PreprocessConfig(frames: .first, crop: .regions, size: 64)
        _ = try PreviewWorkflow(.init(inputs: [input.path], output: out.path, config: config),
                                events: WorkflowEvents(warning: { warnings.append($0) })).run()
        let named = warnings.filter { $0.hasPrefix(file.path + ": ") && $0.contains("region #1") && $0.contains("columns 30...399") }
        XCTAssertEqual(named.count, 1, "\(warnings)")
        let study = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasPrefix("study-") })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(study).appendingPathComponent("preview.json"))) as? [String: Any]
        let crop = try XCTUnwrap(((json?["instances"] as? [[String: Any]])?.first)?["crop"] as? [String: Any])
        XCTAssertEqual(crop["source"] as? String, "auto")
        XCTAssertTrue((crop["warnings"] as? [String] ?? []).contains { $0.contains("does not fit inside the 320 x 240 image") }, "\(crop)")
        let box = try XCTUnwrap(crop["box"] as? [String: Int])
        XCTAssertNotEqual(box, ["x": 30, "y": 32, "width": 290, "height": 208], "the clamped region must not be the crop")

        // Training reads the same from the headers: printed with the path, recorded for the
        // model card by instance pseudonym (the untouched file beside it gives nothing).
        let good = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/PC1BAD4/S1/IM000001").path
        var trainWarnings: [String] = []
        let recorded = TrainWorkflow.untrustedRegions(inFiles: [good, file.path, file.path],
                                                      events: WorkflowEvents(warning: { trainWarnings.append($0) }))
        XCTAssertEqual(trainWarnings.count, 1, "\(trainWarnings)")
        XCTAssertTrue(trainWarnings.first?.hasPrefix(file.path + ": ultrasound region #1") ?? false, "\(trainWarnings)")
        XCTAssertEqual(recorded.count, 1)
        XCTAssertTrue(recorded.first?.hasPrefix("inst-") ?? false, "\(recorded)")
        XCTAssertFalse(recorded.first?.contains(file.path) ?? true, "no path in the model card")
    }

    // MARK: studiesCompleted[k]: studies whose instances are all among the first k (sorted by study)
    func testStudiesCompleted() {
        XCTAssertEqual(PredictWorkflow.studiesCompleted(after: ["a", "a", "b", "c", "c"]), [0, 0, 1, 2, 2, 3])
        XCTAssertEqual(PredictWorkflow.studiesCompleted(after: []), [0])
    }

    // MARK: demo: the steps as typed options and as the command lines a user would type
    func testDemoPlan() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-demo-plan-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var options = DemoWorkflow.Options()
        options.output = output
        options.samples = RepositoryPaths.sampleStudies.path
        let demo = try DemoWorkflow(options)
        XCTAssertEqual(demo.ingest.options.catalog, output + "/catalog.sqlite")
        XCTAssertEqual(demo.split.options.provenance, "sonokit manifest split ratios=0.6,0.2,0.2 seed=7 group=patient_id stratify=label")
        XCTAssertEqual(demo.train.options.config.network.architecture, demo.hasImageNet ? .vgg16 : .small)
        XCTAssertTrue(demo.train.commandLine.hasPrefix("train \(options.samples!)/labels.csv --catalog \(output)/catalog.sqlite"), demo.train.commandLine)
        XCTAssertEqual(demo.evaluate.options.catalog, demo.catalog)
        XCTAssertEqual([demo.ingest.number, demo.validate.number, demo.split.number, demo.train.number, demo.evaluate.number], [1, 2, 3, 4, 5])

        XCTAssertNil(demo.generate)

        var missing = DemoWorkflow.Options()
        missing.samples = "/nonexistent"
        XCTAssertThrowsError(try DemoWorkflow(missing)) { XCTAssertTrue("\($0)".contains("/nonexistent/labels.csv"), "\($0)") }
    }

    /// Without --samples the demo first generates its cohort under <output>/cohort and runs on it.
    func testDemoPlanOnAGeneratedCohort() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-demo-cohort-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var options = DemoWorkflow.Options()
        options.output = output
        options.cohortPatients = 120
        options.cohortSeed = 3
        let demo = try DemoWorkflow(options)
        let generate = try XCTUnwrap(demo.generate)
        XCTAssertEqual(generate.number, 1)
        XCTAssertEqual(generate.commandLine, "synth -o \(output)/cohort --patients 120 --seed 3")
        XCTAssertEqual(generate.options.parameters, CohortParameters(patients: 120, seed: 3, classes: ["benign", "malignant"], positive: "malignant"))
        XCTAssertEqual(demo.export, output + "/cohort")
        XCTAssertEqual(demo.labels, output + "/cohort/labels.csv")
        XCTAssertEqual(demo.ingest.commandLine, "ingest \(output)/cohort --catalog \(output)/catalog.sqlite")
        XCTAssertEqual([demo.ingest.number, demo.validate.number, demo.split.number, demo.train.number, demo.evaluate.number], [2, 3, 4, 5, 6])
        var none = options
        none.cohortPatients = 0
        XCTAssertThrowsError(try DemoWorkflow(none)) { XCTAssertTrue("\($0)".contains("--patients"), "\($0)") }
    }
}
