import XCTest
@testable import CNN
import SonoKitCore

/// Softmax cross-entropy from logits and the N-class head, against hand-computed values,
/// properties, and PyTorch / Keras fixtures (scripts/fixtures/cnn/make_softmax_fixtures.py).
final class SoftmaxCrossEntropyTests: XCTestCase {

    // MARK: Hand-computed — ℓ = log Σ_k exp(z_k) − z_y
    // z = (0, ln 2, ln 3), y = 2: Σ exp = 1 + 2 + 3 = 6, ℓ = ln 6 − ln 3 = ln 2;
    // softmax = (1/6, 2/6, 3/6), gradient = (1/6, 1/3, 1/2 − 1) / N.

    func testHandComputedLossAndGradient() {
        let z = Tensor(shape: [1, 3], scalars: [0, Float(log(2.0)), Float(log(3.0))])
        let (loss, g) = SoftmaxCrossEntropy.lossAndGradient(logits: z, labels: [2])
        XCTAssertEqual(loss, Float(log(2.0)), accuracy: 1e-6)
        XCTAssertEqual(g.scalars[0], 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(g.scalars[1], 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(g.scalars[2], -0.5, accuracy: 1e-6)
        XCTAssertEqual(SoftmaxCrossEntropy.softmax(z.scalars[...]), [1.0 / 6, 2.0 / 6, 3.0 / 6].map(Float.init))
    }

    // MARK: Normalisations — batchSize: Σ w ℓ / N; weightSum: Σ w ℓ / Σ w
    // Two samples with ℓ = ln 2 (above) and ℓ = ln 3 (z = 0,0,0): weights 1 and 3.

    func testTheTwoNormalisations() {
        let z = Tensor(shape: [2, 3], scalars: [0, Float(log(2.0)), Float(log(3.0)), 0, 0, 0])
        let byBatch = SoftmaxCrossEntropy.loss(logits: z, labels: [2, 0], sampleWeights: [1, 3])
        XCTAssertEqual(byBatch, Float((log(2.0) + 3 * log(3.0)) / 2), accuracy: 1e-6)
        let byWeight = SoftmaxCrossEntropy.loss(logits: z, labels: [2, 0], classWeights: [3, 1, 1], normalization: .weightSum)
        XCTAssertEqual(byWeight, Float((log(2.0) + 3 * log(3.0)) / 4), accuracy: 1e-6)
        // Unit weights: both are the plain mean.
        XCTAssertEqual(SoftmaxCrossEntropy.loss(logits: z, labels: [2, 0], normalization: .weightSum),
                       SoftmaxCrossEntropy.loss(logits: z, labels: [2, 0]), accuracy: 1e-7)
    }

    // MARK: Properties — every gradient row sums to 0; adding a constant to a row changes nothing;
    // finite for logits of any size.

    func testPropertiesAndExtremeLogits() {
        let z = randomTensor([5, 4], seed: 3, scale: 6)
        let labels = [0, 3, 1, 2, 3]
        let (loss, g) = SoftmaxCrossEntropy.lossAndGradient(logits: z, labels: labels, sampleWeights: [1, 2, 0.5, 1, 3])
        for i in 0..<5 { XCTAssertEqual(g.scalars[(i * 4)..<(i * 4 + 4)].reduce(0, +), 0, accuracy: 1e-6, "row \(i)") }
        let shifted = Tensor(shape: z.shape, scalars: z.scalars.map { $0 + 1000 })
        XCTAssertEqual(SoftmaxCrossEntropy.loss(logits: shifted, labels: labels, sampleWeights: [1, 2, 0.5, 1, 3]), loss, accuracy: 1e-3)
        // z_y = −1e4 against 1e4: ℓ = 2e4 exactly, where log(softmax) would give −log(0) = ∞.
        let extreme = Tensor(shape: [1, 2], scalars: [1e4, -1e4])
        let (big, bigGradient) = SoftmaxCrossEntropy.lossAndGradient(logits: extreme, labels: [1])
        XCTAssertEqual(big, 2e4)
        XCTAssertEqual(bigGradient.scalars, [1, -1])
    }

    // MARK: Finite differences — ∂L/∂z_ik ≈ (L(z + h e_ik) − L(z − h e_ik)) / 2h (h = 1e-2, Float)

    func testGradientMatchesFiniteDifferences() {
        let z = randomTensor([3, 4], seed: 8, scale: 2)
        let labels = [1, 0, 3], weights: [Float] = [0.5, 2, 1], classes: [Float] = [1, 1.5, 0.7, 1.2]
        for normalization in [SoftmaxCrossEntropy.Normalization.batchSize, .weightSum] {
            let g = SoftmaxCrossEntropy.lossAndGradient(logits: z, labels: labels, sampleWeights: weights, classWeights: classes,
                                                        normalization: normalization).gradient
            for index in 0..<z.count {
                var plus = z, minus = z
                plus.scalars[index] += 1e-2
                minus.scalars[index] -= 1e-2
                let numeric = (SoftmaxCrossEntropy.loss(logits: plus, labels: labels, sampleWeights: weights, classWeights: classes, normalization: normalization)
                    - SoftmaxCrossEntropy.loss(logits: minus, labels: labels, sampleWeights: weights, classWeights: classes, normalization: normalization)) / 2e-2
                XCTAssertEqual(g.scalars[index], numeric, accuracy: 2e-3, "\(normalization) index \(index)")
            }
        }
    }

    // MARK: PyTorch CrossEntropyLoss(weight=c) and the sample-weighted mean; Keras from_logits

    func testLossAndGradientMatchPyTorchAndKeras() throws {
        let f = try fixture("softmax_ce")
        let z = f["logits"]!, labels = f["labels"]!.scalars.map { Int($0) }
        let s = f["sample_weights"]!.scalars, c = f["class_weights"]!.scalars
        // PyTorch: Σ c_y ℓ / Σ c_y.
        let torchClass = SoftmaxCrossEntropy.lossAndGradient(logits: z, labels: labels, classWeights: c, normalization: .weightSum)
        XCTAssertEqual(torchClass.loss, f["torch_loss_classweights"]!.scalars[0], accuracy: 1e-6 * f["torch_loss_classweights"]!.scalars[0])
        XCTAssertLessThan(relativeError(torchClass.gradient, f["torch_grad_classweights"]!), 1e-6)
        // The training loop's convention: Σ s c_y ℓ / N.
        let mean = SoftmaxCrossEntropy.lossAndGradient(logits: z, labels: labels, sampleWeights: s, classWeights: c)
        XCTAssertEqual(mean.loss, f["torch_loss_sampleweights"]!.scalars[0], accuracy: 1e-6 * f["torch_loss_sampleweights"]!.scalars[0])
        XCTAssertLessThan(relativeError(mean.gradient, f["torch_grad_sampleweights"]!), 1e-6)
        // The two conventions differ on these weights: a loss that used the other one fails above.
        XCTAssertGreaterThan(abs(torchClass.loss - mean.loss), 1)
        guard let keras = f["keras_loss_sampleweights"], let kerasLosses = f["keras_losses"] else {
            throw XCTSkip("the fixture was written without Keras")
        }
        XCTAssertEqual(mean.loss, keras.scalars[0], accuracy: 1e-5 * keras.scalars[0], "Keras sum_over_batch_size with sample_weight")
        if let kerasGradient = f["keras_grad_sampleweights"] {
            XCTAssertLessThan(relativeError(mean.gradient, kerasGradient), 1e-5, "Keras' gradient (tf.GradientTape)")
        }
        for i in labels.indices {
            let one = Tensor(shape: [1, 3], scalars: Array(z.scalars[(i * 3)..<(i * 3 + 3)]))
            let ours = SoftmaxCrossEntropy.loss(logits: one, labels: [labels[i]])
            XCTAssertEqual(ours, kerasLosses.scalars[i], accuracy: 1e-5 * max(1, kerasLosses.scalars[i]), "sample \(i)")
            XCTAssertEqual(ours, f["torch_losses"]!.scalars[i], accuracy: 1e-5 * max(1, ours), "sample \(i)")
        }
    }

    // MARK: The 3-class head: VGG16 names, dense_1 5 -> 3; forward, softmax, gradients, one Adam step

    func testThreeClassVGGMatchesPyTorch() throws {
        let f = try fixture("vgg_narrow_3class")
        var rng = SplitMix64(seed: 0)
        let model = try Architecture.vgg16.make(rng: &rng, widths: [4, 6, 8, 8, 8], headUnits: 5, outputs: 3, inputShape: [32, 32, 3])
        XCTAssertEqual(model.outputCount, 3)
        let names = Set(model.parameters.map(\.name))
        try model.load(namedTensors: f.filter { names.contains($0.key) }, source: "vgg_narrow_3class")
        let x = f["input"]!
        XCTAssertLessThan(relativeError(Tensor(shape: [4, 3], scalars: try model.probabilities(images: x)), f["probabilities"]!), 1e-4)

        try model.unfreeze(["base"])
        var ctx = ForwardContext(training: true)
        let logits = try model.logits(images: x, context: &ctx)
        XCTAssertEqual(logits.shape, [4, 3])
        XCTAssertLessThan(relativeError(logits, f["logits"]!), 1e-4)
        let (loss, dz) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: f["labels"]!.scalars.map { Int($0) },
                                                             sampleWeights: f["sample_weights"]!.scalars)
        XCTAssertEqual(loss, f["loss"]!.scalars[0], accuracy: 1e-5 * max(1, loss))
        try model.backward(dz)
        for p in model.trainableParameters {
            XCTAssertLessThan(relativeError(p.gradient, f["grad/\(p.name)"]!), 1e-4, "gradient of \(p.name)")
        }
        Adam(learningRate: 1e-2, epsilon: 1e-7).step(model.trainableParameters)
        for p in model.trainableParameters {
            XCTAssertLessThan(relativeError(p.value, f["adam/\(p.name)"]!), 1e-4, "Adam step of \(p.name)")
        }
    }

    func testSmallHasNOutputsAndSoftmaxRows() throws {
        var rng = SplitMix64(seed: 4)
        let model = try Architecture.small.make(rng: &rng, widths: [4, 8], headUnits: 6, outputs: 4, inputShape: [16, 16, 3])
        XCTAssertEqual(model.outputCount, 4)
        XCTAssertEqual(model.head.last?.parameters.first?.value.shape, [6, 4], "dense_1 kernel (in, out)")
        let p = try model.probabilities(images: randomTensor([2, 16, 16, 3], seed: 1))
        XCTAssertEqual(p.count, 8)
        for i in 0..<2 { XCTAssertEqual(p[(i * 4)..<(i * 4 + 4)].reduce(0, +), 1, accuracy: 1e-5) }
    }
}
