import Catalog
import DICOM
import Imaging
import Evaluation
import Foundation
import Preprocess
import SonoKitTestSupport
import Training
import XCTest
import SonoKitCore

/// `sonokit evaluate` end to end on SampleStudies/: ingest, a patient-grouped split, `sonokit
/// train` (small network, 2 epochs, 64x64 inputs: seconds), then the command as a user types it.
/// What is tested is the evaluation of whatever model a run holds, not the model's quality.
final class EvaluateCommandTests: XCTestCase {
    /// Built once for the class (ingest + split + run + one evaluation take a few seconds).
    struct Fixture {
        var work: URL
        var export: URL
        var catalog: String
        var run: URL
        var evaluateResult: SonoKitCommand.Result
        var evalFolder: URL { run.appendingPathComponent("eval-test") }
        var testStudyUIDs: Set<String>
    }

    nonisolated(unsafe) static var shared: Result<Fixture, Error>?

    static let classes = ["--classes", "benign,malignant", "--positive", "malignant"]

    static func fixture() throws -> Fixture {
        if let shared { return try shared.get() }
        let result = Result { try makeFixture() }
        shared = result
        return try result.get()
    }

    static func makeFixture() throws -> Fixture {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-evaluate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let catalog = work.appendingPathComponent("catalog.sqlite").path
        // A copy of the export, so that a test may damage a file of it.
        let export = work.appendingPathComponent("export")
        try FileManager.default.copyItem(at: RepositoryPaths.sampleStudies, to: export)
        let labels = export.appendingPathComponent("labels.csv").path
        let splits = work.appendingPathComponent("splits.csv").path
        try require(SonoKitCommand.run(["ingest", export.path, "--catalog", catalog]))
        try require(SonoKitCommand.run(["manifest", "split", labels, "--catalog", catalog] + classes
            + ["--ratios", "0.5,0.25,0.25", "--seed", "7", "-o", splits]))

        // The run: `sonokit train` as a user types it, small network, 2 epochs on 64x64 inputs (a few seconds).
        let run = work.appendingPathComponent("runs/exp1")
        try require(SonoKitCommand.run(["train", labels, "--catalog", catalog] + classes
            + ["--splits", splits, "--model", "small", "--epochs", "2", "--seed", "5", "--frames", "uniform:2", "--normalize", "unit",
               "--size", "64", "-o", run.path]))

        let evaluate = try SonoKitCommand.run(["evaluate", run.path, "--split", "test", "--catalog", catalog, "--bootstrap", "200"])

        // The test split's studies, from the manifest and the splits file (not from the command);
        // the splits file names patients by the catalog's keys.
        let testPatients = Set(try String(contentsOfFile: splits, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { $0.split(separator: ",").map(String.init) }
            .filter { $0.count == 2 && $0[1] == "test" }.map { $0[0] })
        let patientKey = try Catalog(path: catalog).pseudonymizer.patientKey
        let rows = try String(contentsOfFile: labels, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let testStudies = Set(rows.filter { testPatients.contains(patientKey($0[2])) }.map { $0[0] })
        return Fixture(work: work, export: export, catalog: catalog, run: run, evaluateResult: evaluate, testStudyUIDs: testStudies)
    }

    static func require(_ result: SonoKitCommand.Result) throws {
        guard result.status == 0 else { throw CommandError(message: "exit \(result.status): \(result.stderr)\(result.stdout)") }
    }

    struct CommandError: Error { var message: String }

    /// Set SONOKIT_KEEP_EVALUATE_FIXTURE=1 to keep the work folder (its path is printed) and look at the page.
    override class func tearDown() {
        if let fixture = try? shared?.get() {
            if ProcessInfo.processInfo.environment["SONOKIT_KEEP_EVALUATE_FIXTURE"] != nil { print("Kept \(fixture.work.path)") }
            else { try? FileManager.default.removeItem(at: fixture.work) }
        }
        super.tearDown()
    }

    func report(_ folder: URL) throws -> EvaluationReport {
        try EvaluationReport.jsonDecoder().decode(EvaluationReport.self, from: Data(contentsOf: folder.appendingPathComponent("evaluation.json")))
    }

    // MARK: The folder: every file, JSON valid against its schema, counts = the manifest's test split
    func testEvaluateWritesTheFolderAndTheSummary() throws {
        let f = try Self.fixture()
        XCTAssertEqual(f.evaluateResult.status, 0, f.evaluateResult.stderr)
        XCTAssertTrue(f.evaluateResult.stdout.contains("Study level (primary)"), f.evaluateResult.stdout)
        XCTAssertTrue(f.evaluateResult.stdout.contains("Wrote \(f.evalFolder.path)/"), f.evaluateResult.stdout)
        for name in ["evaluation.json", "studies.csv", "frames.csv", "evaluation.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: f.evalFolder.appendingPathComponent(name).path), name)
        }
        let json = try Data(contentsOf: f.evalFolder.appendingPathComponent("evaluation.json"))
        try SchemaValidator.validate(json, against: "evaluation-report.schema.json")
        let r = try report(f.evalFolder)
        XCTAssertEqual(r.evaluatedSplit, "test")
        XCTAssertEqual(r.splitLevel, "patient")
        XCTAssertEqual(r.classes, ClassNames(positive: "malignant", negative: "benign"))
        XCTAssertEqual(r.study.counts.samples, f.testStudyUIDs.count)
        XCTAssertGreaterThan(f.testStudyUIDs.count, 4)
        XCTAssertEqual(r.study.threshold.choice.fittedOn?.split, "validation")
        XCTAssertFalse(r.study.threshold.evaluatedOnFittingSplit)
        XCTAssertEqual(r.settings.bootstrapReplicates, 200)
        XCTAssertEqual(r.settings.bootstrapSeed, 5, "the run's seed")
        XCTAssertEqual(Set(r.dataCounts.map(\.split)), ["train", "validation", "test"])
        XCTAssertEqual(r.dataCounts.first { $0.split == "test" }?.studies, f.testStudyUIDs.count)
        XCTAssertEqual(r.subgroups.filter { $0.attribute == "site" }.map(\.value).sorted().isEmpty, false, "the manifest has a site column")
        XCTAssertTrue(r.run.modelId.hasPrefix("sonokit-small-"))
    }

    // MARK: studies.csv: one row per test study; frames.csv: one row per evaluated frame
    func testCSVFilesAgreeWithTheReport() throws {
        let f = try Self.fixture()
        let r = try report(f.evalFolder)
        let studies = try String(contentsOf: f.evalFolder.appendingPathComponent("studies.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(studies.first, "study_key,patient_key,label,probability,prediction,correct,frames_used,site,manufacturer")
        XCTAssertEqual(studies.count - 1, r.study.counts.samples)
        let frames = try String(contentsOf: f.evalFolder.appendingPathComponent("frames.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(frames.first, "study_key,patient_key,instance_key,frame_index,label,probability,site,manufacturer")
        XCTAssertEqual(frames.count - 1, r.frame?.counts.samples)
        let framesUsed = studies.dropFirst().map { Int($0.split(separator: ",", omittingEmptySubsequences: false)[6])! }
        XCTAssertEqual(framesUsed.reduce(0, +), frames.count - 1)
        for row in studies.dropFirst() {
            XCTAssertTrue(row.hasPrefix("S-"), "pseudonymous study key: \(row)")
            XCTAssertTrue(row.split(separator: ",")[1].hasPrefix("P-"), "pseudonymous patient key: \(row)")
        }
    }

    // MARK: The page in headless chromium: every plot and every thumbnail loads
    func testPageLoadsEveryPictureInChromium() throws {
        let f = try Self.fixture()
        let result = try HTMLBrowserCheck.check(page: f.evalFolder.appendingPathComponent("evaluation.html"))
        XCTAssertEqual(result.broken, [])
        XCTAssertEqual(result.images.filter { $0.src.hasPrefix("data:image/svg+xml") }.count, 9, "4 study plots, 4 frame plots, training curves")
        let thumbnails = result.images.filter { $0.src.hasPrefix("thumbnails/") }
        let r = try report(f.evalFolder)
        let cases = (r.failureAnalysis?.falsePositives.count ?? 0) + (r.failureAnalysis?.falseNegatives.count ?? 0)
        XCTAssertGreaterThan(cases, 0, "a network trained for 2 epochs on 20 studies gets some studies wrong")
        XCTAssertGreaterThanOrEqual(thumbnails.count, cases)
        for t in thumbnails { XCTAssertEqual([t.width, t.height], [64, 64], "the run's network input size") }
    }

    // MARK: A thumbnail is the frame the model scored: its pixels = the run's preprocessing of that frame, and the
    // network's probability of those pixels = the frames.csv probability of (instance, frame)
    func testThumbnailsAreTheFramesTheModelScored() throws {
        let f = try Self.fixture()
        let run = try TrainedRun(directory: f.run.path)
        let folder = f.evalFolder.appendingPathComponent("thumbnails")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertGreaterThan(names.count, 0)
        // frames.csv: instance_key|frame_index -> probability
        var probability: [String: Double] = [:]
        for row in try String(contentsOf: f.evalFolder.appendingPathComponent("frames.csv"), encoding: .utf8).split(separator: "\n").dropFirst() {
            let c = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            probability["\(c[2])|\(c[3])"] = Double(c[5])
        }
        // SampleStudies files by the instance key (pseudonym of the SOP Instance UID).
        var fileByInstance: [String: String] = [:]
        let root = RepositoryPaths.sampleStudies.path
        for name in try XCTUnwrap(FileManager.default.subpaths(atPath: root)) where name.contains("/IM") {
            if let file = try? DicomFile(path: root + "/" + name) {
                fileByInstance[Pseudonym.unkeyed(file.metadata.sopInstanceUID)] = root + "/" + name
            }
        }
        for name in names.prefix(3) {
            // S-<study>-<instance>-f<frame>.png
            let parts = name.dropLast(4).split(separator: "-")
            let instance = String(parts[parts.count - 2]), frameIndex = Int(parts[parts.count - 1].dropFirst())!
            let path = try XCTUnwrap(fileByInstance[instance], name)
            let frame = try XCTUnwrap(try run.preprocessor.process(try DicomFile(path: path)).frames.first { $0.frameIndex == frameIndex })
            XCTAssertEqual(try PNGFile.read(folder.appendingPathComponent(name).path), frame.image, name)
            let p = try XCTUnwrap(probability["\(instance)|\(frameIndex)"], name)
            XCTAssertEqual(Double(try run.probabilities(of: [frame])[0]), p, accuracy: 1e-6, name)
        }
    }

    // MARK: PHI: no patient name, ID, birth date, accession, UID or source path in any file or file name
    func testNoPatientIdentifiersInOutputs() throws {
        let f = try Self.fixture()
        var probes = try SampleIdentifiers.values()
        XCTAssertGreaterThan(probes.count, 20)
        probes.formUnion(f.testStudyUIDs)
        probes.insert("SampleStudies")
        probes.insert(f.export.path)
        let root = f.evalFolder.path
        let names = try XCTUnwrap(FileManager.default.subpaths(atPath: root))
        XCTAssertGreaterThan(names.count, 5)
        for name in names {
            for probe in probes { XCTAssertFalse(name.contains(probe), "file name \(name) contains \(probe)") }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isFolder), !isFolder.boolValue, !name.hasSuffix(".png") else { continue }
            let text = try String(contentsOfFile: root + "/" + name, encoding: .utf8)
            for probe in probes { XCTAssertFalse(text.contains(probe), "\(name) contains \(probe)") }
        }
        for probe in probes { XCTAssertFalse(f.evaluateResult.stdout.contains(probe), "the summary contains \(probe)") }
    }

    // MARK: Evaluating the split the threshold is fitted on is flagged
    func testValidationSplitIsFlagged() throws {
        let f = try Self.fixture()
        let out = f.work.appendingPathComponent("eval-validation")
        let result = try SonoKitCommand.run(["evaluate", f.run.path, "--split", "validation", "--catalog", f.catalog, "--bootstrap", "0",
                                             "--aggregate", "max", "--threshold", "sensitivity=0.9", "-o", out.path, "--no-pixel-check"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("EVALUATED ON ITS FITTING SPLIT"), result.stdout)
        let r = try report(out)
        XCTAssertTrue(r.study.threshold.evaluatedOnFittingSplit)
        XCTAssertEqual(r.settings.aggregation, .max)
        XCTAssertEqual(r.study.threshold.choice.rule, .targetSensitivity(0.9))
        XCTAssertTrue(r.warnings.contains { $0.contains("fitted on the evaluated split 'validation'") })
        let html = try String(contentsOf: out.appendingPathComponent("evaluation.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("This split is the one the threshold was fitted on"))
    }

    // MARK: A file that cannot be read is one failure, listed by its pseudonymous instance key; the rest is evaluated
    func testUnreadableFileIsListedAndTheRestEvaluated() throws {
        let f = try Self.fixture()
        var victim: (path: String, sop: String)?
        for name in try XCTUnwrap(FileManager.default.subpaths(atPath: f.export.path)).sorted() where name.contains("/IM") {
            if let file = try? DicomFile(path: f.export.path + "/" + name), f.testStudyUIDs.contains(file.metadata.studyInstanceUID) {
                victim = (f.export.path + "/" + name, file.metadata.sopInstanceUID)
                break
            }
        }
        let (path, sop) = try XCTUnwrap(victim)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        try original.prefix(300).write(to: URL(fileURLWithPath: path))
        let out = f.work.appendingPathComponent("eval-damaged")
        let result = try SonoKitCommand.run(["evaluate", f.run.path, "--catalog", f.catalog, "--bootstrap", "0", "--no-pixel-check", "-o", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains(path), "the terminal names the file: \(result.stderr)")
        let r = try report(out)
        XCTAssertTrue(r.warnings.contains { $0.hasPrefix("1 instance(s) could not be read") }, "\(r.warnings)")
        let html = try String(contentsOf: out.appendingPathComponent("evaluation.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Frames that could not be evaluated (1)"))
        XCTAssertTrue(html.contains(Pseudonym.unkeyed(sop)), "listed by instance key")
        XCTAssertFalse(html.contains(f.export.path), "no file path in the page")
        let full = try report(f.evalFolder)
        XCTAssertLessThan(r.frame?.counts.samples ?? 0, full.frame?.counts.samples ?? 0)
    }

    // MARK: Evaluating the split the model was trained on is flagged
    func testTrainingSplitIsFlagged() throws {
        let f = try Self.fixture()
        let out = f.work.appendingPathComponent("eval-train")
        let result = try SonoKitCommand.run(["evaluate", f.run.path, "--split", "train", "--catalog", f.catalog, "--bootstrap", "0",
                                             "-o", out.path, "--no-pixel-check"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("WARNING: The model was trained on the evaluated split 'train'"), result.stdout)
        XCTAssertTrue(try report(out).warnings.contains { $0.hasPrefix("The model was trained on the evaluated split 'train'") })
        XCTAssertFalse(try report(f.evalFolder).warnings.contains { $0.contains("trained on the evaluated split") })
    }

    // MARK: Bad input: a clear error naming the option, the split or the file
    func testBadInputsAreNamed() throws {
        let f = try Self.fixture()
        let badRule = try SonoKitCommand.run(["evaluate", f.run.path, "--catalog", f.catalog, "--threshold", "median"])
        XCTAssertNotEqual(badRule.status, 0)
        XCTAssertTrue(badRule.stderr.contains("--threshold"), badRule.stderr)
        let badSplit = try SonoKitCommand.run(["evaluate", f.run.path, "--catalog", f.catalog, "--split", "tset", "--no-pixel-check"])
        XCTAssertNotEqual(badSplit.status, 0)
        XCTAssertTrue(badSplit.stderr.contains("no image in split 'tset'") && badSplit.stderr.contains("train"), badSplit.stderr)
        let noRun = try SonoKitCommand.run(["evaluate", f.work.appendingPathComponent("nothing").path, "--catalog", f.catalog])
        XCTAssertNotEqual(noRun.status, 0)
        XCTAssertTrue(noRun.stderr.contains("model-card.json"), noRun.stderr)
    }

    // MARK: Without --catalog, evaluate uses the catalog the run's config.json records
    // Guards the fallback that once read a key train never wrote (and so always failed).
    func testTheRunsCatalogIsUsedWithoutCatalogOption() throws {
        let f = try Self.fixture()
        let config = try String(contentsOf: f.run.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"catalog\" : \"\(URL(fileURLWithPath: f.catalog).standardizedFileURL.path)\""), config)
        let out = f.work.appendingPathComponent("eval-without-catalog-option")
        let result = try SonoKitCommand.run(["evaluate", f.run.path, "--bootstrap", "0", "--no-pixel-check", "-o", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("evaluation.json").path))
        // A run that records no catalog (written before it was recorded) still asks for --catalog.
        let old = f.work.appendingPathComponent("runs/without-catalog")
        try? FileManager.default.removeItem(at: old)
        try FileManager.default.copyItem(at: f.run, to: old)
        let configFile = old.appendingPathComponent("config.json")
        let lines = try String(contentsOf: configFile, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try lines.filter { !$0.hasPrefix("  \"catalog\" :") }.joined(separator: "\n").write(to: configFile, atomically: true, encoding: .utf8)
        let noCatalog = try SonoKitCommand.run(["evaluate", old.path, "--bootstrap", "0", "--no-pixel-check", "-o", out.path])
        XCTAssertNotEqual(noCatalog.status, 0)
        XCTAssertTrue(noCatalog.stderr.contains("--catalog"), noCatalog.stderr)
    }

    // MARK: The run's manifest copy is validated as `manifest validate` does: a bad row stops the evaluation
    func testInvalidManifestCopyIsRefused() throws {
        let f = try Self.fixture()
        let copy = f.work.appendingPathComponent("runs/tampered")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: f.run, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("eval-test"))
        let manifest = RunDirectory(copy.path).manifestCopy
        let lines = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").map(String.init)
        // The copy starts with '#' lines (classes, provenance), then the header, then the rows.
        let firstRow = try XCTUnwrap(lines.firstIndex { !$0.hasPrefix("#") }) + 1
        var fields = lines[firstRow].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[1] = "cystic"
        try ((lines + [fields.joined(separator: ",")]).joined(separator: "\n") + "\n").write(to: manifest, atomically: true, encoding: .utf8)
        let result = try SonoKitCommand.run(["evaluate", copy.path, "--catalog", f.catalog, "--no-pixel-check"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("manifest.csv:\(lines.count + 1): error [unknown_label]"), result.stderr)
        XCTAssertTrue(result.stderr.contains("nothing evaluated"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy.appendingPathComponent("eval-test").path), "no output for a refused manifest")
    }

}
