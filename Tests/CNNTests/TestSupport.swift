import Foundation
import XCTest
@testable import CNN
import SonoKitCore

/// Fixtures written by scripts/fixtures/cnn/make_fixtures.py (PyTorch).
func fixture(_ name: String) throws -> [String: Tensor] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
        throw XCTSkip("fixture \(name) not in the test bundle")
    }
    return try SafeTensors.read(url).tensors
}

func fixtureURL(_ name: String) -> URL? {
    Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures")
}

/// Random tensor with values uniform in [-scale, scale).
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform(limit: scale) })
}

/// max |a − b| / max(max |b|, floor): the relative error used for parity checks.
func relativeError(_ a: Tensor, _ b: Tensor, floor: Float = 1e-6) -> Float {
    a.maxAbsDifference(b) / max(b.maxAbs, floor)
}

func temporaryDirectory() -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}
