import Foundation
import SonoKitTestSupport
@testable import Training
import XCTest

/// `small` learning SampleStudies. (`sonokit train` end to end, killed at every write and resumed:
/// CLITests/KillPointTests; a manifest with errors refused: WorkflowsTests.)
final class SmallOnSampleStudiesTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-small-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    // MARK: small learns SampleStudies

    /// Issue 7: `small` reaches a validation AUC above 0.9 on SampleStudies (study level, 8
    /// validation studies of the demo split) in under a minute. Frames at 64x64 with flips; the
    /// AUC is the best epoch's (the checkpoint `best`), over at most 8 epochs.
    func testSmallReachesValidationAUCAbove0_9OnSampleStudies() throws {
        var config = SampleStudiesFixture.tinyConfig(architecture: .small, seed: 1, epochs: 8, size: 64, frames: .uniform(8))
        config.network = NetworkSpec(architecture: .small, inputSize: 64)
        config.batchSize = 16
        config.augmentation = [.flip]
        let trainer = try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent("small"))
        let start = Date()
        let run = try trainer.fit(resume: false)
        let seconds = Date().timeIntervalSince(start)
        let history = try String(contentsOf: RunDirectory(run.directory).history, encoding: .utf8)
        let best = history.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",", omittingEmptySubsequences: false)[3]) }.max() ?? 0
        print("small on SampleStudies: best val_auc \(best) in \(String(format: "%.1f", seconds)) s (debug build, shared machine)\n\(history)")
        XCTAssertGreaterThan(best, 0.9, history)
    }
}
