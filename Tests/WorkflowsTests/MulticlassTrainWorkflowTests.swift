import Catalog
import Foundation
import Manifest
import Preprocess
import SonoKitCore
import Synthesis
import Training
import Workflows
import XCTest

/// `synth` -> `ingest` -> `manifest split` -> `train` on three classes the synthetic images really
/// differ by (normal: no lesion; cyst and solid: two lesion looks, see `CohortPlan.lesionKinds`),
/// declared without a positive class: a multi-class run end to end.
final class MulticlassTrainWorkflowTests: XCTestCase {
    func testThreeClassCohortTrainsEndToEnd() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-mc-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let cohort = work.appendingPathComponent("cohort").path
        let classNames = ["normal", "cyst", "solid"]
        _ = try SynthWorkflow(.init(output: cohort, parameters: CohortParameters(patients: 30, seed: 1, classes: classNames))).run()
        let catalog = work.appendingPathComponent("catalog.sqlite").path
        _ = try IngestWorkflow(.init(folders: [cohort], catalog: catalog)).run()

        let classes = try ClassDeclaration(classes: classNames, positive: nil, task: nil)
        XCTAssertEqual(classes.task, .multiclass)
        let labels = cohort + "/labels.csv"
        let input = ManifestInput(manifest: labels, catalog: catalog, classes: classes, noPixelCheck: true)
        let splits = work.appendingPathComponent("splits.csv").path
        let split = try ManifestWorkflow.split(.init(input: input, plan: try SplitPlan.ratios([0.6, 0.2, 0.2]).validated(),
                                                     planText: "ratios=0.6,0.2,0.2", seed: 3, output: splits))
        guard case .written(let summary, _, _) = split else { return XCTFail("not written: \(split)") }
        XCTAssertEqual(summary.task, .multiclass)
        for row in summary.splits { XCTAssertTrue(row.studiesPerClass.allSatisfy { $0 > 0 }, "every class in \(row.name): \(row.studiesPerClass)") }

        let preprocess = PreprocessConfig(frames: .uniform(2), normalize: .unit, size: 64)
        var config = TrainingConfig(network: NetworkSpec(architecture: .small, headUnits: 16, widths: [8, 16, 32], inputSize: 64), preprocess: preprocess)
        config.epochs = 8
        config.batchSize = 16
        config.learningRate = 3e-3
        config.seed = 2
        let run = work.appendingPathComponent("run").path
        var options = TrainWorkflow.Options(manifest: input, splits: splits, config: config, runDirectory: run)
        options.frameCache = work.appendingPathComponent("frame-cache").path
        let training = try TrainWorkflow(options)
        XCTAssertEqual(training.config.task, .multiclass)
        XCTAssertEqual(training.config.network.outputs, 3)
        XCTAssertEqual(training.config.positiveClass, "")
        XCTAssertEqual(Set(training.data.train.map(\.classIndex)), [0, 1, 2])
        let result = try training.run()

        let card = result.run.card
        XCTAssertEqual(card.task, .multiclass)
        XCTAssertEqual(card.classes, classNames)
        XCTAssertNil(card.threshold, "argmax: no threshold")
        let history = try result.run.history()
        XCTAssertEqual(history.columns, ["epoch", "loss", "val_loss", "val_auc", "val_acc", "lr", "seconds"])
        let loss = history.series("loss").map(\.1)
        XCTAssertLessThan(loss.last!, loss.first! * 0.9, "the training loss falls: \(loss)")
        let auc = history.series("val_auc").map(\.1)
        XCTAssertEqual(auc.count, 8, "a macro AUC every epoch")
        XCTAssertGreaterThan(auc.max()!, 0.7, "validation macro one-vs-rest AUC above chance (0.5): \(auc)")
        let configText = try String(contentsOf: RunDirectory(run).config, encoding: .utf8)
        XCTAssertTrue(configText.contains("\"task\" : \"multiclass\"") || configText.contains("\"task\":\"multiclass\""), configText)
        let copy = try String(contentsOf: RunDirectory(run).manifestCopy, encoding: .utf8)
        XCTAssertTrue(copy.hasPrefix("# classes: normal,cyst,solid; task: multiclass\n"), String(copy.prefix(120)))
    }
}
