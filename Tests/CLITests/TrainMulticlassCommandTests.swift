import Foundation
import SonoKitCore
import SonoKitTestSupport
import Training
import XCTest

/// `sonokit train` with a multi-class declaration, as a user types it: `--task multiclass` makes
/// SampleStudies' two classes a softmax task; the command says what it trains on per class and
/// leaves a run whose card and config record the task. A `--positive` that contradicts
/// `--task multiclass` is refused before anything is read.
final class TrainMulticlassCommandTests: XCTestCase {
    func testTrainWithTaskMulticlass() throws {
        let f = try TrainCommandFixture.prepared.get()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-train-mc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = work.appendingPathComponent("run").path
        let common = [f.labels, "--catalog", f.catalogPath, "--splits", f.splitsPath, "--model", "small", "--epochs", "1", "--seed", "5",
                      "--frames", "uniform:1", "--normalize", "unit", "--size", "32", "--head-units", "8", "--no-pixel-check"]
        let refused = try SonoKitCommand.run(["train"] + common + ["--classes", "benign,malignant", "--positive", "malignant", "--task", "multiclass", "-o", run])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("drop the positive class"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "nothing written")

        let trained = try SonoKitCommand.run(["train"] + common + ["--classes", "benign,malignant", "--task", "multiclass", "-o", run])
        XCTAssertEqual(trained.status, 0, trained.stdout + trained.stderr)
        XCTAssertTrue(trained.stdout.contains("multi-class: "), trained.stdout)
        XCTAssertFalse(trained.stdout.contains("Threshold"), "argmax: no threshold is fitted")
        let loaded = try TrainedRun(directory: run)
        XCTAssertEqual(loaded.card.task, .multiclass)
        XCTAssertEqual(loaded.card.network.outputs, 2)
        XCTAssertEqual(loaded.config?.task, .multiclass)
        XCTAssertEqual(try loaded.history().columns, ["epoch", "loss", "val_loss", "val_auc", "val_acc", "lr", "seconds"])
    }
}
