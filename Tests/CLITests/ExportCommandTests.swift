import DICOM
import Foundation
import SonoKitTestSupport
import SonoKitTrainingTestSupport
import XCTest

/// `sonokit export` end to end, and the README example (scripts/onnx/example.sh: export, then
/// score one DICOM file in Python with ONNX Runtime from the model's metadata) against
/// `sonokit predict` on the same file.
final class ExportCommandTests: XCTestCase {
    var work: URL!
    var run: String!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        run = work.appendingPathComponent("run").path
        try HandSetRun.write(to: run, size: 64, crop: .regions, frames: .uniform(2))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    func testExportWithCheckOnSampleStudies() throws {
        let file = work.appendingPathComponent("model.onnx").path
        let r = try SonoKitCommand.run(["export", run, "--format", "onnx", "-o", file, "--layout", "nchw", "--opset", "13",
                                        "--check", "--check-input", RepositoryPaths.sampleStudies.appendingPathComponent("SITEA").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("ONNX opset 13, input NCHW"), r.stdout)
        XCTAssertTrue(r.stdout.contains("check: onnx.checker passed; ONNX Runtime"), r.stdout)
        XCTAssertTrue(r.stdout.contains("16 frames of"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
    }

    func testBadInputsExitNonZeroWithTheReasonAndNoFile() throws {
        let file = work.appendingPathComponent("model.onnx").path
        let cases: [([String], String)] = [
            (["export", work.appendingPathComponent("nowhere").path, "-o", file], "not a SonoKit run folder"),
            (["export", run, "-o", file, "--opset", "9"], "opset 9 is not supported"),
            (["export", run, "-o", work.appendingPathComponent("no/such/folder/m.onnx").path], "does not exist; create it first"),
            (["export", run, "-o", file, "--checkpoint", "last"], "no such checkpoint"),
            (["export", run, "-o", file, "--format", "tflite"], "tflite"),
            (["export", run, "-o", file, "--check-input", "x"], "--check-input needs --check"),
        ]
        for (arguments, message) in cases {
            let r = try SonoKitCommand.run(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), "\(arguments.joined(separator: " ")): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: file), arguments.joined(separator: " "))
        }
    }

    /// The README example gives `predict`'s frame probabilities (within 1e-5), its study
    /// probability and its label, for one SampleStudies file.
    func testReadmeExampleScoresLikePredict() throws {
        let root = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA")
        // The first multi-frame instance (so that the example aggregates several frames).
        let dicom = try XCTUnwrap((FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .sorted().map { root.appendingPathComponent($0).path }
            .first { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("IM") && ((try? DicomFile(path: $0))?.metadata.numberOfFrames ?? 0) > 1 })
        let predicted = work.appendingPathComponent("predict")
        let p = try SonoKitCommand.run(["predict", run, dicom, "-o", predicted.path])
        XCTAssertEqual(p.status, 0, p.stderr)
        let reportURL = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: predicted, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "json" })
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: reportURL)) as? [String: Any])
        let predictFrames = try XCTUnwrap(report["frames"] as? [[String: Any]])
            .map { ($0["frame_index"] as! Int, $0["probability"] as! Double) }.sorted { $0.0 < $1.0 }

        let process = Process()
        process.executableURL = RepositoryPaths.root.appendingPathComponent("scripts/onnx/example.sh")
        process.arguments = [run, dicom, work.appendingPathComponent("example").path, SonoKitCommand.executable.path]
        let e = try ChildProcess.run(process)
        XCTAssertEqual(e.status, 0, e.stderr)
        let line = try XCTUnwrap(e.stdout.split(separator: "\n").last)
        let example = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let exampleFrames = try XCTUnwrap(example["frames"] as? [[String: Any]]).map { ($0["frame"] as! Int, $0["probability"] as! Double) }
        XCTAssertEqual(exampleFrames.map(\.0), predictFrames.map(\.0))
        for (a, b) in zip(exampleFrames, predictFrames) {
            XCTAssertEqual(a.1, b.1, accuracy: 1e-5, "frame \(a.0)")
        }
        XCTAssertEqual(example["probability"] as! Double, report["probability"] as! Double, accuracy: 1e-5)
        XCTAssertEqual(example["label"] as? String, report["label"] as? String)
        print("README example: \(exampleFrames.count) frames, max |p_example - p_predict| = "
              + "\(zip(exampleFrames, predictFrames).map { abs($0.1 - $1.1) }.max() ?? 0)")
    }
}
