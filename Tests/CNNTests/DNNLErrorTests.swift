import CDNNL
import XCTest
@testable import CNN
import SonoKitCore

/// oneDNN failures and bad shapes end one operation with an error naming the layer and the
/// operation; they never stop the process (there is no fatalError in the oneDNN wrapper).
final class DNNLErrorTests: XCTestCase {
    func testOneDNNRefusalIsAThrownErrorNamingTheOperation() {
        // A negative extent: oneDNN answers invalid_arguments.
        XCTAssertThrowsError(try DNNL.desc([2, -3], dnnl_f32, dnnl_ab)) { error in
            guard case let CNNError.oneDNN(operation, status) = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue(operation.contains("[2, -3]"), operation)
            XCTAssertTrue(status.contains("invalid_arguments"), status)
            XCTAssertTrue("\(error)".hasPrefix("oneDNN could not describe a memory of [2, -3]"), "\(error)")
        }
    }

    func testUnimplementedPrimitiveNamesTheLayer() throws {
        // A convolution whose kernel is larger than its padded input has no implementation.
        var src = try DNNL.desc([1, 3, 2, 2], dnnl_f32, dnnl_nhwc)
        var dst = try DNNL.desc([1, 4, 2, 2], dnnl_f32, dnnl_nhwc)
        var wts = try DNNL.desc([4, 3, 3, 3], dnnl_f32, dnnl_format_tag_any)
        var op = dnnl_convolution_desc_t()
        let status = dnnl_convolution_forward_desc_init(&op, dnnl_forward_inference, dnnl_convolution_direct, &src, &wts, nil, &dst,
                                                        DNNL.dimArray([1, 1]), DNNL.dimArray([0, 0]), DNNL.dimArray([0, 0]))
        XCTAssertThrowsError(try DNNL.check(status, "describe test_conv forward")) { error in
            XCTAssertTrue("\(error)".contains("test_conv forward"), "\(error)")
        }
    }

    func testWrongInputShapesThrowNamingTheLayer() throws {
        var rng = SplitMix64(seed: 1)
        var context = ForwardContext(training: false)
        let conv = Conv2D(name: "block9_conv1", inputChannels: 3, filters: 4, activation: .relu, rng: &rng)
        XCTAssertThrowsError(try conv.forward(.zeros([1, 8, 8, 5]), keepForBackward: false, context: &context)) { error in
            guard case CNNError.shapeMismatch(let layer, _, let got) = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertEqual(layer, "block9_conv1")
            XCTAssertEqual(got, [1, 8, 8, 5])
        }
        let bn = BatchNorm(name: "bn9", channels: 4)
        XCTAssertThrowsError(try bn.forward(.zeros([1, 2, 2, 3]), keepForBackward: false, context: &context))
        let dense = Dense(name: "dense9", inputFeatures: 6, units: 2, rng: &rng)
        XCTAssertThrowsError(try dense.forward(.zeros([2, 5]), keepForBackward: false, context: &context))
        let pool = MaxPool2D(name: "pool9", poolSize: 4)
        XCTAssertThrowsError(try pool.forward(.zeros([1, 2, 2, 3]), keepForBackward: false, context: &context))
    }
}
