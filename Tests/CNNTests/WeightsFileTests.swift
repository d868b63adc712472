import XCTest
@testable import CNN
import SonoKitCore

/// Weights in and out: safetensors round trip, atomic writes with a JSON sidecar, and loading
/// errors that name the offending tensor.
final class WeightsFileTests: XCTestCase {
    func smallModel(seed: UInt64 = 1) throws -> Model {
        var rng = SplitMix64(seed: seed)
        return try Architecture.small.make(rng: &rng, widths: [4, 8], headUnits: 6, inputShape: [16, 16, 3])
    }

    // MARK: Format — u64 LE header length, JSON header, raw little-endian data

    func testSafeTensorsLayoutByHand() throws {
        let data = try SafeTensors.encode(["a": Tensor(shape: [2], scalars: [1, -2])])
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: data[8..<(8 + Int(n))], as: UTF8.self)
        XCTAssertTrue(header.contains("\"data_offsets\":[0,8]"), header)
        XCTAssertTrue(header.contains("\"dtype\":\"F32\""))
        XCTAssertEqual(data.count, 8 + Int(n) + 8)
        XCTAssertEqual(Array(data.suffix(8)), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])  // 1.0f, -2.0f
    }

    func testSaveAndLoadRoundTripWithSidecar() throws {
        let a = try smallModel(seed: 1)
        let dir = temporaryDirectory()
        let url = dir.appendingPathComponent("w.safetensors")
        try a.saveWeights(to: url, metadata: ["note": "test"])
        let sidecar = try JSONDecoder().decode(WeightsSidecar.self, from: Data(contentsOf: url.appendingPathExtension("json")))
        XCTAssertEqual(sidecar.model, "small")
        XCTAssertEqual(sidecar.tensors.count, a.parameters.count)
        XCTAssertEqual(sidecar.metadata["note"], "test")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("w.safetensors") }
        XCTAssertEqual(leftovers, [], "atomic writes leave no temporary files")
        let b = try smallModel(seed: 2)
        XCTAssertNotEqual(a.namedTensors, b.namedTensors)
        try b.loadWeights(from: url)
        XCTAssertEqual(a.namedTensors, b.namedTensors)
    }

    // MARK: Errors name the tensor

    func testWrongShapeNamesTheTensor() throws {
        let m = try smallModel()
        var t = m.namedTensors
        t["block2_conv.kernel"] = .zeros([3, 3, 4, 9])
        let url = temporaryDirectory().appendingPathComponent("bad.safetensors")
        try SafeTensors.write(t, to: url)
        XCTAssertThrowsError(try m.loadWeights(from: url)) { e in
            XCTAssertEqual(e as? CNNError, .wrongShape(file: url.path, name: "block2_conv.kernel", expected: [3, 3, 4, 8], got: [3, 3, 4, 9]))
            XCTAssertTrue("\(e)".contains("block2_conv.kernel"))
        }
    }

    func testMissingAndUnexpectedTensors() throws {
        let m = try smallModel()
        var t = m.namedTensors
        t["block1_bn.gamma"] = nil
        let url = temporaryDirectory().appendingPathComponent("missing.safetensors")
        try SafeTensors.write(t, to: url)
        XCTAssertThrowsError(try m.loadWeights(from: url)) { e in
            XCTAssertEqual(e as? CNNError, .missingTensor(file: url.path, name: "block1_bn.gamma"))
        }
        var u = m.namedTensors
        u["fc8.weight"] = .zeros([2])
        let url2 = temporaryDirectory().appendingPathComponent("extra.safetensors")
        try SafeTensors.write(u, to: url2)
        XCTAssertThrowsError(try m.loadWeights(from: url2)) { e in
            XCTAssertEqual(e as? CNNError, .unexpectedTensor(file: url2.path, names: ["fc8.weight"]))
        }
    }

    func testNotASafeTensorsFile() throws {
        let url = temporaryDirectory().appendingPathComponent("junk.safetensors")
        try Data("hello, this is not a weights file".utf8).write(to: url)
        XCTAssertThrowsError(try SafeTensors.read(url)) { e in
            XCTAssertTrue("\(e)".contains(url.path), "\(e)")
        }
    }

    func testKerasH5StylePathsAreAccepted() {
        XCTAssertEqual(Model.canonicalName("block1_conv1/block1_conv1/kernel:0")?.name, "block1_conv1.kernel")
        XCTAssertEqual(Model.canonicalName("block1_conv1/kernel")?.name, "block1_conv1.kernel")
        XCTAssertEqual(Model.canonicalName("features.28.bias")?.name, "block5_conv3.bias")
        XCTAssertEqual(Model.canonicalName("features.0.weight")?.name, "block1_conv1.kernel")
    }
}
