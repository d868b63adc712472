import XCTest
@testable import CNN
import SonoKitCore

/// Gradient checks: every layer's backward against central finite differences.
///
/// The scalar tested is L(x, θ) = Σ_i r_i · f(x, θ)_i with a fixed random projection r, summed in
/// Double; backward(r) must give ∂L/∂x and ∂L/∂θ. The numerical estimate is
/// (L(v + ε) − L(v − ε)) / 2ε for a sample of coordinates v.
///
/// Tolerances: the layers compute in float32 (oneDNN), so L carries a rounding error of about
/// 6e-8 · sqrt(n) · |f| for n outputs; divided by 2ε = 2e-2 that is ~1e-4 for these sizes, and the
/// truncation error of central differences is O(ε² f''') — zero for piecewise-linear layers, ~1e-4
/// for BatchNorm and the loss. So |numerical − analytic| ≤ 2e-3 + 2e-2 |analytic| separates a
/// correct gradient from a wrong one (a wrong sign, transposition or missing term is off by O(1)).
/// Piecewise-linear layers (ReLU, max) are only differentiated where ±ε does not change which
/// units are active: coordinates where the output's sign pattern changes are skipped.
final class GradientCheckTests: XCTestCase {
    let eps: Float = 1e-2

    /// Runs the check for `layer` on `input`; `training` selects batch statistics / dropout.
    func check(_ layer: Layer, input: Tensor, training: Bool = true, samples: Int = 40, file: StaticString = #filePath, line: UInt = #line) throws {
        var ctx = ForwardContext(training: training, rng: SplitMix64(seed: 99))
        let y0 = try layer.forward(input, keepForBackward: true, context: &ctx)
        let r = randomTensor(y0.shape, seed: 7)
        func lossAndPattern(_ x: Tensor) throws -> (Double, [Bool]) {
            var c = ForwardContext(training: training, rng: SplitMix64(seed: 99))
            let y = try layer.forward(x, keepForBackward: false, context: &c)
            var s = 0.0
            for i in 0..<y.count { s += Double(r.scalars[i]) * Double(y.scalars[i]) }
            return (s, y.scalars.map { $0 > 0 })
        }
        _ = try layer.forward(input, keepForBackward: true, context: &ctx)  // same RNG state as y0
        var c2 = ForwardContext(training: training, rng: SplitMix64(seed: 99))
        _ = try layer.forward(input, keepForBackward: true, context: &c2)
        let dx = try layer.backward(r, needInputGradient: true)!
        let paramGrads = layer.trainableParameters.map { ($0, $0.gradient) }
        let basePattern = try lossAndPattern(input).1
        var rng = SplitMix64(seed: 5)
        var checked = 0, skipped = 0

        func numeric(_ set: (Float) -> Void) throws -> Double? {
            set(eps)
            let (lp, pp) = try lossAndPattern(input)
            set(-eps)
            let (lm, pm) = try lossAndPattern(input)
            set(0)
            if pp != basePattern || pm != basePattern { return nil }
            return (lp - lm) / Double(2 * eps)
        }
        // Input gradient.
        var x = input
        for _ in 0..<samples {
            let i = Int(rng.next() % UInt64(x.count))
            let original = x.scalars[i]
            set: do {
                var plus = x; plus.scalars[i] = original + eps
                var minus = x; minus.scalars[i] = original - eps
                let (lp, pp) = try lossAndPattern(plus)
                let (lm, pm) = try lossAndPattern(minus)
                if pp != basePattern || pm != basePattern { skipped += 1; break set }
                let num = (lp - lm) / Double(2 * eps)
                let ana = Double(dx.scalars[i])
                XCTAssertLessThanOrEqual(abs(num - ana), 2e-3 + 2e-2 * abs(ana),
                                         "\(layer.name): dL/dx[\(i)] analytic \(ana) numeric \(num)", file: file, line: line)
                checked += 1
            }
            x = input
        }
        // Parameter gradients.
        for (p, grad) in paramGrads {
            let original = p.value
            for _ in 0..<min(samples, p.value.count) {
                let i = Int(rng.next() % UInt64(p.value.count))
                guard let num = try numeric({ e in var v = original; v.scalars[i] += e; p.value = v }) else { skipped += 1; continue }
                let ana = Double(grad.scalars[i])
                XCTAssertLessThanOrEqual(abs(num - ana), 2e-3 + 2e-2 * abs(ana),
                                         "\(p.name)[\(i)]: analytic \(ana) numeric \(num)", file: file, line: line)
                checked += 1
            }
            p.value = original
        }
        XCTAssertGreaterThan(checked, samples / 2, "\(layer.name): too few coordinates checked (\(skipped) skipped at kinks)", file: file, line: line)
    }

    // MARK: Conv2D — y = act(x ⋆ K + b), cross-correlation, TF "same"/"valid" padding

    func testConv2D3x3SameReLU() throws {
        var rng = SplitMix64(seed: 1)
        let conv = Conv2D(name: "c", inputChannels: 3, filters: 4, activation: .relu, rng: &rng)
        conv.bias.value = randomTensor([4], seed: 2, scale: 0.3)
        try check(conv, input: randomTensor([2, 6, 5, 3], seed: 3))
    }

    func testConv2DStride2ValidLinear() throws {
        var rng = SplitMix64(seed: 4)
        let conv = Conv2D(name: "c", inputChannels: 2, filters: 3, kernelSize: 3, stride: 2, padding: .valid, rng: &rng)
        try check(conv, input: randomTensor([2, 7, 8, 2], seed: 5))
    }

