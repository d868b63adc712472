import XCTest
@testable import CNN
import SonoKitCore

/// Keras' own weight files (legacy .h5 and Keras 3 .weights.h5, written by Keras 3.15's writers)
/// read through libhdf5, and forward parity with Keras' own outputs on the same weights and input.
/// Fixtures: scripts/fixtures/cnn/make_fixtures.py (keras_fixtures). Criterion: relative error
/// < 1e-4 (Keras computes in float32, so this is float32 against float32).
final class KerasParityTests: XCTestCase {
    func h5(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing (made only when keras is installed)")
        }
        return url
    }

    func narrowVGG() throws -> Model {
        var rng = SplitMix64(seed: 11)
        return try Architecture.vgg16.make(rng: &rng, widths: [4, 6, 8, 8, 8], headUnits: 5, inputShape: [32, 32, 3])
    }

    // MARK: Legacy .h5 notop (the format of vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5)

    func testLegacyH5NotopLoadsTheBase() throws {
        let model = try narrowVGG()
        let origin = try model.loadWeights(from: try h5("vgg_narrow_keras.h5"))
        XCTAssertEqual(origin.naming, "keras-h5")
        XCTAssertEqual(origin.loadedLayers.count, 13)
        let f = try fixture("vgg_narrow")
        for p in model.base.flatMap(\.parameters) { XCTAssertEqual(p.value, f[p.name], p.name) }
        let keras = try fixture("keras_reference")
        XCTAssertLessThan(relativeError(try model.features(f["input"]!), keras["vgg_features"]!), 1e-4)
    }

    // MARK: Keras 3 .weights.h5, whole model: probabilities σ(z) against Keras' sigmoid output

    func testKeras3WeightsH5WholeModelMatchesKerasOutput() throws {
        let model = try narrowVGG()
        let origin = try model.loadWeights(from: try h5("vgg_narrow_keras.weights.h5"))
        XCTAssertEqual(origin.loadedLayers.count, 15)
        let f = try fixture("vgg_narrow"), keras = try fixture("keras_reference")
        let p = Tensor(shape: [2, 1], scalars: try model.probabilities(images: f["input"]!))
        XCTAssertLessThan(relativeError(p, keras["vgg_probabilities"]!), 1e-4)
    }

    // MARK: BatchNormalization weights from h5 (gamma, beta, moving mean, moving variance)

    func testSmallLegacyH5MatchesKerasInference() throws {
        var rng = SplitMix64(seed: 12)
        let model = try Architecture.small.make(rng: &rng, widths: [4, 8], headUnits: 6, inputShape: [16, 16, 3])
        try model.loadWeights(from: try h5("small_narrow_keras.h5"))
        let f = try fixture("small_narrow"), keras = try fixture("keras_reference")
        let p = Tensor(shape: [3, 1], scalars: try model.probabilities(images: f["input"]!))
        XCTAssertLessThan(relativeError(p, keras["small_probabilities_eval"]!), 1e-4)
    }

    func testH5ForAnotherModelNamesTheLayers() throws {
        var rng = SplitMix64(seed: 13)
        let small = try Architecture.small.make(rng: &rng, widths: [4, 8], headUnits: 6, inputShape: [16, 16, 3])
        let url = try h5("vgg_narrow_keras.h5")
        XCTAssertThrowsError(try small.loadWeights(from: url)) { e in
            XCTAssertTrue("\(e)".contains("block1_conv1"), "\(e)")
        }
    }
}
