import Foundation
import SonoKitTestSupport
import Training
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

    // MARK: --retry-failed without --shard is refused before anything runs (a flag that would do nothing)
    func testRetryFailedWithoutShardIsRefused() throws {
        let out = work.appendingPathComponent("out").path
        let result = try SonoKitCommand.run(["predict", work.path, "-o", out, "--retry-failed"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--retry-failed applies to a rerun of a shard (--shard I/N)"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
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

    // MARK: cache merge prints its counts, is a no-op the second time, and fails (non-zero, both
    // files named, DEST unchanged) on a key with other bytes
    func testCacheMerge() throws {
        let key = { (i: Int) in FeatureCache.key(sopInstanceUID: "1.2.\(i)", frame: 0, preprocessHash: "p", weightsHash: "w") }
        let a = work.appendingPathComponent("a"), b = work.appendingPathComponent("b"), dest = work.appendingPathComponent("dest")
        try FeatureCache(directory: a).store([1, 2, 3], key: key(1))
        try FeatureCache(directory: b).store([4, 5, 6], key: key(2))
        let first = try SonoKitCommand.run(["cache", "merge", dest.path, a.path, b.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("2 entries in 2 source folder(s): 2 copied, 0 already in"), first.stdout)
        let second = try SonoKitCommand.run(["cache", "merge", dest.path, a.path, b.path])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("0 copied, 2 already in"), second.stdout)
        XCTAssertEqual(FeatureCache(directory: dest).load(key: key(2), count: 3), [4, 5, 6])

        let c = work.appendingPathComponent("c")
        try FeatureCache(directory: c).store([1, 2, 4], key: key(1))
        try FeatureCache(directory: c).store([7, 8, 9], key: key(3))
        let refused = try SonoKitCommand.run(["cache", "merge", dest.path, c.path])
        XCTAssertNotEqual(refused.status, 0)
        let name = "\(key(1).prefix(2))/\(key(1).dropFirst(2)).feat"
        XCTAssertTrue(refused.stderr.contains(c.appendingPathComponent(name).path) && refused.stderr.contains(dest.appendingPathComponent(name).path), refused.stderr)
        XCTAssertNil(FeatureCache(directory: dest).load(key: key(3), count: 3), "a refused merge copied an entry")
        XCTAssertEqual(FeatureCache(directory: dest).load(key: key(1), count: 3), [1, 2, 3])
    }
}
