import CNN
import Evaluation
import Foundation
import Preprocess
import SonoKitCore
import SwiftProtobuf
import Training

/// Which checkpoint of a run to export.
public enum CheckpointChoice: String, CaseIterable, Sendable {
    /// `checkpoints/best.safetensors`, the weights the model card describes (its SHA-256 must match).
    case best
    /// `checkpoints/last.safetensors`, the latest epoch's weights (no hash in the card to check).
    case last
}

/// A trained run as one ONNX model (`ModelProto`, written through swift-protobuf from the code
/// generated from ONNX's `onnx.proto3`, see scripts/onnx/generate-proto.sh).
///
/// Contract of the exported model:
/// - one input, `input`, float32, `(N, H, W, 3)` (`nhwc`) or `(N, 3, H, W)` (`nchw`), N symbolic:
///   the **preprocessed** frame exactly as SonoKit feeds its network, i.e. after crop, resampling to
///   H = W = `size` and the normalisation recorded in the metadata (for `caffe`: BGR channel order,
///   x − [103.939, 116.779, 123.68]; `unit`: RGB, x / 255; `imagenet`: RGB, (x / 255 − mean) / std);
/// - one output, `probability`, float32: for a binary run `(N, 1)`, σ(logit), the positive class's
///   probability; for a multi-class run `(N, K)`, the softmax over the K classes in the card's
///   order (`sonokit.classes`); equal to SonoKit's `predict` within float32 rounding (checked to
///   1e-5 by `check`);
/// - `metadata_props`: see `metadata(card:checkpoint:weightsSHA256:layout:)`.
public struct ONNXExporter {
    public static let inputName = "input"
    public static let outputName = "probability"
    /// The operator-set versions the exporter targets. Every operator it emits (Conv, Relu,
    /// BatchNormalization, MaxPool, GlobalAveragePool, Flatten, Gemm, Transpose, Sigmoid) has the
    /// same semantics for these inputs from opset 13 on; 13 is where ONNX Runtime's long-term
    /// support starts, 21 the newest this exporter is tested with.
    public static let supportedOpsets: ClosedRange<Int> = 13...21
    public static let defaultOpset = 17

    /// The network, its card and where its weights came from.
    public let model: Model
    public let card: ModelCard
    public let checkpoint: CheckpointChoice
    public let weightsFile: URL
    /// SHA-256 of `weightsFile`.
    public let weightsSHA256: String

