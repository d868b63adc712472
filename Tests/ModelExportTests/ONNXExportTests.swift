import XCTest
import CNN
import DICOM
@testable import Evaluation
import Foundation
@testable import ModelExport
import Preprocess
import SonoKitCore
import SonoKitTestSupport
import SonoKitTrainingTestSupport
import Training

/// The ONNX export against peers nobody here wrote: ONNX's checker and ONNX Runtime (PyPI `onnx`,
/// `onnxruntime`, in the venv of scripts/onnx/setup-python.sh that scripts/test.sh creates) must
/// accept the file and score SampleStudies frames as SonoKit's `TrainedRun.probabilities` (the
/// code `predict` runs) does, within 1e-5 absolute. Networks with random weights, random
/// BatchNorm statistics and calibrated heads (probabilities spread over (0, 1), so a wrong kernel
/// layout, padding or normalisation cannot hide in saturated sigmoids).
final class ONNXExportTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-onnx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: Fixtures

    /// Up to `limit` preprocessed frames of SampleStudies/SITEA instances (sorted paths), with `config`.
    func sampleFrames(_ config: PreprocessConfig, limit: Int) throws -> [PreprocessedFrame] {
        let root = RepositoryPaths.sampleStudies.appendingPathComponent("SITEA")
        let paths = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []).sorted()
        let pre = FramePreprocessor(config: config)
        var frames: [PreprocessedFrame] = []
        for p in paths where frames.count < limit {
            let path = root.appendingPathComponent(p).path
            guard DicomFile.looksLikeDICOM(path: path), let file = try? DicomFile(path: path), file.metadata.isImage,
                  let instance = try? pre.process(file) else { continue }
            frames += instance.frames.prefix(limit - frames.count)
        }
        XCTAssertEqual(frames.count, limit, "SampleStudies/SITEA should give \(limit) frames")
        return frames
    }

    func tensor(_ frames: [PreprocessedFrame], _ config: PreprocessConfig) -> Tensor {
        var x = Tensor.zeros([frames.count, config.size, config.size, 3])
        x.scalars.withUnsafeMutableBufferPointer { FramePreprocessor(config: config).writeBatch(frames, into: $0) }
        return x
    }

    /// A run of `spec` with random weights (Glorot, seeded), random BatchNorm statistics, and the
    /// last Dense layer rescaled so that the logits of `frames` have mean 0 and standard deviation
    /// 2 (probabilities between about 0.02 and 0.98). `imagenet`: the VGG16 base from the ImageNet file.
    func randomRun(_ spec: NetworkSpec, preprocess: PreprocessConfig, frames: [PreprocessedFrame], imagenet: URL? = nil,
                   name: String) throws -> TrainedRun {
        var rng = SplitMix64(seed: 2026)
        let model = try spec.make(rng: &rng)
        if let imagenet { try model.loadWeights(from: imagenet) }
        // BatchNorm statistics as training leaves them: near the statistics of the layer's input
        // (per channel, over the frames and positions), each off by a random factor, and random γ, β.
        var context = ForwardContext(training: false)
        var h = tensor(frames, preprocess)
        for layer in model.layers {
            if let bn = layer as? BatchNorm {
                func uniform(_ lo: Float, _ hi: Float) -> [Float] { (0..<bn.channels).map { _ in lo + (hi - lo) * rng.nextUnitFloat() } }
                let c = bn.channels, count = h.count / c
                var mean = [Float](repeating: 0, count: c), square = [Float](repeating: 0, count: c)
                for i in 0..<h.count { mean[i % c] += h.scalars[i]; square[i % c] += h.scalars[i] * h.scalars[i] }
                let m = mean.map { $0 / Float(count) }
                let v = (0..<c).map { max(square[$0] / Float(count) - m[$0] * m[$0], 1e-2) }
                let (dm, dv) = (uniform(-0.2, 0.2), uniform(0.7, 1.4))
                bn.movingMean.value = Tensor(shape: [c], scalars: (0..<c).map { m[$0] + dm[$0] * v[$0].squareRoot() })
                bn.movingVariance.value = Tensor(shape: [c], scalars: (0..<c).map { v[$0] * dv[$0] })
                bn.gamma.value = Tensor(shape: [c], scalars: uniform(0.5, 1.5))
                bn.beta.value = Tensor(shape: [c], scalars: uniform(-0.3, 0.3))
            }
            h = try layer.forward(h, keepForBackward: false, context: &context)
        }
        try model.freeze(["base", "head"])
        let z = try model.logits(images: tensor(frames, preprocess), context: &context).scalars.map(Double.init)
        let mean = z.reduce(0, +) / Double(z.count)
        let sd = (z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(z.count)).squareRoot()
        XCTAssertGreaterThan(sd, 0, "the random network must tell the frames apart")
        let last = model.head.compactMap { $0 as? Dense }.last!
        let a = Float(2 / sd)
        last.kernel.value = Tensor(shape: last.kernel.value.shape, scalars: last.kernel.value.scalars.map { $0 * a })
        last.bias.value = Tensor(shape: [1], scalars: [last.bias.value.scalars[0] * a - a * Float(mean)])
        let card = ModelCard(
            modelID: "", architecture: spec.architecture.rawValue, weightsSHA256: "",
            weightsOrigin: imagenet == nil ? "trained from scratch" : ModelCard.vgg16ImageNetCredit, frozenLayers: [],
            preprocess: preprocess, preprocessHash: preprocess.hash, classes: ["benign", "malignant"], positiveClass: "malignant",
            manifestHash: String(repeating: "0", count: 64), seed: 2026,
            threshold: .init(rule: .youden, value: 0.4375,
                             fittedOn: .init(split: "validation", level: .study, aggregation: .mean, samples: 12, positives: 5,
                                             negatives: 7, sensitivity: 0.8, specificity: 0.71)),
            aggregation: .mean, softwareVersions: ["sonokit": "test"], createdAt: "2026-12-07T00:00:00Z", network: spec)
        return try TrainedRun.write(model: model, card: card, to: scratch.appendingPathComponent(name).path)
    }

    /// Exports `run` for each layout and opset, checks each file with ONNX's checker and ONNX
    /// Runtime against `TrainedRun.probabilities` on `frames`, and returns the largest difference.
    @discardableResult
    func exportAndCheck(_ run: TrainedRun, frames: [PreprocessedFrame], layouts: [InputLayout] = InputLayout.allCases,
                        opsets: [Int] = [ONNXExporter.defaultOpset]) throws -> Double {
        let expected = try run.probabilities(of: frames)
        let spread = (expected.max() ?? 0) - (expected.min() ?? 0)
        XCTAssertGreaterThan(spread, 0.3, "probabilities \(expected) too alike to test the export")
        let exporter = try ONNXExporter(runDirectory: run.directory)
        var worst = 0.0
        for layout in layouts {
            for opset in opsets {
                let file = scratch.appendingPathComponent("\(run.card.architecture)-\(layout.rawValue)-\(opset).onnx")
                try exporter.write(to: file, opset: opset, layout: layout)
                let result = try ONNXCheck.run(model: file, layout: layout, images: tensor(frames, run.card.preprocess), expected: expected,
                                               metadata: ONNXExporter.metadata(card: run.card, checkpoint: .best,
                                                                               weightsSHA256: run.card.weightsSHA256, layout: layout))
                XCTAssertEqual(result.frames, frames.count)
                XCTAssertEqual(result.opset, opset)
                XCTAssertLessThanOrEqual(result.maxAbsDifference, 1e-5)
                print("ONNX export \(run.card.architecture) \(layout.rawValue) opset \(opset) (IR \(result.irVersion)): "
                      + "max |p_onnxruntime - p_sonokit| = \(result.maxAbsDifference) on \(result.frames) SampleStudies frames "
                      + "(onnx \(result.onnx), onnxruntime \(result.onnxruntime))")
                worst = max(worst, result.maxAbsDifference)
            }
        }
        return worst
    }

    // MARK: ONNX Runtime scores like SonoKit

    /// `small` (Conv, BatchNormalization with random moving statistics, Relu, MaxPool, GAP, Gemm)
    /// with caffe normalisation, both layouts, the oldest, default and newest opsets.
    func testSmallNetworkScoresLikeSonoKitInOnnxRuntime() throws {
        let pre = PreprocessConfig(frames: .uniform(2), normalize: .caffe, size: 64)
        let frames = try sampleFrames(pre, limit: 12)
        let run = try randomRun(NetworkSpec(architecture: .small, headUnits: 8, widths: [4, 8, 8], inputSize: 64),
                                preprocess: pre, frames: frames, name: "small")
        try exportAndCheck(run, frames: frames, opsets: [13, 17, 21])
    }

    /// A narrow `vgg16` (same layer names and order as the real one, 5 blocks, fused ReLU) with a
    /// Dropout in its head (left out of the ONNX graph: the identity at inference), imagenet
    /// normalisation and a non-square-friendly input side (72: pools to 36, 18, 9, 4, 2).
    func testNarrowVGG16WithDropoutScoresLikeSonoKitInOnnxRuntime() throws {
        let pre = PreprocessConfig(frames: .uniform(2), normalize: .imagenet, size: 72)
        let frames = try sampleFrames(pre, limit: 10)
        let run = try randomRun(NetworkSpec(architecture: .vgg16, headUnits: 16, headDropout: 0.5, widths: [4, 8, 8, 16, 16], inputSize: 72),
                                preprocess: pre, frames: frames, name: "vgg16-narrow")
        let proto = try ONNXExporter(runDirectory: run.directory).modelProto()
        XCTAssertFalse(proto.graph.node.contains { $0.opType == "Dropout" })
        try exportAndCheck(run, frames: frames)
    }

    /// The real VGG16 (ImageNet base, 14.7 M parameters, 224x224, caffe) as `sonokit train`
    /// builds it. Skipped, saying why, where the ImageNet weights are not installed (as the
    /// ImageNet tests of CNNTests).
    func testImageNetVGG16ScoresLikeSonoKitInOnnxRuntime() throws {
        let url: URL
        do { url = try PretrainedWeights.vgg16ImageNet() } catch {
            throw XCTSkip("ImageNet VGG16 weights not installed (run scripts/weights/fetch-vgg16-imagenet.sh): \(error)")
        }
        let pre = PreprocessConfig(frames: .uniform(2), normalize: .caffe, size: 224)
        let frames = try sampleFrames(pre, limit: 6)
        let run = try randomRun(NetworkSpec(architecture: .vgg16), preprocess: pre, frames: frames, imagenet: url, name: "vgg16")
        try exportAndCheck(run, frames: frames, layouts: [.nhwc])
        let size = try FileManager.default.attributesOfItem(atPath: scratch.appendingPathComponent("vgg16-nhwc-17.onnx").path)[.size] as! Int
        // 14,846,273 float32 parameters (13 convolutions, the 512->256->1 head) and a few KB of graph.
        XCTAssertGreaterThan(size, 14_846_273 * 4)
        XCTAssertLessThan(size, 14_846_273 * 4 + 100_000)
    }

    // MARK: The check can fail

    /// A check that cannot fail proves nothing: probabilities off by 1e-4, or one metadata value
    /// changed, must be refused with a sentence saying which.
    func testCheckRefusesWrongProbabilitiesAndMetadata() throws {
        let run = try HandSetRun.write(to: scratch.appendingPathComponent("hand").path, crop: .auto)
        let frames = try sampleFrames(run.card.preprocess, limit: 4)
        let expected = try run.probabilities(of: frames)
        let file = scratch.appendingPathComponent("hand.onnx")
        try ONNXExporter(runDirectory: run.directory).write(to: file)
        let metadata = ONNXExporter.metadata(card: run.card, checkpoint: .best, weightsSHA256: run.card.weightsSHA256, layout: .nhwc)
        let x = tensor(frames, run.card.preprocess)
        XCTAssertNoThrow(try ONNXCheck.run(model: file, layout: .nhwc, images: x, expected: expected, metadata: metadata))
        var off = expected
        off[2] += 1e-4
        XCTAssertThrowsError(try ONNXCheck.run(model: file, layout: .nhwc, images: x, expected: off, metadata: metadata)) {
            XCTAssertTrue("\($0)".contains("differ from SonoKit's"), "\($0)")
        }
        var changed = metadata
        changed["sonokit.positive_class"] = "benign"
        XCTAssertThrowsError(try ONNXCheck.run(model: file, layout: .nhwc, images: x, expected: expected, metadata: changed)) {
            XCTAssertTrue("\($0)".contains("sonokit.positive_class"), "\($0)")
        }
        // The NCHW reading of an NHWC file is refused by the runtime (wrong input shape).
        XCTAssertThrowsError(try ONNXCheck.run(model: file, layout: .nchw, images: x, expected: expected, metadata: metadata))
    }

    func testEmbeddedCheckScriptIsTheCommittedOne() throws {
        let committed = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("scripts/onnx/check_onnx.py"), encoding: .utf8)
        XCTAssertEqual(ONNXCheck.source + "\n", committed, "run the generator in the header of ONNXCheck.swift again")
    }

    // MARK: The graph

    /// The operators in order, the input and output, and the weight layouts: a convolution kernel
    /// K (kh, kw, in, out) becomes W (out, in, kh, kw) with W[o,i,y,x] = K[y,x,i,o]; a Dense
    /// kernel stays (in, out) for Gemm without transposition.
    func testGraphOperatorsShapesAndWeightLayouts() throws {
        let pre = PreprocessConfig(frames: .uniform(1), normalize: .unit, size: 32)
        var rng = SplitMix64(seed: 5)
        let spec = NetworkSpec(architecture: .small, headUnits: 3, headDropout: 0.25, widths: [2], inputSize: 32)
        let model = try spec.make(rng: &rng)
        let card = ModelCard(modelID: "", architecture: "small", weightsSHA256: "", weightsOrigin: nil, frozenLayers: [],
                             preprocess: pre, preprocessHash: pre.hash, classes: ["a", "b"], positiveClass: "b",
                             manifestHash: "", seed: 5, threshold: nil, softwareVersions: [:], createdAt: "", network: spec)
        let run = try TrainedRun.write(model: model, card: card, to: scratch.appendingPathComponent("tiny").path)
        let exporter = try ONNXExporter(runDirectory: run.directory)
        let nhwc = try exporter.modelProto(layout: .nhwc)
        XCTAssertEqual(nhwc.graph.node.map(\.opType),
                       ["Transpose", "Conv", "BatchNormalization", "Relu", "MaxPool", "GlobalAveragePool", "Flatten",
                        "Gemm", "Relu", "Gemm", "Sigmoid"])
        XCTAssertEqual(nhwc.graph.node[0].attribute.first { $0.name == "perm" }?.ints, [0, 3, 1, 2])
        let conv = nhwc.graph.node[1]
        XCTAssertEqual(conv.attribute.first { $0.name == "pads" }?.ints, [1, 1, 1, 1])   // 3x3 same, stride 1
        XCTAssertEqual(nhwc.graph.input.map(\.name), ["input"])
        XCTAssertEqual(nhwc.graph.output.map(\.name), ["probability"])
        func dims(_ v: Onnx_ValueInfoProto) -> [String] {
            v.type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? String($0.dimValue) : $0.dimParam }
        }
        XCTAssertEqual(dims(nhwc.graph.input[0]), ["N", "32", "32", "3"])
        XCTAssertEqual(dims(nhwc.graph.output[0]), ["N", "1"])
        let nchw = try exporter.modelProto(layout: .nchw)
        XCTAssertEqual(nchw.graph.node.first?.opType, "Conv")
        XCTAssertEqual(dims(nchw.graph.input[0]), ["N", "3", "32", "32"])

        func values(_ name: String) throws -> (dims: [Int], v: [Float]) {
            let t = try XCTUnwrap(nhwc.graph.initializer.first { $0.name == name })
            XCTAssertEqual(t.dataType, 1)   // FLOAT
            let v = t.rawData.withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            return (t.dims.map(Int.init), v)
        }
        let k = model.namedTensors["block1_conv.kernel"]!   // (3, 3, 3, 2) HWIO
        let w = try values("block1_conv.kernel")
        XCTAssertEqual(w.dims, [2, 3, 3, 3])
        for o in 0..<2 { for i in 0..<3 { for y in 0..<3 { for x in 0..<3 {
            XCTAssertEqual(w.v[((o * 3 + i) * 3 + y) * 3 + x], k.scalars[((y * 3 + x) * 3 + i) * 2 + o])
        } } } }
        let dense = try values("dense.kernel")
        XCTAssertEqual(dense.dims, [2, 3])
        XCTAssertEqual(dense.v, model.namedTensors["dense.kernel"]!.scalars)
        let bn = try XCTUnwrap(nhwc.graph.node.first { $0.opType == "BatchNormalization" })
        XCTAssertEqual(bn.input.dropFirst(), ["block1_bn.gamma", "block1_bn.beta", "block1_bn.moving_mean", "block1_bn.moving_variance"])
        XCTAssertEqual(bn.attribute.first { $0.name == "epsilon" }?.f, 1e-3)
        XCTAssertEqual(nhwc.opsetImport.map(\.version), [17])
        XCTAssertEqual(nhwc.irVersion, 8)
    }

    // MARK: Metadata

    /// What a deployer reads back from the file: the preprocessing (decoding to the card's
    /// config, hashing to the card's hash), the normalisation, classes, threshold and provenance,
    /// weights hash and licence.
    func testMetadataRoundTripsThroughTheFile() throws {
        let pre = PreprocessConfig(frames: .uniform(2), window: VOIWindow(center: 40.5, width: 300), normalize: .caffe, size: 64)
        let frames = try sampleFrames(pre, limit: 4)
        let run = try randomRun(NetworkSpec(architecture: .small, headUnits: 4, widths: [4], inputSize: 64),
                                preprocess: pre, frames: frames, name: "meta")
        let file = scratch.appendingPathComponent("meta.onnx")
        try ONNXExporter(runDirectory: run.directory).write(to: file, layout: .nchw)
        let proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: file))
        let m = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(try SonoKitJSON.decoder().decode(PreprocessConfig.self, from: Data(m["sonokit.preprocess"]!.utf8)), pre)
        XCTAssertEqual(m["sonokit.preprocess_canonical"], pre.canonicalJSON)
        XCTAssertEqual(SHA256Hex.of(m["sonokit.preprocess_canonical"]!), m["sonokit.preprocess_canonical_sha256"])
        XCTAssertEqual(m["sonokit.preprocess_canonical_sha256"], m["sonokit.preprocess_hash"])
        XCTAssertEqual(m["sonokit.preprocess_hash"], run.card.preprocessHash)
        XCTAssertEqual(m["sonokit.normalization"], "caffe")
        XCTAssertEqual(m["sonokit.normalization_formula"],
                       "{\"channel_order\": \"BGR\", \"divide_by\": 1.0, \"mean\": [103.939, 116.779, 123.68], \"std\": [1.0, 1.0, 1.0]}")
        XCTAssertEqual(m["sonokit.input_layout"], "NCHW")
        XCTAssertEqual(m["sonokit.input_size"], "64")
        XCTAssertEqual(m["sonokit.classes"], "[\"benign\",\"malignant\"]")
        XCTAssertEqual(m["sonokit.positive_class"], "malignant")
        XCTAssertEqual(m["sonokit.threshold"], "0.4375")
        XCTAssertEqual(try SonoKitJSON.decoder().decode(ThresholdChoiceProbe.self, from: Data(m["sonokit.threshold_provenance"]!.utf8)).value, 0.4375)
        XCTAssertTrue(m["sonokit.threshold_provenance"]!.contains("\"split\":\"validation\""), m["sonokit.threshold_provenance"]!)
        XCTAssertEqual(m["sonokit.aggregation"], "mean")
        XCTAssertEqual(m["sonokit.weights_sha256"], run.card.weightsSHA256)
        XCTAssertEqual(m["sonokit.base_weights_licence"], "trained from scratch")
        XCTAssertEqual(m["sonokit.version"], SoftwareVersions.sonokit)
        XCTAssertEqual(m["sonokit.checkpoint"], "best")
        XCTAssertEqual(m["sonokit.output_activation"], "sigmoid")
        XCTAssertEqual(proto.producerName, "SonoKit")
    }

    struct ThresholdChoiceProbe: Decodable { var value: Double }

    /// The normalisation formula a deployer applies gives SonoKit's tensor exactly (float32).
    func testNormalizationFormulaReproducesSonoKitsTensor() {
        var pixels = [UInt8](repeating: 0, count: 16 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 37 + 11) % 256) }
        let image = RGBImageProbe.make(pixels)
        for n in Normalization.allCases {
            let f = NormalizationFormula(n)
            let sonokit = n.normalize(image)
            for p in 0..<16 {
                for c in 0..<3 {
                    let source = f.channelOrder == "BGR" ? 2 - c : c
                    let v = (Float(pixels[3 * p + source]) / f.divideBy - f.mean[c]) / f.std[c]
                    XCTAssertEqual(v, sonokit[3 * p + c], "\(n) pixel \(p) channel \(c)")
                }
            }
        }
    }

    // MARK: Bad input

    func testBadInputsAreClearErrorsAndLeaveNoFile() throws {
        let run = try HandSetRun.write(to: scratch.appendingPathComponent("hand").path)
        let out = scratch.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let file = out.appendingPathComponent("m.onnx")

        XCTAssertThrowsError(try ONNXExporter(runDirectory: scratch.appendingPathComponent("nowhere").path)) {
            XCTAssertTrue("\($0)".contains("not a SonoKit run folder: no such folder"), "\($0)")
        }
        XCTAssertThrowsError(try ONNXExporter(runDirectory: out.path)) {
            XCTAssertTrue("\($0)".contains("no model-card.json"), "\($0)")
        }
        XCTAssertThrowsError(try ONNXExporter(runDirectory: run.directory, checkpoint: .last)) {
            XCTAssertTrue("\($0)".contains("last.safetensors: no such checkpoint"), "\($0)")
        }
        let exporter = try ONNXExporter(runDirectory: run.directory)
        for opset in [12, 22] {
            XCTAssertThrowsError(try exporter.write(to: file, opset: opset)) {
                XCTAssertEqual($0 as? ExportError, .unsupportedOpset(opset, supported: 13...21))
                XCTAssertTrue("\($0)".contains("opsets 13...21"), "\($0)")
            }
        }
        XCTAssertThrowsError(try exporter.write(to: scratch.appendingPathComponent("missing/m.onnx"))) {
            XCTAssertTrue("\($0)".contains("does not exist; create it first"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("missing").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "no partial or temporary file")

        // A model card whose network no longer fits the checkpoint (wider first block).
        let cardURL = URL(fileURLWithPath: run.directory).appendingPathComponent("model-card.json")
        var card = try SonoKitJSON.decoder().decode(ModelCard.self, from: Data(contentsOf: cardURL))
        card.network.widths = [8]
        try SonoKitJSON.encoder().encode(card).write(to: cardURL)
        XCTAssertThrowsError(try ONNXExporter(runDirectory: run.directory)) {
            guard case .checkpointMismatch(let f, let architecture, let reason)? = $0 as? ExportError else { return XCTFail("\($0)") }
            XCTAssertTrue(f.hasSuffix("checkpoints/best.safetensors"))
            XCTAssertEqual(architecture, "small")
            XCTAssertTrue(reason.contains("block1_conv.kernel"), reason)
        }
        // Weights replaced after the card was written.
        card.network.widths = [4]
        try SonoKitJSON.encoder().encode(card).write(to: cardURL)
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: run.directory).appendingPathComponent("checkpoints/best.safetensors"))
        XCTAssertThrowsError(try ONNXExporter(runDirectory: run.directory)) {
            XCTAssertTrue("\($0)".contains("differs from the model card's"), "\($0)")
        }
    }

    /// `--checkpoint last` exports the latest weights (not the card's) and records their hash.
    func testLastCheckpointExportsTheLatestWeights() throws {
        let run = try HandSetRun.write(to: scratch.appendingPathComponent("hand").path, crop: .auto)
        var rng = SplitMix64(seed: 9)
        let later = try run.card.network.make(rng: &rng)
        let files = RunDirectory(run.directory)
        try later.saveWeights(to: files.lastWeights)
        let exporter = try ONNXExporter(runDirectory: run.directory, checkpoint: .last)
        XCTAssertEqual(exporter.weightsSHA256, try SHA256Hex.of(file: files.lastWeights))
        XCTAssertNotEqual(exporter.weightsSHA256, run.card.weightsSHA256)
        let frames = try sampleFrames(run.card.preprocess, limit: 4)
        let x = tensor(frames, run.card.preprocess)
        try later.freeze(["base", "head"])
        let expected = try later.probabilities(images: x)
        let file = scratch.appendingPathComponent("last.onnx")
        try exporter.write(to: file)
        let metadata = ONNXExporter.metadata(card: run.card, checkpoint: .last, weightsSHA256: exporter.weightsSHA256, layout: .nhwc)
        XCTAssertEqual(metadata["sonokit.checkpoint"], "last")
        let result = try ONNXCheck.run(model: file, layout: .nhwc, images: x, expected: expected, metadata: metadata)
        XCTAssertLessThanOrEqual(result.maxAbsDifference, 1e-5)
    }
}

import Imaging

enum RGBImageProbe {
    static func make(_ pixels: [UInt8]) -> RGBImage { RGBImage(width: 4, height: 4, pixels: pixels) }
}
