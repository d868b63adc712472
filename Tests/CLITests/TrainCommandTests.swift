import Foundation
import Manifest
import SonoKitTestSupport
import Training
import Workflows
import XCTest

/// `sonokit train` end to end: `kill -9` of the real command, then `--resume`.
enum TrainCommandFixture {
    struct Prepared {
        let work: URL
        let catalogPath: String
        let labels: String
        let splitsPath: String
    }

    /// SampleStudies ingested and split 0.6/0.2/0.2 by patient with seed 7 (the demo's split), once per test process.
    static let prepared: Result<Prepared, Error> = Result {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-train-command-\(getpid())")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let catalogPath = work.appendingPathComponent("catalog.sqlite").path
        _ = try IngestWorkflow(.init(folders: [RepositoryPaths.sampleStudies.path], catalog: catalogPath)).run()
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        let splitsPath = work.appendingPathComponent("splits.csv").path
        let input = ManifestInput(manifest: labels, catalog: catalogPath,
                                  classes: try ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant"), noPixelCheck: true)
        _ = try ManifestWorkflow.split(.init(input: input, plan: try SplitPlan.ratios([0.6, 0.2, 0.2]).validated(), planText: "ratios=0.6,0.2,0.2",
                                             seed: 7, output: splitsPath))
        return Prepared(work: work, catalogPath: catalogPath, labels: labels, splitsPath: splitsPath)
    }
}

/// `kill -9` of the real command, then `--resume`: the resumed run ends with the same weights
/// (byte-identical checkpoint files) as an uninterrupted run with the same options.
final class TrainKillResumeTests: XCTestCase {
    func testKill9ThenResumeEndsWithTheUninterruptedWeights() throws {
        let p = try TrainCommandFixture.prepared.get()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let common = ["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                      "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                      "--normalize", "unit", "--epochs", "4", "--batch", "8", "--checkpoint-every", "1", "--head-units", "16",
                      "--augment", "flip,speckle", "--seed", "11", "--frame-cache", work.appendingPathComponent("frames").path]
        let reference = work.appendingPathComponent("reference"), killed = work.appendingPathComponent("killed")
        let done = try SonoKitCommand.run(common + ["-o", reference.path])
        XCTAssertEqual(done.status, 0, done.stderr)

        let process = Process()
        process.executableURL = SonoKitCommand.executable
        process.arguments = common + ["-o", killed.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let state = RunDirectory(killed.path).lastOptimizer
        let deadline = Date().addingTimeInterval(120)
        // Kill after the second epoch has started writing mid-epoch checkpoints.
        while Date() < deadline, process.isRunning {
            if let s = try? String(contentsOf: RunDirectory(killed.path).history, encoding: .utf8), s.split(separator: "\n").count >= 2,
               FileManager.default.fileExists(atPath: state.path) { break }
            usleep(5_000)
        }
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(wasRunning, "the run finished before it could be killed; the test needs a slower run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: RunDirectory(killed.path).modelCard.path))

        let resumed = try SonoKitCommand.run(common + ["--resume", killed.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for name in ["checkpoints/last.safetensors", "checkpoints/best.safetensors"] {
            let a = try Data(contentsOf: reference.appendingPathComponent(name)), b = try Data(contentsOf: killed.appendingPathComponent(name))
            XCTAssertEqual(a, b, name)
        }

        // Resuming with another seed is refused, naming it.
        let refused = try SonoKitCommand.run(common.map { $0 == "11" ? "12" : $0 } + ["--resume", killed.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("seed"), refused.stderr)
    }
}
