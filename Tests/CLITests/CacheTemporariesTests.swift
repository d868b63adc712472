import Foundation
import SonoKitCore
import SonoKitTestSupport
import Training
import XCTest

/// The commands that open a frame or feature cache (`train`, `predict --frame-cache`,
/// `preview --frame-cache`, `cache merge`) remove the temporaries that killed writers left in it,
/// by `StaleTemporaries`' rules: a writer gone from this host, or any writer's temporary older than
/// 24 h, goes; a live writer's (here the test process, which outlives the command) and another
/// host's recent one (a node still writing a shared cache) stay; entries are never touched.
/// Each test plants such temporaries (`PlantedTemporaries`) and runs the real `sonokit`.
/// Guards: caches that are never cleaned (a killed writer's temporaries pile up in them), a
/// cleanup that reads only the top folder, and one that removes a live writer's temporary.
final class CacheTemporariesTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-cache-temporaries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    static func removedLine(_ folder: URL, _ cache: String) -> String {
        "\(folder.path): removed 3 temporary file(s) left in the \(cache) by an interrupted run"
    }

    // MARK: train (both caches), then predict --frame-cache on the trained run
    func testTrainAndPredictRemoveKilledWritersTemporariesFromTheirCaches() throws {
        let p = try TrainCommandFixture.prepared.get()
        let frames = work.appendingPathComponent("frames"), features = work.appendingPathComponent("features")
        let plantedFrames = try PlantedTemporaries.plant(in: frames, entryExtension: "frame")
        let plantedFeatures = try PlantedTemporaries.plant(in: features, entryExtension: "feat")
        let run = work.appendingPathComponent("run")
        let trained = try SonoKitCommand.run(["train", p.labels, "--catalog", p.catalogPath, "--classes", "benign,malignant", "--positive", "malignant",
                                              "--no-pixel-check", "--splits", p.splitsPath, "--model", "small", "--size", "32", "--frames", "uniform:2",
                                              "--normalize", "unit", "--epochs", "1", "--seed", "3", "-o", run.path,
                                              "--frame-cache", frames.path, "--feature-cache", features.path])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertEqual(plantedFrames.remaining, plantedFrames.kept.sorted())
        XCTAssertEqual(plantedFeatures.remaining, plantedFeatures.kept.sorted())
        XCTAssertTrue(trained.stderr.contains(Self.removedLine(frames, "frame cache")), trained.stderr)
        XCTAssertTrue(trained.stderr.contains(Self.removedLine(features, "feature cache")), trained.stderr)
        // The run filled the frame cache (so the cleanup left the folder usable) and left no temporary of its own.
        let entries = (FileManager.default.subpaths(atPath: frames.path) ?? []).filter { $0.hasSuffix(".frame") }
        XCTAssertGreaterThan(entries.count, 10)
        XCTAssertEqual(KillPointTests.temporaries(in: frames), plantedFrames.kept.filter { $0.hasSuffix(".tmp") }.sorted())

        let predictFrames = work.appendingPathComponent("predict-frames")
        let planted = try PlantedTemporaries.plant(in: predictFrames, entryExtension: "frame")
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let predicted = try SonoKitCommand.run(["predict", run.path, study, "-o", work.appendingPathComponent("predictions").path,
                                                "--frame-cache", predictFrames.path])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertEqual(planted.remaining, planted.kept.sorted())
        XCTAssertTrue(predicted.stderr.contains(Self.removedLine(predictFrames, "frame cache")), predicted.stderr)
        // A second run finds nothing more to remove and says nothing about it.
        let again = try SonoKitCommand.run(["predict", run.path, study, "-o", work.appendingPathComponent("predictions").path,
                                            "--frame-cache", predictFrames.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("temporary file(s)"), again.stderr)
        XCTAssertEqual(planted.remaining, planted.kept.sorted())
    }

    // MARK: preview --frame-cache
    func testPreviewRemovesKilledWritersTemporariesFromItsFrameCache() throws {
        let frames = work.appendingPathComponent("frames")
        let planted = try PlantedTemporaries.plant(in: frames, entryExtension: "frame")
        let study = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA/P4C821C").path
        let result = try SonoKitCommand.run(["preview", study, "-o", work.appendingPathComponent("preview").path, "--frames", "first",
                                             "--frame-cache", frames.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(planted.remaining, planted.kept.sorted())
        XCTAssertTrue(result.stderr.contains(Self.removedLine(frames, "frame cache")), result.stderr)
    }

    // MARK: cache merge: DEST is cleaned after a merge; the sources are only read
    func testCacheMergeRemovesKilledWritersTemporariesFromDestOnly() throws {
        let key = { (i: Int) in FeatureCache.key(sopInstanceUID: "1.2.\(i)", frame: 0, preprocessHash: "p", weightsHash: "w") }
        let source = work.appendingPathComponent("source"), dest = work.appendingPathComponent("dest")
        try FeatureCache(directory: source).store([1, 2, 3], key: key(1))
        let plantedSource = try PlantedTemporaries.plant(in: source, entryExtension: "feat")
        let plantedDest = try PlantedTemporaries.plant(in: dest, entryExtension: "feat")
        // The source's planted entry-like file is no entry: the source would be refused; drop it.
        try FileManager.default.removeItem(at: source.appendingPathComponent(plantedSource.kept[2]))
        let merged = try SonoKitCommand.run(["cache", "merge", dest.path, source.path])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertTrue(merged.stdout.contains("1 copied"), merged.stdout)
        XCTAssertTrue(merged.stdout.contains("5 temporary files skipped"), merged.stdout)
        XCTAssertEqual(plantedDest.remaining, plantedDest.kept.sorted())
        XCTAssertTrue(merged.stderr.contains(Self.removedLine(dest, "feature cache")), merged.stderr)
        XCTAssertEqual(plantedSource.remaining.count, 5, "a merge never removes anything from its sources")
        XCTAssertEqual(FeatureCache(directory: dest).load(key: key(1), count: 3), [1, 2, 3])
    }
}
