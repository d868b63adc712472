import CNN
import Evaluation
import Foundation
import SonoKitCore
import Preprocess
import Training

/// A trained run whose network is set by hand to detect bright blobs, for tests of prediction,
/// reports and Grad-CAM.
///
/// Why hand-set and not trained: a test of Grad-CAM must know where the network looks. This
/// network is a `small` architecture with one block of 4 filters in which only filter 0 is live:
///
///   A(x, y)  = ReLU( mean of the 3x3x3 neighbourhood of (x, y) − b )      (block1_relu, channel 0)
///   z        = 20 · GAP(maxpool(A)) − 1,  p = σ(z)                         (head: identity, x20)
///
/// with inputs normalised to 0...1 ("unit") and b = 0.35, so A is positive exactly where the
/// picture is brighter than 35% and z grows with the bright area. Grad-CAM of z at block1_relu is
/// α_0 · A_0 with α_0 > 0: its peak is where the 3x3 mean brightness is largest, i.e. inside the
/// blob, and a transposed, flipped or shifted map misses an off-centre blob. A trained network
/// would make the same test depend on what the optimiser found.
public enum HandSetRun {
    /// Writes the run into `directory` (model card with a fixed threshold `threshold` and mean
    /// aggregation) and returns it loaded back through `TrainedRun(directory:)`.
    @discardableResult
    public static func write(to directory: String, size: Int = 64, crop: CropMode = .regions,
                             frames: FramePolicy = .uniform(2), threshold: Double = 0.5) throws -> TrainedRun {
        let spec = NetworkSpec(architecture: .small, headUnits: 2, headDropout: 0, widths: [4], inputSize: size)
        var rng = SplitMix64(seed: 1)
        let model = try spec.make(rng: &rng)
        var values: [String: Tensor] = [:]
        var kernel = [Float](repeating: 0, count: 3 * 3 * 3 * 4)
        for i in stride(from: 0, to: kernel.count, by: 4) { kernel[i] = 1.0 / 27 }     // HWIO: filter 0 averages
        values["block1_conv.kernel"] = Tensor(shape: [3, 3, 3, 4], scalars: kernel)
        values["block1_conv.bias"] = Tensor(shape: [4], scalars: [-0.35, 0, 0, 0])
        values["block1_bn.gamma"] = Tensor(repeating: 1, shape: [4])
        values["block1_bn.beta"] = Tensor(repeating: 0, shape: [4])
        values["block1_bn.moving_mean"] = Tensor(repeating: 0, shape: [4])
        values["block1_bn.moving_variance"] = Tensor(repeating: 1, shape: [4])
        values["dense.kernel"] = Tensor(shape: [4, 2], scalars: [1, 0, 0, 0, 0, 0, 0, 0])
        values["dense.bias"] = Tensor(repeating: 0, shape: [2])
        values["dense_1.kernel"] = Tensor(shape: [2, 1], scalars: [20, 0])
        values["dense_1.bias"] = Tensor(shape: [1], scalars: [-1])
        try model.load(namedTensors: values, source: "hand-set brightness detector")
        let preprocess = PreprocessConfig(frames: frames, crop: crop, normalize: .unit, size: size)
        let card = ModelCard(
            modelID: "", architecture: "small", weightsSHA256: "", weightsOrigin: "hand-set test network (bright-blob detector)",
            frozenLayers: [], preprocess: preprocess, preprocessHash: preprocess.hash, classes: ["benign", "malignant"],
            positiveClass: "malignant", manifestHash: String(repeating: "0", count: 64), seed: 1,
            threshold: .fixed(threshold), aggregation: .mean, softwareVersions: ["sonokit": "test"],
            createdAt: "2026-11-25T00:00:00Z", network: spec)
        return try TrainedRun.write(model: model, card: card, to: directory)
    }
}
