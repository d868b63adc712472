import Foundation
import ModelExport
import SonoKitTestSupport
import SonoKitTrainingTestSupport
import Workflows
import XCTest

/// `ExportWorkflow` as the command calls it: the file, the check's measurements, and which
/// errors are the user's input (shown with the usage) and which are failures.
final class ExportWorkflowTests: XCTestCase {
    var work: URL!
    var run: String!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-export-workflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        run = work.appendingPathComponent("run").path
        try HandSetRun.write(to: run, size: 64, crop: .auto, frames: .uniform(2))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    func testExportAndCheckOnSampleStudiesAndOnRandomPictures() throws {
        var options = ExportWorkflow.Options(run: run, output: work.appendingPathComponent("m.onnx").path)
        options.check = true
        options.checkInputs = [RepositoryPaths.sampleStudies.appendingPathComponent("SITEA").path]
        options.checkFrameCount = 6
        let result = try ExportWorkflow(options).run()
        XCTAssertEqual(result.check?.frames, 6)
        XCTAssertLessThanOrEqual(try XCTUnwrap(result.check?.maxAbsDifference), 1e-5)
        XCTAssertTrue(result.checkFrames?.hasPrefix("6 frames of") ?? false, result.checkFrames ?? "nil")
        XCTAssertEqual(result.bytes, try FileManager.default.attributesOfItem(atPath: result.file.path)[.size] as? Int)

        options.checkInputs = []
        options.layout = .nchw
        options.output = work.appendingPathComponent("m-nchw.onnx").path
        let random = try ExportWorkflow(options).run()
        XCTAssertEqual(random.checkFrames, "6 seeded random pictures")
        XCTAssertLessThanOrEqual(try XCTUnwrap(random.check?.maxAbsDifference), 1e-5)
    }

    /// A run trained by a SonoKit with another preprocessing algorithm version (its card's hash is
    /// not this SonoKit's hash of the same options) exports with a warning naming both hashes, and
    /// the check reports the mismatch instead of hiding it.
    func testPreprocessingDriftIsWarnedAndReported() throws {
        let cardURL = URL(fileURLWithPath: run).appendingPathComponent("model-card.json")
        var card = try JSONSerialization.jsonObject(with: Data(contentsOf: cardURL)) as! [String: Any]
        card["preprocess_hash"] = String(repeating: "ab", count: 32)
        try JSONSerialization.data(withJSONObject: card).write(to: cardURL)
        var warnings: [String] = []
        var options = ExportWorkflow.Options(run: run, output: work.appendingPathComponent("m.onnx").path)
        options.check = true
        options.checkFrameCount = 2
        let result = try ExportWorkflow(options, events: WorkflowEvents(warning: { warnings.append($0) })).run()
        XCTAssertEqual(result.check?.preprocessHashMatches, false)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.contains("recorded preprocessing hash abababababab…") ?? false, "\(warnings)")

        let fresh = work.appendingPathComponent("fresh").path
        try HandSetRun.write(to: fresh, size: 64, crop: .auto, frames: .uniform(2))
        options.run = fresh
        XCTAssertEqual(try ExportWorkflow(options).run().check?.preprocessHashMatches, true)
    }

    func testErrorsAreInvalidInputOrFailure() throws {
        func error(_ change: (inout ExportWorkflow.Options) -> Void) -> WorkflowError? {
            var options = ExportWorkflow.Options(run: run, output: work.appendingPathComponent("m.onnx").path)
            change(&options)
            do { _ = try ExportWorkflow(options).run(); return nil } catch { return error as? WorkflowError }
        }
        guard case .invalidInput(let m1)? = error({ $0.run = "/nowhere" }) else { return XCTFail("missing run") }
        XCTAssertTrue(m1.contains("/nowhere: not a SonoKit run folder"), m1)
        guard case .invalidInput(let m2)? = error({ $0.opset = 22 }) else { return XCTFail("opset 22") }
        XCTAssertTrue(m2.contains("opset 22"), m2)
        guard case .failed(let m3)? = error({ $0.output = "/nowhere/m.onnx" }) else { return XCTFail("missing folder") }
        XCTAssertTrue(m3.contains("/nowhere/m.onnx: cannot write"), m3)
        guard case .invalidInput(let m4)? = error({ $0.check = true; $0.checkInputs = [self.work.path] }) else { return XCTFail("no frames") }
        XCTAssertTrue(m4.contains("no DICOM image frames"), m4)
    }
}
