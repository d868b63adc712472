import Catalog
import Foundation
import Manifest
import Preprocess
import SonoKitCore
import SonoKitTestSupport
import Training
import Workflows
import XCTest

/// `features` with and without shards against `train`: the shards fill exactly the cache a
/// train reads, and the trained weights do not depend on who computed the features.
final class FeaturesWorkflowTests: XCTestCase {
    /// A narrow VGG16 (same layer names, frozen base, weights from the seed) on 32x32 inputs:
    /// the feature-cache path of `train` at a cost of seconds.
    static func config() -> TrainingConfig {
        var config = TrainingConfig(network: NetworkSpec(architecture: .vgg16, headUnits: 8, widths: [4, 4, 4, 4, 4], inputSize: 32),
                                    preprocess: PreprocessConfig(frames: .uniform(2), normalize: .unit, size: 32))
        config.epochs = 2
        config.seed = 11
        config.batchSize = 4
        return config
    }

    static func files(under folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let root = folder.standardizedFileURL.path
        guard let e = FileManager.default.enumerator(atPath: root) else { return out }
        while let relative = e.nextObject() as? String {
            var isDir: ObjCBool = false
            let path = root + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
                out[relative] = FileManager.default.contents(atPath: path)
            }
        }
        return out
    }

    // MARK: N shards partition the frames; a train after them computes and decodes nothing and
    // trains the same weights, bit for bit, as a train that computed every feature itself.
    // Guards: shards keyed differently from train (train recomputes), shards overlapping or
    // missing frames, and cached features that differ from computed ones (weights differ).
    func testShardedFeaturesFillTheCacheTrainReads() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("features-\(UUID().uuidString)")
        let input = ManifestInput(manifest: f.labels, catalog: f.catalog, classes: WorkflowsTests.classes, noPixelCheck: true)

        // The reference: one train that computes every feature (its own empty caches).
        var plain = TrainWorkflow.Options(manifest: input, splits: f.splits, config: Self.config(), runDirectory: work.appendingPathComponent("plain").path)
        plain.featureCache = work.appendingPathComponent("plain-features").path
        plain.frameCache = work.appendingPathComponent("plain-frames").path
        let plainTraining = try TrainWorkflow(plain)
        let reference = try plainTraining.run()
        let frames = plainTraining.data.train.count + plainTraining.data.validation.count
        XCTAssertTrue(reference.usedFeatureCache)
        XCTAssertEqual(reference.featuresComputed, frames)
        XCTAssertGreaterThan(plainTraining.instancesDecoded, 0)

        // Three shards into one shared feature cache, each with its own frame cache (three nodes).
        let shared = work.appendingPathComponent("shared-features").path
        var computed = 0, owned = 0
        for i in 0..<3 {
            var options = FeaturesWorkflow.Options(manifest: input, splits: f.splits, config: Self.config())
            options.featureCache = shared
            options.frameCache = work.appendingPathComponent("frames-\(i)").path
            options.shard = Shard(index: i, count: 3)
            let result = try FeaturesWorkflow(options).run()
            XCTAssertEqual(result.allFrames, frames)
            XCTAssertEqual(result.computed, result.frames, "shard \(i) found entries of another shard: the shards overlap")
            XCTAssertGreaterThan(result.frames, 0, "shard \(i) is empty")
            computed += result.computed
            owned += result.frames
        }
        XCTAssertEqual(owned, frames, "the shards do not cover every frame exactly once")
        XCTAssertEqual(computed, frames)

        // A shard run again (a requeued task) computes nothing.
        var again = FeaturesWorkflow.Options(manifest: input, splits: f.splits, config: Self.config())
        again.featureCache = shared
        again.frameCache = work.appendingPathComponent("frames-1").path
        again.shard = Shard(index: 1, count: 3)
        let rerun = try FeaturesWorkflow(again).run()
        XCTAssertEqual(rerun.computed, 0)
        XCTAssertEqual(rerun.cached, rerun.frames)

        // The shards' cache equals the reference train's, entry for entry and byte for byte.
        let plainEntries = try Self.files(under: URL(fileURLWithPath: plain.featureCache!))
        XCTAssertEqual(plainEntries.count, frames)
        XCTAssertEqual(try Self.files(under: URL(fileURLWithPath: shared)), plainEntries)

        // The same shards on node-local disks (a folder each), joined by `cache merge`: the same cache.
        let separate = (0..<3).map { work.appendingPathComponent("node-features-\($0)").path }
        for i in 0..<3 {
            var options = FeaturesWorkflow.Options(manifest: input, splits: f.splits, config: Self.config())
            options.featureCache = separate[i]
            options.frameCache = work.appendingPathComponent("frames-\(i)").path
            options.shard = Shard(index: i, count: 3)
            _ = try FeaturesWorkflow(options).run()
        }
        let joined = work.appendingPathComponent("joined-features").path
        let merged = try FeaturesWorkflow.mergeCaches(into: joined, from: separate)
        XCTAssertEqual(merged.copied, frames)
        XCTAssertEqual(merged.duplicates, 0)
        XCTAssertEqual(try Self.files(under: URL(fileURLWithPath: joined)), plainEntries)

        // A train over the shards' cache (and a frame cache no shard wrote): nothing computed or decoded.
        var sharded = TrainWorkflow.Options(manifest: input, splits: f.splits, config: Self.config(), runDirectory: work.appendingPathComponent("sharded").path)
        sharded.featureCache = shared
        sharded.frameCache = work.appendingPathComponent("train-frames").path
        let shardedTraining = try TrainWorkflow(sharded)
        let result = try shardedTraining.run()
        XCTAssertEqual(result.featuresComputed, 0)
        XCTAssertEqual(result.featuresFromCache, frames)
        XCTAssertEqual(shardedTraining.instancesDecoded, 0)
        XCTAssertEqual(result.run.card.weightsSHA256, reference.run.card.weightsSHA256)
        let weights = { (run: String) in FileManager.default.contents(atPath: RunDirectory(run).bestWeights.path) }
        XCTAssertNotNil(weights(plain.runDirectory))
        XCTAssertEqual(weights(sharded.runDirectory), weights(plain.runDirectory))
    }

    // MARK: cache merge: union of the sources, identical duplicates once, a re-run copies nothing;
    // a key with other bytes, a damaged entry or a stray file refused with DEST untouched.
    // Guards: a merge that overwrites (last source wins), one that copies half before finding a
    // conflict, a re-run that rewrites, temporary files of killed writers copied as entries.
    func testCacheMergeCopiesMissingEntriesAndRefusesConflicts() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-cache-merge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        func key(_ i: Int) -> String { FeatureCache.key(sopInstanceUID: "1.2.3.\(i)", frame: 0, preprocessHash: "p", weightsHash: "w") }
        func values(_ i: Int) -> [Float] { (0..<512).map { Float(i) + Float($0) / 1000 } }
        let a = work.appendingPathComponent("a"), b = work.appendingPathComponent("b"), c = work.appendingPathComponent("c")
        for i in [1, 2] { try FeatureCache(directory: a).store(values(i)[...], key: key(i)) }
        for i in [2, 3] { try FeatureCache(directory: b).store(values(i)[...], key: key(i)) }
        // A killed writer's temporary file: hidden, skipped.
        let prefix = String(key(1).prefix(2))
        try Data("partial".utf8).write(to: a.appendingPathComponent("\(prefix)/.\(key(1).dropFirst(2)).feat.123.tmp"))

        let dest = work.appendingPathComponent("dest")
        let first = try FeaturesWorkflow.mergeCaches(into: dest.path, from: [a.path, b.path])
        XCTAssertEqual(first.sourceEntries, 4)
        XCTAssertEqual(first.copied, 3)
        XCTAssertEqual(first.duplicates, 1)
        XCTAssertEqual(first.alreadyPresent, 0)
        XCTAssertEqual(first.temporaryFilesSkipped, 1)
        let merged = try Self.files(under: dest)
        XCTAssertEqual(merged.count, 3, "\(merged.keys.sorted())")
        for i in 1...3 { XCTAssertEqual(FeatureCache(directory: dest).load(key: key(i), count: 512), values(i)) }

        let again = try FeaturesWorkflow.mergeCaches(into: dest.path, from: [a.path, b.path])
        XCTAssertEqual(again.copied, 0)
        XCTAssertEqual(again.alreadyPresent, 3)
        XCTAssertEqual(try Self.files(under: dest), merged)

        // c: a new key 4 and key 1 with other bytes. Nothing is copied, not even key 4.
        try FeatureCache(directory: c).store(values(4)[...], key: key(4))
        var other = values(1); other[7] += 1
        try FeatureCache(directory: c).store(other[...], key: key(1))
        let file = { (folder: URL, i: Int) in folder.appendingPathComponent("\(key(i).prefix(2))/\(key(i).dropFirst(2)).feat").path }
        XCTAssertThrowsError(try FeaturesWorkflow.mergeCaches(into: dest.path, from: [c.path])) { error in
            XCTAssertTrue("\(error)".contains(file(c, 1)) && "\(error)".contains(file(dest, 1)) && "\(error)".contains("different bytes"), "\(error)")
        }
        XCTAssertEqual(try Self.files(under: dest), merged)
        // Two sources that disagree, into a new folder: refused, the folder never created.
        let fresh = work.appendingPathComponent("fresh")
        XCTAssertThrowsError(try FeaturesWorkflow.mergeCaches(into: fresh.path, from: [a.path, c.path])) { error in
            XCTAssertTrue("\(error)".contains(file(a, 1)) && "\(error)".contains(file(c, 1)), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))

        // A damaged entry and a stray file are refused, naming them.
        let damaged = work.appendingPathComponent("damaged")
        try FeatureCache(directory: damaged).store(values(5)[...], key: key(5))
        let entry = file(damaged, 5)
        try Data(try Data(contentsOf: URL(fileURLWithPath: entry)).prefix(100)).write(to: URL(fileURLWithPath: entry))
        XCTAssertThrowsError(try FeaturesWorkflow.mergeCaches(into: dest.path, from: [damaged.path])) { error in
            XCTAssertTrue("\(error)".contains(entry) && "\(error)".contains("damaged"), "\(error)")
        }
        let stray = work.appendingPathComponent("stray")
        try FileManager.default.createDirectory(at: stray, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: stray.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try FeaturesWorkflow.mergeCaches(into: dest.path, from: [stray.path])) { error in
            XCTAssertTrue("\(error)".contains("notes.txt: not a feature cache entry"), "\(error)")
        }
        XCTAssertEqual(try Self.files(under: dest), merged)
    }

    // MARK: A shard opening a shared feature cache and its frame cache removes the temporaries of
    // killed writers (gone from this host, or 2 days old on another) and keeps those of live ones
    // (this process; another node's recent one), saying how many in one warning per cache.
    // Guards: caches never cleaned (a killed shard's temporaries pile up), a cleanup that reads
    // only the top folder, one that removes a live writer's temporary in a shared folder.
    func testShardRemovesKilledWritersTemporariesFromItsCaches() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("features-temporaries-\(UUID().uuidString)")
        let featureFolder = work.appendingPathComponent("shared-features"), frameFolder = work.appendingPathComponent("frames")
        let features = try PlantedTemporaries.plant(in: featureFolder, entryExtension: "feat")
        let frames = try PlantedTemporaries.plant(in: frameFolder, entryExtension: "frame")
        var options = FeaturesWorkflow.Options(manifest: ManifestInput(manifest: f.labels, catalog: f.catalog, classes: WorkflowsTests.classes, noPixelCheck: true),
                                               splits: f.splits, config: Self.config())
        options.featureCache = featureFolder.path
        options.frameCache = frameFolder.path
        options.shard = Shard(index: 0, count: 2)
        var warnings: [String] = []
        let workflow = try FeaturesWorkflow(options, events: WorkflowEvents(warning: { warnings.append($0) }))
        XCTAssertEqual(features.remaining.count, 6, "preparing a workflow writes nothing, so removes nothing")
        let result = try workflow.run()
        XCTAssertGreaterThan(result.computed, 0)
        XCTAssertEqual(features.remaining, features.kept.sorted())
        XCTAssertEqual(frames.remaining, frames.kept.sorted())
        XCTAssertTrue(warnings.contains("\(featureFolder.path): removed 3 temporary file(s) left in the feature cache by an interrupted run"), "\(warnings)")
        XCTAssertTrue(warnings.contains("\(frameFolder.path): removed 3 temporary file(s) left in the frame cache by an interrupted run"), "\(warnings)")
        // The shard's entries are there and its own temporaries gone (renamed).
        let written = try Self.files(under: featureFolder).keys.filter { $0.hasSuffix(".feat") }
        XCTAssertEqual(written.count, result.computed + 1, "the entries computed, and the planted entry-like file")
        XCTAssertEqual(try Self.files(under: featureFolder).keys.filter { StaleTemporaries.writer(ofTemporary: ($0 as NSString).lastPathComponent) != nil }.sorted(),
                       features.kept.filter { $0.hasSuffix(".tmp") }.sorted())
    }

    // MARK: A configuration that never reads cached features is refused, naming why
    func testAugmentedRunIsRefused() throws {
        let f = try WorkflowsTests.fixture()
        var config = Self.config()
        config.augmentation = try AugmentationSet(parsing: "flip")
        var options = FeaturesWorkflow.Options(manifest: ManifestInput(manifest: f.labels, catalog: f.catalog, classes: WorkflowsTests.classes, noPixelCheck: true),
                                               splits: f.splits, config: config)
        options.featureCache = f.work.appendingPathComponent("refused-features").path
        XCTAssertThrowsError(try FeaturesWorkflow(options).run()) { error in
            XCTAssertTrue("\(error)".contains("augmentation"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.featureCache!))
    }
}
