import XCTest
@testable import CNN
import SonoKitCore

/// Model construction, description, freezing, determinism, optimiser state and schedules.
final class ModelTests: XCTestCase {
    // MARK: Summary — parameter counts as Keras' summary() of the reference recipe

    func testVGG16SummaryCounts() throws {
        var rng = SplitMix64(seed: 1)
        let m = try Architecture.vgg16.make(rng: &rng)
        // Keras VGG16(include_top=False): 14,714,688; head 512*256+256 + 256+1 = 131,585.
        let s = m.description
        XCTAssertTrue(s.contains("Total params: 14,846,273"), s)
        XCTAssertTrue(s.contains("Trainable params: 131,585"), s)
        XCTAssertTrue(s.contains("Non-trainable params: 14,714,688"), s)
        XCTAssertTrue(s.contains("block5_conv3 (Conv2D)"), s)
        XCTAssertTrue(s.contains("(None, 7, 7, 512)"), s)
        XCTAssertEqual(m.featureCount, 512)
    }

    func testSmallSummaryCountsBatchNormStatisticsAsNonTrainable() throws {
        var rng = SplitMix64(seed: 1)
        let m = try Architecture.small.make(rng: &rng)
        // Moving mean and variance: 2 x (32 + 64 + 128 + 256) = 960 non-trainable.
        XCTAssertTrue(m.description.contains("Non-trainable params: 960"), m.description)
    }

    // MARK: Freezing by layer and block name

    func testFreezeByBlockAndLayerName() throws {
        var rng = SplitMix64(seed: 1)
        let m = try Architecture.vgg16.make(rng: &rng, widths: [4, 4, 4, 4, 4], inputShape: [32, 32, 3])
        try m.unfreeze(["block5"])
        XCTAssertEqual(m.layers.filter { !$0.isFrozen && !$0.parameters.isEmpty }.map(\.name),
                       ["block5_conv1", "block5_conv2", "block5_conv3", "dense", "dense_1"])
        try m.freeze(["block5_conv3"])
        XCTAssertTrue(try m.layers(matching: "block5_conv3")[0].isFrozen)
        XCTAssertThrowsError(try m.freeze(["block9"])) { e in
            XCTAssertTrue("\(e)".contains("block5"), "the error lists the available names: \(e)")
        }
    }

    func testFineTuningBlock5TrainsOnlyUnfrozenLayers() throws {
        var rng = SplitMix64(seed: 2)
        let m = try Architecture.vgg16.make(rng: &rng, widths: [4, 4, 4, 4, 4], inputShape: [32, 32, 3])
        try m.unfreeze(["block5"])
        let frozenBefore = m.layers.filter(\.isFrozen).flatMap(\.parameters).map(\.value)
        var ctx = ForwardContext(training: true)
        let x = randomTensor([2, 32, 32, 3], seed: 3, scale: 2)
        let logits = try m.logits(images: x, context: &ctx)
        try m.backward(BinaryCrossEntropy.lossAndGradient(logits: logits, labels: [1, 0]).gradient)
        Adam(learningRate: 0.1).step(m.trainableParameters)
        XCTAssertEqual(m.layers.filter(\.isFrozen).flatMap(\.parameters).map(\.value), frozenBefore)
        XCTAssertEqual(m.trainableParameters.count, 10)
    }

    // MARK: Determinism — one seed, bit-identical weights and dropout masks

    func testSameSeedSameWeights() throws {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
        let m1 = try Architecture.small.make(rng: &a), m2 = try Architecture.small.make(rng: &b)
        let m3 = try Architecture.small.make(rng: &c)
        XCTAssertEqual(m1.namedTensors, m2.namedTensors)
        XCTAssertNotEqual(m1.namedTensors, m3.namedTensors)
        XCTAssertEqual(a, b)
    }

    func testSplitMix64ReferenceValues() {
        // First outputs of SplitMix64 seeded with 0 (the reference C implementation).
        var r = SplitMix64(seed: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(r.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    // MARK: Optimiser state — saving and restoring continues the same trajectory

    func testAdamStateRoundTripGivesIdenticalContinuation() throws {
        func run(restoreAfter: Int?) throws -> [String: Tensor] {
            var rng = SplitMix64(seed: 5)
            let m = try Architecture.small.make(rng: &rng, widths: [4], headUnits: 3, inputShape: [8, 8, 3])
            var adam = Adam(learningRate: 0.01)
            let x = randomTensor([2, 8, 8, 3], seed: 6)
            for step in 0..<3 {
                if step == restoreAfter {
                    let saved = adam.state()
                    let weights = m.namedTensors
                    adam = Adam(learningRate: 0.01)
                    try adam.load(state: saved, parameters: m.trainableParameters)
                    try m.load(namedTensors: weights)
                }
                var ctx = ForwardContext(training: true)
                let z = try m.logits(images: x, context: &ctx)
                try m.backward(BinaryCrossEntropy.lossAndGradient(logits: z, labels: [1, 0]).gradient)
                adam.step(m.trainableParameters)
            }
            return m.namedTensors
        }
        XCTAssertEqual(try run(restoreAfter: nil), try run(restoreAfter: 2))
    }

    // MARK: Schedules — step: lr·f^⌊e/k⌋; cosine: floor + (lr − floor)(1 + cos(π e/T))/2

    func testLearningRateSchedules() {
        XCTAssertEqual(LearningRateSchedule.step(every: 2, factor: 0.5).learningRate(base: 1, epoch: 5), 0.25)
        let cosine = LearningRateSchedule.cosine(totalEpochs: 10, floor: 0)
        XCTAssertEqual(cosine.learningRate(base: 1, epoch: 0), 1, accuracy: 1e-7)
        XCTAssertEqual(cosine.learningRate(base: 1, epoch: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(base: 1, epoch: 10), 0, accuracy: 1e-7)
    }

    // MARK: Memory — a frozen base keeps no activations

    func testFrozenBaseKeepsNothingAndHeadTrainsFromCachedFeatures() throws {
        var rng = SplitMix64(seed: 7)
        let m = try Architecture.vgg16.make(rng: &rng, widths: [4, 4, 4, 4, 4], headUnits: 5, inputShape: [32, 32, 3])
        let x = randomTensor([3, 32, 32, 3], seed: 8, scale: 2)
        // Path 1: features then head (what the feature cache does).
        let features = try m.features(x)
        var c1 = ForwardContext(training: true)
        let z1 = try m.logits(features: features, context: &c1)
        // Path 2: from images.
        var c2 = ForwardContext(training: true)
        let z2 = try m.logits(images: x, context: &c2)
        XCTAssertEqual(z1, z2)
        for l in m.base { XCTAssertFalse(l.isHoldingActivations, "\(l.name) is frozen and keeps nothing") }
        for l in m.head { XCTAssertTrue(l.isHoldingActivations, "\(l.name) trains and keeps its input") }
        // The same on the layer-by-layer path (no compiled pipeline).
        m.usesFrozenPipeline = false
        var c3 = ForwardContext(training: true)
        XCTAssertLessThan(relativeError(try m.logits(images: x, context: &c3), z2), 1e-4)
        for l in m.base { XCTAssertFalse(l.isHoldingActivations, "\(l.name) is frozen and keeps nothing") }
        try m.backward(BinaryCrossEntropy.lossAndGradient(logits: z2, labels: [1, 0, 1]).gradient)
        XCTAssertNotEqual(m.trainableParameters.first!.gradient.maxAbs, 0)
        for l in m.layers { XCTAssertFalse(l.isHoldingActivations, "backward releases \(l.name)") }
    }
}
