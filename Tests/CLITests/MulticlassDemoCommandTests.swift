import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit demo --task multiclass --samples SampleStudies` end to end as the binary runs it:
/// SampleStudies' three ordered classes (labels-multiclass.csv) through ingest, validate, split,
/// train (small), evaluate and predict with HTML and SRs; then `predict` again with standard codes
/// and the per-class thresholds of an evaluation, and the refusals of the other task's options.
final class MulticlassDemoCommandTests: XCTestCase {
    static let classes = ["benign", "small-mass", "large-mass"]
    nonisolated(unsafe) static var work: URL!
    nonisolated(unsafe) static var demo: SonoKitCommand.Result!

    override class func setUp() {
        super.setUp()
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-mc-demo-\(UUID().uuidString)")
        demo = try? SonoKitCommand.run(["demo", "--task", "multiclass", "--model", "small", "-o", work.appendingPathComponent("demo").path,
                                        "--samples", RepositoryPaths.sampleStudies.path])
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    var root: URL { Self.work.appendingPathComponent("demo") }

    func testTheDemoRunsTheWholeMulticlassPath() throws {
        let r = try XCTUnwrap(Self.demo)
        XCTAssertEqual(r.status, 0, r.stderr)
        // The declaration comes from labels-multiclass.csv's own first line.
        XCTAssertTrue(r.stdout.contains("manifest validate \(RepositoryPaths.sampleStudies.path)/labels-multiclass.csv"), r.stdout)
        XCTAssertTrue(r.stdout.contains("multi-class task (3 classes, ordinal)"), r.stdout)
        // The closing table has the multi-class rows.
        for row in ["Demo summary", "macro AUC (one-vs-rest)", "balanced accuracy", "kappa (quadratic)"] {
            XCTAssertTrue(r.stdout.contains(row), "\(row) in the demo summary:\n\(r.stdout)")
        }
        // Every output says its task.
        let card = try String(contentsOf: root.appendingPathComponent("run/model-card.json"), encoding: .utf8)
        XCTAssertTrue(card.replacingOccurrences(of: " ", with: "").contains("\"task\":\"multiclass\""), card)
        let evaluation = try Data(contentsOf: root.appendingPathComponent("run/eval-test/evaluation.json"))
        XCTAssertTrue(String(decoding: evaluation, as: UTF8.self).replacingOccurrences(of: " ", with: "").contains("\"task\":\"multiclass\""))
        XCTAssertNoThrow(try SchemaValidator.validate(evaluation, against: "evaluation-report.schema.json"))
        let reports = root.appendingPathComponent("reports")
        let jsons = try FileManager.default.contentsOfDirectory(at: reports, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        XCTAssertFalse(jsons.isEmpty)
        for file in jsons {
            let data = try Data(contentsOf: file)
            XCTAssertNoThrow(try SchemaValidator.validate(data, against: "prediction-report.schema.json"), file.lastPathComponent)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(object["task"] as? String, "multiclass")
            let probabilities = try XCTUnwrap(object["class_probabilities"] as? [[String: Any]])
            XCTAssertEqual(probabilities.compactMap { $0["class"] as? String }, Self.classes)
            let sum = probabilities.compactMap { $0["probability"] as? Double }.reduce(0, +)
            XCTAssertEqual(sum, 1, accuracy: 1e-6, "study probabilities sum to 1")
        }
        let csv = try String(contentsOf: reports.appendingPathComponent("predictions.csv"), encoding: .utf8)
        let header = try XCTUnwrap(csv.split(separator: "\n").first)
        XCTAssertTrue(header.hasSuffix("task,predicted_class,probability_benign,probability_small_mass,probability_large_mass"), String(header))
        // evaluate's CSVs state the task and name the class columns as predictions.csv does ("small-mass" -> probability_small_mass).
        for name in ["studies.csv", "frames.csv"] {
            let evaluated = try String(contentsOf: root.appendingPathComponent("run/eval-test/\(name)"), encoding: .utf8).split(separator: "\n")
            XCTAssertTrue(evaluated[0].hasSuffix(",task,probability_benign,probability_small_mass,probability_large_mass")
                || evaluated[0].hasSuffix(",task,prediction,probability_benign,probability_small_mass,probability_large_mass"), "\(name): \(evaluated[0])")
            XCTAssertTrue(evaluated.dropFirst().allSatisfy { $0.contains(",multiclass,") }, name)
        }
        XCTAssertEqual(csv.split(separator: "\n").count, jsons.count + 1)
        // Every SR passes dciodvfy without an error.
        let srs = try FileManager.default.contentsOfDirectory(at: reports.appendingPathComponent("sr"), includingPropertiesForKeys: nil)
        XCTAssertEqual(srs.count, jsons.count)
        let verdict = try DCMTKTools.dciodvfy(try XCTUnwrap(srs.first).path)
        XCTAssertFalse(verdict.split(separator: "\n").contains { $0.hasPrefix("Error") }, verdict)
    }

    /// predict with --class-codes puts the user's codes in the SR (read back with dsrdump), and
    /// --class-thresholds takes the per-class thresholds of `evaluate --threshold youden`.
    func testClassCodesAndPerClassThresholds() throws {
        XCTAssertEqual(try XCTUnwrap(Self.demo).status, 0)
        let run = root.appendingPathComponent("run").path, catalog = root.appendingPathComponent("catalog.sqlite").path
        let codes = Self.work.appendingPathComponent("codes.csv")
        try Data("""
            class,code_value,coding_scheme_designator,code_meaning
            benign,108369006,SCT,Neoplasm (benign)
            large-mass,86049000,SCT,Malignant neoplasm
            """.utf8).write(to: codes)
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/PC1BAD4").path
        let coded = Self.work.appendingPathComponent("coded")
        let p = try SonoKitCommand.run(["predict", run, study, "-o", coded.path, "--sr", "--class-codes", codes.path])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stderr.contains("'small-mass' is coded in SonoKit's private scheme"), p.stderr)
        let sr = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: coded.appendingPathComponent("sr").path).first)
        let dump = try DCMTKTools.run("dsrdump", [coded.appendingPathComponent("sr/\(sr)").path])
        XCTAssertTrue(dump.contains("(108369006,SCT,\"Neoplasm (benign)\")") && dump.contains("(86049000,SCT,\"Malignant neoplasm\")"), dump)
        XCTAssertTrue(dump.contains("99SONOKIT"), "the unmapped class falls back to the private scheme: \(dump)")

        let evaluation = Self.work.appendingPathComponent("eval-thresholds")
        let e = try SonoKitCommand.run(["evaluate", run, "--catalog", catalog, "--threshold", "youden", "--bootstrap", "0", "-o", evaluation.path])
        XCTAssertEqual(e.status, 0, e.stderr)
        let moved = Self.work.appendingPathComponent("moved")
        let t = try SonoKitCommand.run(["predict", run, study, "-o", moved.path, "--class-thresholds", evaluation.appendingPathComponent("evaluation.json").path])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("decision: per-class thresholds (youden fitted on the validation split)"), t.stdout)
        let json = try XCTUnwrap(FileManager.default.contentsOfDirectory(at: moved, includingPropertiesForKeys: nil).first { $0.pathExtension == "json" })
        let decision = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])?["decision"] as? [String: Any])
        XCTAssertEqual((decision["thresholds"] as? [Any])?.count, 3)
    }

    /// An evaluation that decided by argmax fitted no thresholds: refused as their source, with
    /// what to run instead (a binary run refusing --class-thresholds: PredictCommandTests).
    func testAnArgmaxEvaluationIsNoSourceOfThresholds() throws {
        XCTAssertEqual(try XCTUnwrap(Self.demo).status, 0)
        let run = root.appendingPathComponent("run").path
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/PC1BAD4").path
        let argmaxEvaluation = root.appendingPathComponent("run/eval-test/evaluation.json").path
        let r = try SonoKitCommand.run(["predict", run, study, "-o", Self.work.appendingPathComponent("x").path, "--class-thresholds", argmaxEvaluation])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("decided by argmax and fitted no thresholds"), r.stderr)
    }

    /// `export --check` of the multi-class run: a (N, 3) softmax output that ONNX Runtime computes
    /// equal to SonoKit's class probabilities (the check script compares every class), and the
    /// task in the model's metadata.
    func testExportOfAMulticlassRunIsCheckedByONNXRuntime() throws {
        XCTAssertEqual(try XCTUnwrap(Self.demo).status, 0)
        let run = root.appendingPathComponent("run").path
        let file = Self.work.appendingPathComponent("model.onnx").path
        let r = try SonoKitCommand.run(["export", run, "-o", file, "--check", "--check-input",
                                        RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/PC1BAD4").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("check: onnx.checker passed; ONNX Runtime"), r.stdout)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        for text in ["sonokit.task", "multiclass", "softmax", "Softmax"] {
            XCTAssertNotNil(bytes.range(of: Data(text.utf8)), "\(text) in the exported model")
        }
    }
}