    func testConv2D5x5Stride2Same() throws {
        // Same padding with an odd total: TF puts the extra row/column after.
        var rng = SplitMix64(seed: 6)
        let conv = Conv2D(name: "c", inputChannels: 2, filters: 2, kernelSize: 5, stride: 2, padding: .same, rng: &rng)
        try check(conv, input: randomTensor([1, 8, 6, 2], seed: 7))
    }

    // MARK: MaxPool2D — y = max over each 2x2 window; dx routes dy to the argmax

    func testMaxPool() throws {
        // Distinct values 0.05 apart so ±ε never changes an argmax.
        var rng = SplitMix64(seed: 8)
        var values = (0..<(2 * 6 * 6 * 3)).map { Float($0) * 0.05 }
        values.shuffle(using: &rng)
        try check(MaxPool2D(name: "p"), input: Tensor(shape: [2, 6, 6, 3], scalars: values))
    }

    func testMaxPoolSameStride1() throws {
        var rng = SplitMix64(seed: 9)
        var values = (0..<(1 * 5 * 5 * 2)).map { Float($0) * 0.05 }
        values.shuffle(using: &rng)
        try check(MaxPool2D(name: "p", poolSize: 3, stride: 1, padding: .same), input: Tensor(shape: [1, 5, 5, 2], scalars: values))
    }

    // MARK: GlobalAveragePool — y[n,c] = mean over (h, w) of x[n,h,w,c]

    func testGlobalAveragePool() throws {
        try check(GlobalAveragePool(), input: randomTensor([3, 4, 5, 6], seed: 10))
    }

    // MARK: Dense — y = act(xW + b)

    func testDenseLinearAndReLU() throws {
        var rng = SplitMix64(seed: 11)
        try check(Dense(name: "d", inputFeatures: 7, units: 5, rng: &rng), input: randomTensor([4, 7], seed: 12))
        let relu = Dense(name: "dr", inputFeatures: 7, units: 5, activation: .relu, rng: &rng)
        relu.bias.value = randomTensor([5], seed: 13, scale: 0.5)
        try check(relu, input: randomTensor([4, 7], seed: 14))
    }

    // MARK: BatchNorm (training) — y = γ (x − μ_B) / sqrt(σ²_B + ε) + β with batch statistics

    func testBatchNormTraining() throws {
        let bn = BatchNorm(name: "bn", channels: 3)
        bn.gamma.value = Tensor(shape: [3], scalars: [1.5, 0.7, -0.4])
        bn.beta.value = Tensor(shape: [3], scalars: [0.1, -0.2, 0.3])
        try check(bn, input: randomTensor([2, 3, 4, 3], seed: 15, scale: 2))
    }

    func testBatchNormFrozenUsesMovingStatistics() throws {
        let bn = BatchNorm(name: "bn", channels: 2)
        bn.movingMean.value = Tensor(shape: [2], scalars: [0.5, -1])
        bn.movingVariance.value = Tensor(shape: [2], scalars: [4, 0.25])
        bn.isFrozen = true
        try check(bn, input: randomTensor([2, 3, 3, 2], seed: 16))
    }

    // MARK: ReLU and Dropout

    func testReLU() throws {
        // |x| ≥ 0.05 > ε: no coordinate sits on the kink.
        let x = randomTensor([2, 3, 3, 4], seed: 17).scalars.map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
        try check(ReLU(name: "r"), input: Tensor(shape: [2, 3, 3, 4], scalars: x))
    }

    func testDropoutTraining() throws {
        // The same seed gives the same mask in every forward, so the layer is linear in x.
        try check(Dropout(name: "do", rate: 0.3), input: randomTensor([4, 10], seed: 18))
    }

    // MARK: Loss — ℓ = w (max(z,0) − z y + log(1 + e^{−|z|})), L = mean ℓ, dL/dz = w (σ(z) − y) / N

    func testBinaryCrossEntropyGradient() throws {
        let z = Tensor(shape: [4, 1], scalars: [-3, -0.2, 0.7, 5])
        let y: [Float] = [1, 0, 1, 0]
        let w: [Float] = [2, 1, 0.5, 3]
        let (_, g) = BinaryCrossEntropy.lossAndGradient(logits: z, labels: y, weights: w)
        for i in 0..<4 {
            var p = z, m = z
            p.scalars[i] += 1e-2
            m.scalars[i] -= 1e-2
            let num = (Double(BinaryCrossEntropy.loss(logits: p, labels: y, weights: w)) -
                       Double(BinaryCrossEntropy.loss(logits: m, labels: y, weights: w))) / 2e-2
            XCTAssertEqual(num, Double(g.scalars[i]), accuracy: 1e-4 + 1e-3 * abs(num))
        }
    }

    func testBinaryCrossEntropyIsStableForLargeLogits() throws {
        // Naive −log σ(z) gives inf at z = −200 (σ underflows); the stable form gives 200.
        let (loss, g) = BinaryCrossEntropy.lossAndGradient(logits: Tensor(shape: [2, 1], scalars: [-200, 300]), labels: [1, 0])
        XCTAssertEqual(loss, 250, accuracy: 1e-3)
        XCTAssertEqual(g.scalars, [-0.5, 0.5])
        // Hand-computed: z = 0, y = 1: log 2.
        XCTAssertEqual(BinaryCrossEntropy.loss(logits: Tensor(shape: [1], scalars: [0]), labels: [1]), Float(log(2.0)), accuracy: 1e-7)
    }
}