    /// Loads a run for export: `model-card.json`, then the chosen checkpoint into the network the
    /// card describes. Errors name the file and say what to do: a folder without a model card, a
    /// missing checkpoint, `best` weights whose hash differs from the card's, a checkpoint whose
    /// tensors do not fit the card's architecture.
    public init(runDirectory: String, checkpoint: CheckpointChoice = .best) throws {
        let run = RunDirectory(runDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ExportError.notARun(path: runDirectory, reason: "no such folder")
        }
        guard let cardData = FileManager.default.contents(atPath: run.modelCard.path) else {
            throw ExportError.notARun(path: runDirectory, reason: "no model-card.json in it (a run folder is what `sonokit train -o RUN_DIR` writes)")
        }
        do { card = try SonoKitJSON.decoder().decode(ModelCard.self, from: cardData) } catch {
            throw ExportError.unreadable(file: run.modelCard.path, reason: "\(error)")
        }
        let url = checkpoint == .best ? run.bestWeights : run.lastWeights
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ExportError.unreadable(file: url.path, reason: "no such checkpoint" + (checkpoint == .last ? " (a run written without training has only `best`)" : ""))
        }
        let sha: String
        do { sha = try SHA256Hex.of(file: url) } catch { throw ExportError.unreadable(file: url.path, reason: "\(error)") }
        if checkpoint == .best, sha != card.weightsSHA256 {
            throw ExportError.unreadable(file: url.path, reason: "its SHA-256 \(sha.prefix(12))… differs from the model card's \(card.weightsSHA256.prefix(12))…; the weights were replaced or damaged")
        }
        var rng = SplitMix64(seed: 0)
        let model = try card.network.make(rng: &rng)
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors.read(url).tensors } catch { throw ExportError.unreadable(file: url.path, reason: "\(error)") }
        do {
            try model.load(namedTensors: tensors, source: url.path)
        } catch let error as CNNError {
            throw ExportError.checkpointMismatch(file: url.path, architecture: card.network.architecture.rawValue, reason: "\(error)")
        }
        // Inference only, as `TrainedRun`: everything frozen (the same forward path as `predict`).
        try model.freeze(["base", "head"])
        self.model = model
        self.checkpoint = checkpoint
        self.weightsFile = url
        self.weightsSHA256 = sha
    }

    /// True when the run's recorded preprocessing hash is not this SonoKit's hash of the same
    /// options: it was trained with another preprocessing algorithm version, so frames this
    /// SonoKit preprocesses may differ from those the network was trained on.
    public var hasPreprocessingDrift: Bool { card.preprocessHash != card.preprocess.hash }

    // MARK: The model

    /// The ONNX model for `opset` and `layout`; throws `unsupportedOpset` outside `supportedOpsets`.
    public func modelProto(opset: Int = defaultOpset, layout: InputLayout = .nhwc) throws -> Onnx_ModelProto {
        guard Self.supportedOpsets.contains(opset) else {
            throw ExportError.unsupportedOpset(opset, supported: Self.supportedOpsets)
        }
        var m = Onnx_ModelProto()
        m.irVersion = Self.irVersion(opset: opset)
        var set = Onnx_OperatorSetIdProto()
        set.domain = ""
        set.version = Int64(opset)
        m.opsetImport = [set]
        m.producerName = "SonoKit"
        m.producerVersion = SoftwareVersions.sonokit
        m.domain = "org.sonokit"
        m.modelVersion = 1
        m.docString = "\(card.modelID): \(card.architecture) \(card.task == .multiclass ? "\(card.classes.count)-class" : "binary") classifier of preprocessed ultrasound frames. "
            + "Input `\(Self.inputName)`: \(layout == .nhwc ? "(N, H, W, 3)" : "(N, 3, H, W)") float32 after SonoKit's preprocessing "
            + "and normalisation (see metadata sonokit.preprocess and sonokit.normalization). Output `\(Self.outputName)`: "
            + Self.outputDescription(card) + "."
        do {
            m.graph = try ONNXGraph.build(model: model, layout: layout, activation: card.task == .multiclass ? .softmax : .sigmoid,
                                          inputName: Self.inputName, outputName: Self.outputName)
        } catch let e as ONNXGraph.UnsupportedLayer {
            throw ExportError.unsupportedLayer(name: e.name, type: e.type)
        }
        m.metadataProps = Self.metadata(card: card, checkpoint: checkpoint, weightsSHA256: weightsSHA256, layout: layout)
            .sorted { $0.key < $1.key }
            .map { k, v in
                var e = Onnx_StringStringEntryProto()
                e.key = k
                e.value = v
                return e
            }
        return m
    }

    /// The model's bytes (protobuf binary encoding).
    public func serialized(opset: Int = defaultOpset, layout: InputLayout = .nhwc) throws -> Data {
        try modelProto(opset: opset, layout: layout).serializedData()
    }

    /// Writes the model to `url` atomically (`AtomicFile`: a temporary file in the same folder,
    /// then a rename), so a failure leaves no partial `.onnx`. The folder must exist.
    @discardableResult
    public func write(to url: URL, opset: Int = defaultOpset, layout: InputLayout = .nhwc) throws -> Int {
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ExportError.writeFailed(file: url.path, reason: "the folder \(folder.path) does not exist; create it first")
        }
        let data = try serialized(opset: opset, layout: layout)
        do { try AtomicFile.write(data, to: url) } catch let e as AtomicFile.WriteError {
            throw ExportError.writeFailed(file: url.path, reason: e.reason)
        }
        return data.count
    }

    /// ONNX's IR version for an opset (onnx/docs/Versioning.md, "Released Versions"): the oldest
    /// IR that carries the opset, so older runtimes load the file.
    static func irVersion(opset: Int) -> Int64 {
        switch opset {
        case ...13: return 7
        case 14...18: return 8
        case 19...20: return 9
        default: return 10
        }
    }

    // MARK: Metadata

    /// `metadata_props` of the exported model (every value a string; JSON where structured):
    ///
    ///     sonokit.version               SonoKit version that exported the model
    ///     sonokit.model_id              the card's model ID
    ///     sonokit.architecture          vgg16 | small
    ///     sonokit.checkpoint            best | last
    ///     sonokit.weights_sha256        SHA-256 of the exported checkpoint file
    ///     sonokit.base_weights_licence  the card's weights origin (ImageNet licence and credit, or "trained from scratch")
    ///     sonokit.input                 "input: float32 (N, H, W, 3) NHWC, preprocessed and normalised"
    ///     sonokit.input_layout          NHWC | NCHW
    ///     sonokit.output                "probability: float32 (N, 1), sigmoid of the logit, class <positive>"
    ///                                   (multi-class: "(N, K), softmax over the classes ...")
    ///     sonokit.task                  binary | multiclass
    ///     sonokit.output_activation     sigmoid | softmax
    ///     sonokit.preprocess            the PreprocessConfig as JSON (SonoKit's convention: snake_case keys)
    ///     sonokit.preprocess_hash       the preprocessing hash the run recorded at training (the card's)
    ///     sonokit.preprocess_canonical  this SonoKit's canonical JSON of those options (`algorithm_version` included)
    ///     sonokit.preprocess_canonical_sha256  its SHA-256: equal to sonokit.preprocess_hash unless the run was
    ///                                   trained by a SonoKit with another preprocessing algorithm version
    ///                                   (`hasPreprocessingDrift`; the export warns)
    ///     sonokit.normalization         caffe | unit | imagenet
    ///     sonokit.normalization_formula JSON {"channel_order", "divide_by", "mean", "std"}:
    ///                                   input = (pixel / divide_by − mean) / std per channel in channel_order,
    ///                                   pixel the 8-bit value of the preprocessed frame
    ///     sonokit.input_size            side of the square input
    ///     sonokit.classes               JSON array of class names
    ///     sonokit.positive_class        the class whose probability is the output ("" for multi-class)
    ///     sonokit.threshold             decision threshold on the probability ("" when the run has none)
    ///     sonokit.threshold_provenance  JSON of the card's ThresholdChoice (rule, value, fitted_on) or "null"
    ///     sonokit.aggregation           study aggregation rule of the frames' probabilities
    /// The output tensor in words: "(N, 1), sigmoid of the logit: probability of class 'X'" or
    /// "(N, K), softmax over the classes [a, b, c] in this order".
    static func outputDescription(_ card: ModelCard) -> String {
        card.task == .multiclass
            ? "(N, \(card.classes.count)), softmax of the logits: the probability of each class, in the order of sonokit.classes (\(card.classes.joined(separator: ", ")))"
            : "(N, 1), sigmoid of the logit: probability of class '\(card.positiveClass)'"
    }

    public static func metadata(card: ModelCard, checkpoint: CheckpointChoice, weightsSHA256: String,
                                layout: InputLayout) -> [String: String] {
        let pre = card.preprocess
        let size = pre.size
        let encoder = SonoKitJSON.encoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) -> String { (try? encoder.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "null" }
        let shape = layout == .nhwc ? "(N, \(size), \(size), 3) NHWC" : "(N, 3, \(size), \(size)) NCHW"
        return [
            "sonokit.version": SoftwareVersions.sonokit,
            "sonokit.model_id": card.modelID,
            "sonokit.architecture": card.architecture,
            "sonokit.checkpoint": checkpoint.rawValue,
            "sonokit.weights_sha256": weightsSHA256,
            "sonokit.base_weights_licence": card.weightsOrigin ?? "trained from scratch",
            "sonokit.input": "\(inputName): float32 \(shape), the frame after SonoKit's preprocessing and normalisation",
            "sonokit.input_layout": layout.rawValue.uppercased(),
            "sonokit.output": "\(outputName): float32 " + outputDescription(card),
            "sonokit.output_activation": (card.task == .multiclass ? OutputActivation.softmax : .sigmoid).rawValue,
            "sonokit.task": card.task.rawValue,
            "sonokit.preprocess": json(pre),
            "sonokit.preprocess_canonical": pre.canonicalJSON,
            "sonokit.preprocess_canonical_sha256": pre.hash,
            "sonokit.preprocess_hash": card.preprocessHash,
            "sonokit.normalization": pre.normalize.rawValue,
            "sonokit.normalization_formula": NormalizationFormula(pre.normalize).json,
            "sonokit.input_size": String(size),
            "sonokit.classes": json(card.classes),
            "sonokit.positive_class": card.positiveClass,
            "sonokit.threshold": card.threshold.map { String($0.value) } ?? "",
            "sonokit.threshold_provenance": card.threshold.map { json($0) } ?? "null",
            "sonokit.aggregation": card.aggregation.description,
        ]
    }
}

