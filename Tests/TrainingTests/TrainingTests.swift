import CNN
import Evaluation
import Foundation
import Preprocess
@testable import Training
import XCTest
import SonoKitCore

/// The training loop on SampleStudies with tiny networks: determinism from the seed, exact resume
/// after an interruption in the middle of an epoch, feature cache = uncached path, the run
/// directory's files.
final class TrainingTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-training-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        _ = try SampleStudiesFixture.prepared.get()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func weights(_ run: TrainedRun) -> [String: Tensor] { run.model.namedTensors }

    func train(_ config: TrainingConfig, _ name: String, featureCache: Bool = true) throws -> TrainedRun {
        let t = try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent(name), featureCache: featureCache)
        return try t.fit(resume: false)
    }

    // MARK: Determinism: every random stream comes from --seed

    /// Guards against any unseeded randomness (init, shuffle, augmentation, dropout) or
    /// scheduling-dependent batch assembly.
    func testSameSeedGivesIdenticalWeightsAndOtherSeedDiffers() throws {
        var config = SampleStudiesFixture.tinyConfig(seed: 5)
        config.augmentation = [.flip, .zoom, .rotate, .gain, .speckle]
        let a = try train(config, "a"), b = try train(config, "b")
        XCTAssertEqual(weights(a), weights(b), "same seed, same thread count: bit-identical weights")
        XCTAssertEqual(a.card.weightsSHA256, b.card.weightsSHA256)
        config.seed = 6
        let c = try train(config, "c")
        XCTAssertNotEqual(weights(a)["dense_1.kernel"], weights(c)["dense_1.kernel"])
    }

    // MARK: Resume: kill in the middle of an epoch, resume, same weights as without the kill

    func testResumeAfterAMidEpochKillEndsWithTheSameWeights() throws {
        var config = SampleStudiesFixture.tinyConfig(seed: 9, epochs: 3)
        config.augmentation = [.flip, .gain]
        config.checkpointEveryBatches = 2
        config.plateauPatience = 1
        let reference = try train(config, "uninterrupted")

        let dir = work.appendingPathComponent("killed")
        let killed = try SampleStudiesFixture.trainer(config, directory: dir)
        killed.extraCallbacks = [TrainingCallback("kill") { event, loop in
            if event == .batchEnd, loop.progress.epoch == 1, loop.progress.batchesDone == 3 { throw SimulatedKill() }
        }]
        XCTAssertThrowsError(try killed.fit(resume: false)) { XCTAssertTrue($0 is SimulatedKill) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: RunDirectory(dir.path).modelCard.path))

        let resumed = try SampleStudiesFixture.trainer(config, directory: dir).fit(resume: true)
        XCTAssertEqual(weights(resumed), weights(reference), "resumed run ends with the uninterrupted run's weights")
        let history = { (run: TrainedRun) -> [String] in
            try! String(contentsOf: RunDirectory(run.directory).history, encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: ",").dropLast().joined(separator: ",") }   // seconds differ
        }
        XCTAssertEqual(history(resumed), history(reference))
    }

    /// Runs written before config.json recorded the catalog are continued, not refused for the
    /// field they could not have: killed without a catalog, resumed with one, the same weights.
    func testResumeContinuesARunWrittenBeforeTheCatalogWasRecorded() throws {
        var config = SampleStudiesFixture.tinyConfig(seed: 4, epochs: 2)
        config.checkpointEveryBatches = 2
        config.catalog = nil
        let reference = try train(config, "uninterrupted")

        let dir = work.appendingPathComponent("old-run")
        let killed = try SampleStudiesFixture.trainer(config, directory: dir)
        killed.extraCallbacks = [TrainingCallback("kill") { event, loop in
            if event == .batchEnd, loop.progress.epoch == 1, loop.progress.batchesDone == 2 { throw SimulatedKill() }
        }]
        XCTAssertThrowsError(try killed.fit(resume: false)) { XCTAssertTrue($0 is SimulatedKill) }

        var now = config
        now.catalog = "/data/catalog.sqlite"
        let resumed = try SampleStudiesFixture.trainer(now, directory: dir).fit(resume: true)
        XCTAssertEqual(weights(resumed), weights(reference))
        XCTAssertNil(try RunJSON.read(TrainingConfig.self, from: RunDirectory(dir.path).config).catalog,
                     "the run's config.json stays as it was written")
        // A run that recorded its catalog is still refused another one.
        var moved = config
        moved.catalog = "/data/a.sqlite"
        _ = try train(moved, "new-run")
        moved.catalog = "/data/b.sqlite"
        XCTAssertThrowsError(try SampleStudiesFixture.trainer(moved, directory: work.appendingPathComponent("new-run")).fit(resume: true)) {
            XCTAssertTrue("\($0)".contains("catalog"), "\($0)")
        }
    }

    func testResumeRefusesAChangedConfigurationAndNamesIt() throws {
        let config = SampleStudiesFixture.tinyConfig(epochs: 1)
        _ = try train(config, "run")
        var changed = config
        changed.learningRate = 0.01
        changed.manifestHash = "other"
        let t = try SampleStudiesFixture.trainer(changed, directory: work.appendingPathComponent("run"))
        XCTAssertThrowsError(try t.fit(resume: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("learning_rate"), text)
            XCTAssertTrue(text.contains("manifest"), text)
        }
        // And a new run into a used folder is refused too.
        XCTAssertThrowsError(try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent("run")).fit(resume: false))
    }

    // MARK: Feature cache: frozen base, no augmentation → features once per frame, same head

    func testFeatureCacheGivesTheSameHeadWeightsAsTheUncachedPath() throws {
        var config = SampleStudiesFixture.tinyConfig(architecture: .vgg16, seed: 3, epochs: 2)
        config.weightsFile = nil
        let cachedTrainer = try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent("cached"))
        let cached = try cachedTrainer.fit(resume: false)
        XCTAssertTrue(cachedTrainer.usedFeatureCache)
        let uncachedTrainer = try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent("uncached"))
        uncachedTrainer.allowFeatureCache = false
        let uncached = try uncachedTrainer.fit(resume: false)
        XCTAssertFalse(uncachedTrainer.usedFeatureCache)
        for name in ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"] {
            let a = weights(cached)[name]!, b = weights(uncached)[name]!
            XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-5 * max(1, b.maxAbs), name)
        }
        // A second run reads every feature from the cache: the base runs on no frame.
        let again = try SampleStudiesFixture.trainer(config, directory: work.appendingPathComponent("again"))
        _ = try again.fit(resume: false)
        XCTAssertEqual(again.featuresComputed, 0)
    }

    // MARK: The run directory

    func testRunDirectoryHoldsTheContractFiles() throws {
        var config = SampleStudiesFixture.tinyConfig(epochs: 2)
        config.earlyStoppingPatience = 5
        let run = try train(config, "run")
        let dir = RunDirectory(run.directory)
        for url in [dir.config, dir.modelCard, dir.history, dir.bestWeights, dir.lastWeights, dir.lastOptimizer, dir.lastState] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.lastPathComponent)
        }
        let history = try TrainingHistory(csv: String(contentsOf: dir.history, encoding: .utf8))
        XCTAssertEqual(history.columns, ["epoch", "loss", "val_loss", "val_auc", "lr", "seconds"])
        XCTAssertEqual(history.rows.count, 2)
        let card = run.card
        XCTAssertEqual(card.threshold?.fittedOn?.split, "validation")
        XCTAssertEqual(card.threshold?.fittedOn?.level, .study)
        XCTAssertEqual(card.aggregation, .mean)
        XCTAssertEqual(card.preprocessHash, config.preprocess.hash)
        XCTAssertEqual(card.weightsOrigin, "trained from scratch")
    }

    // MARK: Class weights: w_c = N / (2 N_c)

    func testAutoClassWeightsAreInverseFrequency() {
        func s(_ positive: Bool) -> TrainingSample {
            TrainingSample(path: "", sopInstanceUID: "", frameIndex: 0, isPositive: positive, weight: 1, studyID: "", patientID: "")
        }
        // 1 positive, 3 negatives: N = 4 → w+ = 4 / 2 = 2, w- = 4 / 6.
        let data = TrainingData(train: [s(true), s(false), s(false), s(false)], validation: [])
        let w = data.classWeights()
        XCTAssertEqual(w.positive, 2)
        XCTAssertEqual(w.negative, 4.0 / 6.0, accuracy: 1e-12)
    }

    // MARK: Augmentation: reproducible, never vertical

    func testAugmentationIsReproducibleAndRefusesVerticalFlip() throws {
        let image = RGBImageFixture.gradient(16)
        var r1 = SplitMix64(seed: 4), r2 = SplitMix64(seed: 4)
        let set: AugmentationSet = [.flip, .zoom, .rotate, .gain, .speckle]
        XCTAssertEqual(set.apply(to: image, rng: &r1), set.apply(to: image, rng: &r2))
        XCTAssertThrowsError(try AugmentationSet(parsing: "flip,vflip"))
        XCTAssertEqual(try AugmentationSet(parsing: "gain,flip").text, "flip,gain")
        // A pure flip mirrors rows left-right and keeps the row order (depth).
        let flipped = AugmentationSet.affine(image, scale: 1, shift: (0, 0), angle: 0, flip: true)
        for y in 0..<16 { for x in 0..<16 { XCTAssertTrue(flipped[x, y] == image[15 - x, y]) } }
    }
}

import Imaging
enum RGBImageFixture {
    /// R = 16x, G = 16y, B = 0.
    static func gradient(_ n: Int) -> RGBImage {
        var p: [UInt8] = []
        for y in 0..<n { for x in 0..<n { p += [UInt8(x * 16 % 256), UInt8(y * 16 % 256), 0] } }
        return RGBImage(width: n, height: n, pixels: p)
    }
}
