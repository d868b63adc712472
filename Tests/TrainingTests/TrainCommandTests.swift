import Foundation
import SonoKitTestSupport
@testable import Training
import XCTest

/// `sonokit train` end to end: refusal of a manifest with errors, and `small` learning
/// SampleStudies.
final class TrainCommandTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-traincmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    // MARK: Nothing is trained on bad labels

    /// Guards the first rule of issue 7: the manifest is validated (as `manifest validate` does)
    /// before anything is trained, and a manifest with errors leaves no run directory.
    func testAManifestWithErrorsIsRefusedNamingTheLine() throws {
        let p = try SampleStudiesFixture.prepared.get()
        var lines = try String(contentsOfFile: p.labels, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[3] = lines[3].replacingOccurrences(of: ",malignant,", with: ",maybe,").replacingOccurrences(of: ",benign,", with: ",maybe,")
        let bad = work.appendingPathComponent("bad.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: bad, atomically: true, encoding: .utf8)
        // Paths in labels.csv are UIDs, so the copy resolves through the catalog like the original.
        let run = work.appendingPathComponent("run")
        let result = try SonoKitCommand.run(["train", bad.path, "--catalog", p.catalogPath, "--classes", "benign,malignant",
                                             "--positive", "malignant", "--no-pixel-check", "--splits", p.splitsPath,
                                             "--model", "small", "--epochs", "1", "--size", "32", "--normalize", "unit", "-o", run.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("bad.csv:4"), result.stderr)   // file:line, as manifest validate prints it
        XCTAssertTrue(result.stderr.contains("unknown_label"), result.stderr)
        XCTAssertTrue(result.stderr.contains("nothing is trained"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path))
    }

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
