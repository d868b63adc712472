import CNN
import Catalog
import DICOM
import Imaging
import Foundation
import ModelExport
import Preprocess
import SonoKitCore

/// `export`: a trained run as one ONNX model (see `ONNXExporter` for the model's contract), and
/// optionally the check that ONNX's checker accepts it and ONNX Runtime scores like SonoKit.
public struct ExportWorkflow {
    public enum Format: String, CaseIterable, Sendable { case onnx }

    public struct Options: Sendable {
        /// The run folder (`sonokit train -o RUN_DIR`).
        public var run: String
        /// The `.onnx` file to write (its folder must exist).
        public var output: String
        public var format: Format = .onnx
        public var checkpoint: CheckpointChoice = .best
        public var opset = ONNXExporter.defaultOpset
        public var layout: InputLayout = .nhwc
        /// Run `ONNXCheck` after writing. A failed check leaves the (complete) file for inspection
        /// and fails the workflow.
        public var check = false
        /// DICOM files or folders whose frames (preprocessed with the run's configuration) the
        /// check scores; none: `checkFrameCount` seeded random 8-bit pictures, normalised.
        public var checkInputs: [String] = []
        /// Most frames the check scores.
        public var checkFrameCount = 16
        /// Largest |p_ONNX Runtime − p_SonoKit| the check accepts.
        public var tolerance = 1e-5

        public init(run: String, output: String) {
            self.run = run
            self.output = output
        }
    }

    public struct Result: Sendable {
        public var file: URL
        public var bytes: Int
        public var modelID: String
        public var architecture: String
        public var opset: Int
        public var layout: InputLayout
        public var weightsSHA256: String
        /// The check's measurements when `check` was asked for.
        public var check: ONNXCheck.Result?
        /// Where the check's frames came from ("N frames of M DICOM instances" or "N random pictures").
        public var checkFrames: String?
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    public func run() throws -> Result {
        guard ONNXExporter.supportedOpsets.contains(options.opset) else {
            throw WorkflowError.invalidInput("\(ExportError.unsupportedOpset(options.opset, supported: ONNXExporter.supportedOpsets))")
        }
        let url = URL(fileURLWithPath: options.output)
        do {
            let exporter = try ONNXExporter(runDirectory: options.run, checkpoint: options.checkpoint)
            events.log?("export: \(exporter.card.modelID) (\(exporter.card.architecture), \(options.checkpoint.rawValue) checkpoint) -> ONNX opset \(options.opset), input \(options.layout.rawValue.uppercased())\n")
            if exporter.hasPreprocessingDrift {
                events.warning("\(options.run): the run recorded preprocessing hash \(exporter.card.preprocessHash.prefix(12))…, this SonoKit "
                               + "computes \(exporter.card.preprocess.hash.prefix(12))… for the same options (another preprocessing algorithm "
                               + "version): frames preprocessed now may differ from the training frames; the metadata records both")
            }
            // The check's frames first: unusable check inputs stop the export before any file is written.
            let checkInput = options.check ? try checkImages(exporter) : nil
            let bytes = try exporter.write(to: url, opset: options.opset, layout: options.layout)
            var result = Result(file: url, bytes: bytes, modelID: exporter.card.modelID, architecture: exporter.card.architecture,
                                opset: options.opset, layout: options.layout, weightsSHA256: exporter.weightsSHA256)
            if case let (images, origin)? = checkInput {
                events.log?("export: checking with ONNX's checker and ONNX Runtime on \(origin)\n")
                let expected = try sonokitProbabilities(exporter.model, images)
                result.check = try ONNXCheck.run(model: url, layout: options.layout, images: images, expected: expected,
                                                 metadata: ONNXExporter.metadata(card: exporter.card, checkpoint: options.checkpoint,
                                                                                 weightsSHA256: exporter.weightsSHA256, layout: options.layout),
                                                 tolerance: options.tolerance)
                result.checkFrames = origin
            }
            return result
        } catch let error as ExportError {
            switch error {
            case .notARun, .unsupportedOpset: throw WorkflowError.invalidInput("\(error)")
            default: throw WorkflowError.failed("\(error)")
            }
        }
    }

    /// SonoKit's probabilities, in chunks of 8 frames (a VGG16 batch of 224x224 frames is large).
    private func sonokitProbabilities(_ model: Model, _ images: Tensor) throws -> [Float] {
        var out: [Float] = []
        let n = images.shape[0]
        for start in stride(from: 0, to: n, by: 8) {
            out += try model.probabilities(images: images.batchSlice(start..<min(start + 8, n)))
        }
        return out
    }

    /// The check's frames (NHWC, normalised) and a phrase saying where they came from.
    private func checkImages(_ exporter: ONNXExporter) throws -> (Tensor, String) {
        let config = exporter.card.preprocess
        let size = config.size
        let pre = FramePreprocessor(config: config)
        var frames: [PreprocessedFrame] = []
        var instances = 0
        if !options.checkInputs.isEmpty {
            let files: [ExportFile]
            do { files = try ExportWalker.files(under: options.checkInputs) } catch { throw WorkflowError.invalidInput("\(error)") }
            for f in files where DicomFile.looksLikeDICOM(path: f.path) && frames.count < options.checkFrameCount {
                guard let file = try? DicomFile(path: f.path), file.metadata.isImage, !file.isDICOMDIR,
                      let instance = try? pre.process(file), !instance.frames.isEmpty else { continue }
                instances += 1
                frames += instance.frames.prefix(options.checkFrameCount - frames.count)
            }
            guard !frames.isEmpty else {
                throw WorkflowError.invalidInput("no DICOM image frames under \(options.checkInputs.joined(separator: ", ")) to check the model on")
            }
            var x = Tensor.zeros([frames.count, size, size, 3])
            x.scalars.withUnsafeMutableBufferPointer { pre.writeBatch(frames, into: $0) }
            return (x, "\(frames.count) frames of \(instances) DICOM instances")
        }
        // Seeded random 8-bit pictures through the run's normalisation: the whole input range.
        var rng = SplitMix64(seed: 14)
        var x = Tensor.zeros([options.checkFrameCount, size, size, 3])
        let per = size * size * 3
        for n in 0..<options.checkFrameCount {
            var pixels = [UInt8](repeating: 0, count: per)
            for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: rng.next() >> 56) }
            let normalised = config.normalize.normalize(RGBImage(width: size, height: size, pixels: pixels))
            for i in 0..<per { x.scalars[n * per + i] = normalised[i] }
        }
        return (x, "\(options.checkFrameCount) seeded random pictures")
    }
}
