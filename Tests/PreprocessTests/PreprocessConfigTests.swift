import DICOM
import Foundation
import XCTest
@testable import Preprocess

final class PreprocessConfigTests: XCTestCase {
    // MARK: Stable hash: SHA-256 of the canonical JSON (sorted keys, no spaces, integers plain)
    // The literals were computed outside Swift: `printf '%s' '<canonical json>' | sha256sum`.
    // A change here means every cache, feature file and report made so far is orphaned: only
    // acceptable together with a bump of `algorithmVersion`.
    func testDefaultConfigHasTheCommittedHash() {
        let config = PreprocessConfig.standard
        XCTAssertEqual(config.canonicalJSON,
                       #"{"algorithm_version":2,"aspect":"pad","crop":"regions","frames":"uniform:8","interpolation":"area","normalize":"caffe","size":224,"window":null}"#)
        XCTAssertEqual(config.hash, "1db5286872c5560dba24bcc3b1e0ea45be93de2ef6601a5375e32a8a12cc02f1")
        XCTAssertEqual(config.shortHash, "1db5286872c5")
    }

    func testEveryFieldSetHasTheCommittedHash() {
        let config = PreprocessConfig(frames: .stride(3), crop: .auto, window: VOIWindow(center: 40, width: 400.5),
                                      aspect: .stretch, interpolation: .nearest, normalize: .imagenet, size: 128)
        XCTAssertEqual(config.canonicalJSON,
                       #"{"algorithm_version":2,"aspect":"stretch","crop":"auto","frames":"stride:3","interpolation":"nearest","normalize":"imagenet","size":128,"window":{"center":40,"width":400.5}}"#)
        XCTAssertEqual(config.hash, "678232f86d05dc9b1503b16183b6c191cef416c94ca6eb80423aa8d95b7d4f86")
    }

    // MARK: Same options => same hash; any change => a new hash
    func testEqualConfigsHashEquallyAndEveryFieldChangesTheHash() throws {
        let base = PreprocessConfig.standard
        XCTAssertEqual(base.hash, PreprocessConfig().hash)
        // Through JSON and back (what a checkpoint or report stores) the hash is unchanged.
        let decoded = try JSONDecoder().decode(PreprocessConfig.self, from: JSONEncoder().encode(base))
        XCTAssertEqual(decoded.hash, base.hash)
        var variants: [String: PreprocessConfig] = [:]
        func variant(_ name: String, _ change: (inout PreprocessConfig) -> Void) {
            var c = base; change(&c); variants[name] = c
        }
        variant("frames") { $0.frames = .uniform(9) }
        variant("frames kind") { $0.frames = .stride(8) }
        variant("crop") { $0.crop = .auto }
        variant("window") { $0.window = VOIWindow(center: 40, width: 400) }
        variant("window centre") { $0.window = VOIWindow(center: 41, width: 400) }
        variant("window width") { $0.window = VOIWindow(center: 40, width: 400.25) }
        variant("aspect") { $0.aspect = .crop }
        variant("interpolation") { $0.interpolation = .bilinear }
        variant("normalize") { $0.normalize = .unit }
        variant("size") { $0.size = 256 }
        var seen = [base.hash: "base"]
        for (name, c) in variants {
            XCTAssertNil(seen[c.hash], "\(name) gives the same hash as \(seen[c.hash] ?? "")")
            seen[c.hash] = name
        }
    }

    // MARK: The pixel hash ignores what does not change the 8-bit pixels
    func testPixelHashIgnoresNormalisationAndFramePolicyOnly() {
        var a = PreprocessConfig.standard, b = a
        b.normalize = .imagenet; b.frames = .all
        XCTAssertEqual(a.pixelHash, b.pixelHash)
        XCTAssertNotEqual(a.hash, b.hash)
        a.crop = .none
        XCTAssertNotEqual(a.pixelHash, b.pixelHash)
    }

    // MARK: Number formatting is fixed
    func testCanonicalNumbers() {
        XCTAssertEqual(PreprocessConfig.canonicalNumber(40), "40")
        XCTAssertEqual(PreprocessConfig.canonicalNumber(-1024), "-1024")
        XCTAssertEqual(PreprocessConfig.canonicalNumber(0.1), "0.1")
        XCTAssertEqual(PreprocessConfig.canonicalNumber(400.5), "400.5")
    }

    func testValidation() {
        XCTAssertNoThrow(try PreprocessConfig.standard.validate())
        XCTAssertThrowsError(try PreprocessConfig(size: 0).validate())
        XCTAssertThrowsError(try PreprocessConfig(window: VOIWindow(center: 0, width: 0.5)).validate())
    }
}

final class FramePolicyTests: XCTestCase {
    // MARK: Parsing round trip
    func testParsingAndSpelling() throws {
        for text in ["all", "first", "middle", "uniform:8", "stride:2"] {
            XCTAssertEqual(try FramePolicy(parsing: text).text, text)
        }
        for bad in ["uniform", "uniform:0", "stride:-1", "every:2", "uniform:x", ""] {
            XCTAssertThrowsError(try FramePolicy(parsing: bad), bad)
        }
    }

    // MARK: uniform:N picks floor((2i+1) n / 2N): segment centres
    // n = 10, N = 4: floor(10/8)=1, floor(30/8)=3, floor(50/8)=6, floor(70/8)=8.
    func testUniformPicksSegmentCentres() {
        XCTAssertEqual(FramePolicy.uniform(4).select(frameCount: 10).indices, [1, 3, 6, 8])
        XCTAssertEqual(FramePolicy.uniform(1).select(frameCount: 10).indices, [5])
        XCTAssertEqual(FramePolicy.middle.select(frameCount: 10).indices, [5])
        XCTAssertEqual(FramePolicy.first.select(frameCount: 10).indices, [0])
        XCTAssertEqual(FramePolicy.stride(4).select(frameCount: 10).indices, [0, 4, 8])
        XCTAssertEqual(FramePolicy.all.select(frameCount: 3).indices, [0, 1, 2])
    }

    // MARK: Never a frame twice; clamped with a warning
    func testNoFrameIsSelectedTwiceAndAskingTooMuchIsClampedWithAWarning() {
        for n in 1...40 {
            for policy in [FramePolicy.all, .first, .middle, .uniform(1), .uniform(3), .uniform(8), .uniform(40), .stride(1), .stride(7)] {
                let s = policy.select(frameCount: n)
                XCTAssertEqual(Set(s.indices).count, s.indices.count, "\(policy.text) n=\(n)")
                XCTAssertEqual(s.indices, s.indices.sorted())
                XCTAssertTrue(s.indices.allSatisfy { (0..<n).contains($0) })
            }
        }
        let clamped = FramePolicy.uniform(8).select(frameCount: 1)
        XCTAssertEqual(clamped.indices, [0])
        XCTAssertEqual(clamped.warnings.count, 1)
        XCTAssertTrue(clamped.warnings[0].contains("8"))
        XCTAssertTrue(FramePolicy.uniform(8).select(frameCount: 8).warnings.isEmpty)
        XCTAssertEqual(FramePolicy.first.select(frameCount: 0).indices, [])
        XCTAssertEqual(FramePolicy.first.select(frameCount: 0).warnings.count, 1)
    }
}

final class NormalizationTests: XCTestCase {
    // MARK: caffe == keras.applications.vgg16.preprocess_input (BGR, minus ImageNet means, no scale)
    // MARK: imagenet == torchvision ToTensor + Normalize; unit == x / 255
    // Fixtures/normalize/*.f32 were written by Keras 3 itself (caffe) and by numpy float32 steps
    // of torchvision's arithmetic (imagenet); float32 results must agree to the last bit or
    // within one float32 ulp of the value.
    func testAgreesWithKerasAndTorchvisionFixtures() throws {
        let image = try Fixtures.png("normalize/input.png")
        for mode in Normalization.allCases {
            let expected = try Fixtures.floats("normalize/\(mode.rawValue).f32")
            let ours = mode.normalize(image)
            XCTAssertEqual(ours.count, expected.count)
            for i in 0..<ours.count {
                XCTAssertEqual(ours[i], expected[i], accuracy: max(abs(expected[i]).ulp, Float.leastNormalMagnitude),
                               "\(mode) sample \(i)")
            }
        }
    }

    func testCaffeIsBGRMinusMeans() {
        let pixel = RGBImageBuilder.single(r: 10, g: 20, b: 30)
        XCTAssertEqual(Normalization.caffe.normalize(pixel), [30 - 103.939, 20 - 116.779, 10 - 123.68])
        XCTAssertEqual(Normalization.caffe.channelOrder, "BGR")
    }

    // MARK: De-normalisation inverts normalisation on every 8-bit value
    func testDenormaliseInvertsNormalise() {
        var px: [UInt8] = []
        for v in 0...255 { px += [UInt8(v), UInt8(255 - v), UInt8((v * 7) % 256)] }
        let image = Imaging.RGBImage(width: 256, height: 1, pixels: px)
        for mode in Normalization.allCases {
            XCTAssertEqual(mode.denormalize(mode.normalize(image), width: 256, height: 1), image, "\(mode)")
        }
    }
}

import Imaging
enum RGBImageBuilder {
    static func single(r: UInt8, g: UInt8, b: UInt8) -> RGBImage { RGBImage(width: 1, height: 1, pixels: [r, g, b]) }
}

import SonoKitTestSupport

final class PreprocessConfigSchemaTests: XCTestCase {
    // MARK: What the code writes is what Schemas/preprocess-config.schema.json says
    // Checked by Debian's python3-jsonschema (an independent validator), both ways: our JSON
    // passes, and a policy the parser rejects is rejected by the schema too.
    func testEncodedConfigsValidateAgainstTheSchema() throws {
        let configs = [PreprocessConfig.standard,
                       PreprocessConfig(frames: .stride(3), crop: .auto, window: VOIWindow(center: 40, width: 400),
                                        aspect: .crop, interpolation: .nearest, normalize: .imagenet, size: 128)]
        for c in configs {
            try SchemaValidator.validate(JSONEncoder().encode(c), against: "preprocess-config.schema.json")
        }
        let bad = Data(#"{"frames":"uniform:0","crop":"auto","aspect":"pad","interpolation":"area","normalize":"caffe","size":224}"#.utf8)
        XCTAssertThrowsError(try SchemaValidator.validate(bad, against: "preprocess-config.schema.json"))
        XCTAssertThrowsError(try JSONDecoder().decode(PreprocessConfig.self, from: bad))
    }
}