/// A normalisation as the affine map a deployer applies to 8-bit pixels p, per channel in
/// `channelOrder`: input = (p / divideBy − mean) / std. The same float32 operations as
/// `Normalization.normalize`: caffe: BGR, divide by 1, mean [103.939, 116.779, 123.68], std 1;
/// unit: RGB, divide by 255, mean 0, std 1; imagenet: RGB, divide by 255, mean
/// [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225].
public struct NormalizationFormula: Equatable, Sendable {
    public var channelOrder: String
    /// A divisor, not a scale: dividing by 255 and multiplying by a rounded 1/255 differ in the last bit.
    public var divideBy: Float
    public var mean: [Float]
    public var std: [Float]

    public init(_ n: Normalization) {
        channelOrder = n.channelOrder
        switch n {
        case .caffe:
            let m = Normalization.caffeMeansBGR
            divideBy = 1; mean = [m.0, m.1, m.2]; std = [1, 1, 1]
        case .unit:
            divideBy = 255; mean = [0, 0, 0]; std = [1, 1, 1]
        case .imagenet:
            let m = Normalization.imagenetMean, s = Normalization.imagenetStd
            divideBy = 255; mean = [m.0, m.1, m.2]; std = [s.0, s.1, s.2]
        }
    }

    /// {"channel_order": "BGR", "divide_by": 1, "mean": [...], "std": [...]}: input = (p / divide_by − mean) / std,
    /// numbers as the shortest decimal that reads back as the same float32.
    public var json: String {
        func list(_ v: [Float]) -> String { "[" + v.map { "\($0)" }.joined(separator: ", ") + "]" }
        return "{\"channel_order\": \"\(channelOrder)\", \"divide_by\": \(divideBy), \"mean\": \(list(mean)), \"std\": \(list(std))}"
    }
}
