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

    // MARK: Early stopping and LR on plateau, triggered
    // The callbacks as the loop runs them (checkpoint best, early stopping, LR on plateau, in
    // that order, at validationEnd; then epochEnd), fed a scripted val_loss per epoch:
    //   epoch      1     2     3     4     5     6     7
    //   val_loss   1.0   0.8   0.9   0.8   0.85  0.81  0.7
    //   improves   yes   yes   no    no*   no    no    -
    // (* equal is not better.) LR patience 2, factor 0.5: lr halves after epoch 4 (two epochs
    // without improvement) and again after epoch 6 (the wait restarts after a reduction).
    // Early-stopping patience 4: decided at epoch 6 (epochs 3-6), the stop thrown at its epochEnd,
    // so epoch 7 (which would improve) never runs; best stays epoch 2.
    func testEarlyStoppingAndLROnPlateauAreTriggered() throws {
        var config = SampleStudiesFixture.tinyConfig()
        config.monitor = .valLoss
        config.learningRate = 1e-3
        var rng = SplitMix64(seed: 1)
        let model = try Architecture.small.make(rng: &rng, widths: [4, 8], headUnits: 8, inputShape: [32, 32, 3])
        let run = RunDirectory(work.appendingPathComponent("callbacks").path)
        let loop = TrainingLoop(config: config, model: model, optimizer: Adam(learningRate: 1e-3), data: TrainingData(train: [], validation: []),
                                store: FrameStore(preprocessor: FramePreprocessor(config: config.preprocess)),
                                progress: TrainingProgress(learningRate: 1e-3),
                                callbacks: [Callbacks.checkpointBest(run: run), Callbacks.earlyStopping(patience: 4),
                                            Callbacks.reduceLearningRateOnPlateau(patience: 2, factor: 0.5)],
                                trainFeatures: nil, validationFeatures: nil)
        var learningRates: [Float] = [], stoppedAfter: Int?
        for (epoch, valLoss) in [1.0, 0.8, 0.9, 0.8, 0.85, 0.81, 0.7].enumerated() {
            loop.progress.epoch = epoch
            loop.progress.valLoss = valLoss
            try loop.fire(.validationEnd)
            learningRates.append(loop.progress.learningRate)
            do { try loop.fire(.epochEnd) } catch TrainingControl.stop(let reason) {
                stoppedAfter = epoch + 1
                XCTAssertTrue(reason.contains("did not improve for 4 epoch(s); best at epoch 2"), reason)
                break
            }
        }
        XCTAssertEqual(stoppedAfter, 6)
        XCTAssertEqual(learningRates, [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
        XCTAssertEqual(loop.progress.bestEpoch, 2)
        XCTAssertEqual(loop.progress.bestValue, 0.8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.bestWeights.path), "an improvement wrote best weights")
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

    // MARK: Each augmentation does what it says (a no-op, or the wrong one, fails)
    // The parameters are the draws `apply` makes, in its order, from a copy of the stream; the
    // effects are measured on the output: where a bright blob's centroid goes (flip, zoom,
    // rotate), how every sample scales (gain), how the per-pixel factors spread (speckle).

    struct Draws { let flip: Bool; let scale: Float; let shift: (Float, Float); let angle: Float; let gain: Float }
    static func draws(_ rng: SplitMix64) -> Draws {
        var r = rng
        let flip = r.nextUnitFloat() < 0.5
        let scale = 1 + r.nextUniform(limit: 0.1)
        let shift = (r.nextUniform(limit: 0.05), r.nextUniform(limit: 0.05))
        let angle = r.nextUniform(limit: 10) * .pi / 180
        return Draws(flip: flip, scale: scale, shift: shift, angle: angle, gain: 1 + r.nextUniform(limit: 0.2))
    }

    /// 64 x 64 black with a bright 4 x 4 blob whose centre is (45.5, 17.5).
    static let blob: RGBImage = {
        var image = RGBImage(width: 64, height: 64, fill: (0, 0, 0))
        for y in 16..<20 { for x in 44..<48 { let i = (y * 64 + x) * 3; image.pixels[i] = 220; image.pixels[i + 1] = 220; image.pixels[i + 2] = 220 } }
        return image
    }()

    static func centroid(_ image: RGBImage) -> (x: Double, y: Double) {
        var sx = 0.0, sy = 0.0, sw = 0.0
        for y in 0..<image.height { for x in 0..<image.width {
            let w = Double(image[x, y].r); sx += w * Double(x); sy += w * Double(y); sw += w
        } }
        return (sx / sw, sy / sw)
    }

    func testEachAugmentationTransformsAsDocumented() throws {
        let c = 31.5, p = (x: 45.5, y: 17.5)  // centre of the frame, centre of the blob
        var flips = 0, checked = 0
        for seed in 0..<40 as Range<UInt64> {
            let rng = SplitMix64(seed: seed)
            let d = Self.draws(rng)
            // flip: the exact mirror x -> 63 - x with probability 1/2, rows (depth) never reordered.
            var r = rng
            let flipped = AugmentationSet.flip.apply(to: Self.blob, rng: &r)
            if d.flip {
                flips += 1
                for y in 0..<64 { for x in 0..<64 { XCTAssertTrue(flipped[x, y] == Self.blob[63 - x, y], "seed \(seed)") } }
            } else {
                XCTAssertEqual(flipped, Self.blob, "seed \(seed): no flip drawn, no change")
            }
            // zoom: p' = c + s (p - c) + t, t = shift x 64.
            r = rng
            let zoomed = Self.centroid(AugmentationSet.zoom.apply(to: Self.blob, rng: &r))
            let zx = c + Double(d.scale) * (p.x - c) + Double(d.shift.0) * 64, zy = c + Double(d.scale) * (p.y - c) + Double(d.shift.1) * 64
            XCTAssertEqual(zoomed.x, zx, accuracy: 0.35, "seed \(seed) zoom x")
            XCTAssertEqual(zoomed.y, zy, accuracy: 0.35, "seed \(seed) zoom y")
            // rotate: p' = c + R(θ)(p - c), θ in [-10°, 10°].
            r = rng
            let rotated = Self.centroid(AugmentationSet.rotate.apply(to: Self.blob, rng: &r))
            let (cosA, sinA) = (Double(cos(d.angle)), Double(sin(d.angle)))
            XCTAssertEqual(rotated.x, c + cosA * (p.x - c) - sinA * (p.y - c), accuracy: 0.35, "seed \(seed) rotate x")
            XCTAssertEqual(rotated.y, c + sinA * (p.x - c) + cosA * (p.y - c), accuracy: 0.35, "seed \(seed) rotate y")
            XCTAssertLessThanOrEqual(abs(d.angle), 10 * .pi / 180 + 1e-6)
            // gain: every sample v -> round(g v), clipped; g in [0.8, 1.2].
            let gray = RGBImageFixture.gradient(16)
            r = rng
            let gained = AugmentationSet.gain.apply(to: gray, rng: &r)
            XCTAssertTrue((0.8...1.2).contains(d.gain))
            for i in 0..<gray.pixels.count {
                XCTAssertEqual(gained.pixels[i], UInt8(min(255, (Float(gray.pixels[i]) * d.gain).rounded())), "seed \(seed) gain sample \(i)")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 40)
        XCTAssertTrue((10...30).contains(flips), "flip drawn \(flips) times in 40")

        // speckle: v -> round(v (1 + 0.15 u)), u uniform in [-1, 1] per pixel, one factor for the
        // three channels. On flat grey 200: factors in [0.85, 1.15], mean about 1, spread about
        // 0.15 / sqrt(3) = 0.087, channels equal.
        let flat = RGBImage(width: 64, height: 64, fill: (200, 200, 200))
        var r = SplitMix64(seed: 11)
        let speckled = AugmentationSet.speckle.apply(to: flat, rng: &r)
        var factors: [Double] = []
        for y in 0..<64 { for x in 0..<64 {
            let v = speckled[x, y]
            XCTAssertTrue(v.r == v.g && v.g == v.b, "one factor per pixel")
            factors.append(Double(v.r) / 200)
        } }
        let mean = factors.reduce(0, +) / Double(factors.count)
        let sd = (factors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(factors.count)).squareRoot()
        XCTAssertGreaterThanOrEqual(factors.min()!, 0.85 - 0.003)
        XCTAssertLessThanOrEqual(factors.max()!, 1.15 + 0.003)
        XCTAssertEqual(mean, 1, accuracy: 0.01)
        XCTAssertEqual(sd, 0.15 / 3.0.squareRoot(), accuracy: 0.005)
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
