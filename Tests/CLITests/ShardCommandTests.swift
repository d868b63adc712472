import Foundation
import SonoKitTestSupport
import XCTest

/// The cluster-facing options of `features` and `predict` fail loudly (non-zero exit, a sentence
/// naming the problem), so that a Slurm `afterok` dependency never starts on a broken step.
final class ShardCommandTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-shard-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    // MARK: A malformed --shard is refused before anything runs
    func testMalformedShardIsRefused() throws {
        let labels = RepositoryPaths.sampleStudies.appendingPathComponent("labels.csv").path
        for arguments in [["features", labels, "--catalog", work.appendingPathComponent("c.sqlite").path, "--splits", "s.csv",
                           "--model", "vgg16", "--shard", "4/4"],
                          ["predict", work.path, "-o", work.appendingPathComponent("out").path, "--shard", "1"]] {
            let result = try SonoKitCommand.run(arguments)
            XCTAssertNotEqual(result.status, 0, arguments[0])
            XCTAssertTrue(result.stderr.contains("--shard must be I/N"), result.stderr)
        }
    }

    // MARK: --merge of a folder no shard finished in fails naming it and writes nothing
    func testMergeOfAnUnfinishedShardFails() throws {
        let shard = work.appendingPathComponent("parts/shard-0-of-2")
        try FileManager.default.createDirectory(at: shard, withIntermediateDirectories: true)
        let out = work.appendingPathComponent("merged").path
        let result = try SonoKitCommand.run(["predict", "--merge", out, shard.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("shard-0-of-2: no shard.json"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    // MARK: --merge takes only shard folders: options of a scoring run are refused
    func testMergeRefusesScoringOptions() throws {
        let result = try SonoKitCommand.run(["predict", "--merge", work.appendingPathComponent("m").path, work.path, "--html"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("takes only the shard folders"), result.stderr)
    }
}
