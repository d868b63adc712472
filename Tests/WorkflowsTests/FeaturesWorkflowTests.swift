import Catalog
import Foundation
import Manifest
import Preprocess
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
