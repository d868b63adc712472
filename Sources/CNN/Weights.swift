import Foundation
import SonoKitCore

/// Where a model's weights came from, recorded in sidecars and model cards.
public struct WeightsOrigin: Codable, Equatable, Sendable {
    /// The file read.
    public var file: String
    /// Naming scheme found in it: "keras" or "torchvision".
    public var naming: String
    /// Layers whose weights were loaded; the others kept their initial values.
    public var loadedLayers: [String]
}

/// Names of VGG16's convolutions in torchvision's `vgg16().features` (index of each Conv2d).
let torchvisionVGG16ConvIndex: [String: Int] = {
    var map: [String: Int] = [:]
    var index = 0
    for (b, depth) in Architecture.vgg16Depths.enumerated() {
        for i in 0..<depth {
            map["block\(b + 1)_conv\(i + 1)"] = index
            index += 2   // Conv2d, ReLU
        }
        index += 1       // MaxPool2d
    }
    return map
}()

extension Model {
    /// Canonical ("Keras") name of a tensor name in a file: "block1_conv1/kernel:0",
    /// "block1_conv1/block1_conv1/kernel:0" (legacy Keras h5 paths) and "block1_conv1.kernel" all
    /// become "block1_conv1.kernel"; torchvision VGG16 names map through the layer table.
    static func canonicalName(_ raw: String) -> (name: String, fromTorchvision: Bool)? {
        if raw.hasPrefix("features."), raw.split(separator: ".").count == 3 {
            let parts = raw.split(separator: ".")
            guard let idx = Int(parts[1]), let layer = torchvisionVGG16ConvIndex.first(where: { $0.value == idx })?.key else { return nil }
            let role = parts[2] == "weight" ? "kernel" : String(parts[2])
            return ("\(layer).\(role)", true)
        }
        var parts = raw.replacingOccurrences(of: ":0", with: "").split(whereSeparator: { $0 == "/" || $0 == "." }).map(String.init)
        if parts.count == 3, parts[0] == parts[1] { parts.removeFirst() }
        guard parts.count == 2 else { return (raw, false) }
        return ("\(parts[0]).\(parts[1])", false)
    }

    /// Loads weights from a Keras `.h5` / `.weights.h5` file (see `KerasH5`), or from a
    /// `.safetensors` file with Keras names (`block1_conv1.kernel` in HWIO,
    /// `dense.kernel` in (in, out), `block1_bn.gamma|beta|moving_mean|moving_variance`) or
    /// torchvision VGG16 names (`features.0.weight` in OIHW, transposed here).
    ///
    /// Every tensor of a layer that the file mentions must be present with the model's shape;
    /// a file without any head tensor loads the base only (a "notop" file) and the head keeps its
    /// initial values. Tensors the model does not have are an error. Errors name the tensor.
    @discardableResult
    public func loadWeights(from url: URL) throws -> WeightsOrigin {
        let file = url.path
        var tensors: [String: Tensor] = [:]
        var torchvision = false
        var unexpected: [String] = []
        if KerasH5.isHDF5(url) {
            // Keras .h5: weights identified by layer name and position within the layer.
            for (layerName, values) in try KerasH5.read(url) {
                guard let layer = layers.first(where: { $0.name == layerName }) else { unexpected.append(layerName); continue }
                guard values.count == layer.parameters.count else {
                    throw CNNError.unreadableWeights(file: file, reason: "layer \(layerName) has \(values.count) weights in the file, the model's \(layer.typeName) has \(layer.parameters.count)")
                }
                for (p, t) in zip(layer.parameters, values) { tensors[p.name] = t }
            }
            if !unexpected.isEmpty { throw CNNError.unexpectedTensor(file: file, names: unexpected.sorted()) }
        }
        let raw = KerasH5.isHDF5(url) ? [:] : try SafeTensors.read(url).tensors
        for (name, t) in raw {
            guard let c = Self.canonicalName(name) else { unexpected.append(name); continue }
            torchvision = torchvision || c.fromTorchvision
            tensors[c.name] = c.fromTorchvision && t.rank == 4 ? t.transposed([2, 3, 1, 0]) : t
        }
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
        unexpected += tensors.keys.filter { byName[$0] == nil }.sorted()
        if !unexpected.isEmpty { throw CNNError.unexpectedTensor(file: file, names: unexpected.sorted()) }
        let mentioned = Set(tensors.keys.map { String($0.split(separator: ".")[0]) })
        let headMentioned = head.contains { mentioned.contains($0.name) }
        // A notop file must cover the whole base; a full file the whole model.
        let required = headMentioned ? layers.filter { !$0.parameters.isEmpty } : base.filter { !$0.parameters.isEmpty }
        for layer in required {
            for p in layer.parameters {
                guard let t = tensors[p.name] else {
                    throw CNNError.missingTensor(file: file, name: torchvision ? torchvisionName(p.name) : p.name)
                }
                guard t.shape == p.value.shape else {
                    let shown = torchvision && t.rank == 4 ? t.transposed([3, 2, 0, 1]).shape : t.shape
                    let expected = torchvision && p.value.rank == 4 ? [p.value.shape[3], p.value.shape[2], p.value.shape[0], p.value.shape[1]] : p.value.shape
                    throw CNNError.wrongShape(file: file, name: torchvision ? torchvisionName(p.name) : p.name, expected: expected, got: shown)
                }
            }
        }
        for layer in required { for p in layer.parameters { p.value = tensors[p.name]! } }
        frozenPipelineInvalidated()
        return WeightsOrigin(file: file, naming: KerasH5.isHDF5(url) ? "keras-h5" : (torchvision ? "torchvision" : "keras"),
                             loadedLayers: required.map(\.name))
    }

    private func torchvisionName(_ canonical: String) -> String {
        let parts = canonical.split(separator: ".")
        guard let idx = torchvisionVGG16ConvIndex[String(parts[0])] else { return canonical }
        return "features.\(idx).\(parts[1] == "kernel" ? "weight" : parts[1])"
    }

    /// Replaces every parameter (weights and statistics) from `tensors` keyed by parameter name,
    /// as written by `namedTensors`; for checkpoints. Names and shapes must match exactly.
    public func load(namedTensors tensors: [String: Tensor], source: String = "checkpoint") throws {
        let names = Set(parameters.map(\.name))
        let extra = tensors.keys.filter { !names.contains($0) }.sorted()
        if !extra.isEmpty { throw CNNError.unexpectedTensor(file: source, names: extra) }
        for p in parameters {
            guard let t = tensors[p.name] else { throw CNNError.missingTensor(file: source, name: p.name) }
            guard t.shape == p.value.shape else { throw CNNError.wrongShape(file: source, name: p.name, expected: p.value.shape, got: t.shape) }
        }
        for p in parameters { p.value = tensors[p.name]! }
        frozenPipelineInvalidated()
    }

    /// Writes every parameter to `url` (.safetensors, Keras names) and a JSON sidecar
    /// `<url>.json` describing the model (architecture, input shape, layers with their trainable
    /// state, tensor shapes, and `metadata`), each atomically through SonoKitCore's `AtomicFile`
    /// (a temporary renamed over the file; each rename a `CrashPoint`): the sidecar first, then
    /// the weights, so that a weights file on disk always has a sidecar written by the same save
    /// or a later one. A writer killed between the two leaves the previous weights beside the new
    /// sidecar, and any killed writer only temporaries that `StaleTemporaries` recognises.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = "sonokit-cnn-weights-1"
        meta["model"] = name
        let sidecar = WeightsSidecar(
            format: "sonokit-cnn-weights-1", model: name, inputShape: inputShape, featureCount: featureCount,
            layers: layers.map { .init(name: $0.name, type: $0.typeName, frozen: $0.isFrozen, description: $0.description) },
            tensors: parameters.map { .init(name: $0.name, shape: $0.value.shape, kind: $0.kind.rawValue) },
            frozenPrecision: frozenPrecision.rawValue, metadata: metadata)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let sidecarURL = url.appendingPathExtension("json")
        do { try AtomicFile.write(try enc.encode(sidecar), to: sidecarURL) } catch let error as AtomicFile.WriteError {
            throw CNNError.writeFailed(file: sidecarURL.path, reason: error.reason)
        } catch {
            throw CNNError.writeFailed(file: sidecarURL.path, reason: "\(error)")
        }
        try SafeTensors.write(namedTensors, metadata: meta, to: url)
    }
}

/// The JSON written next to a weights file.
public struct WeightsSidecar: Codable, Equatable, Sendable {
    public struct LayerInfo: Codable, Equatable, Sendable {
        public var name, type: String
        public var frozen: Bool
        public var description: String
    }
    public struct TensorInfo: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var kind: String
    }
    public var format: String
    public var model: String
    public var inputShape: [Int]
    public var featureCount: Int
    public var layers: [LayerInfo]
    public var tensors: [TensorInfo]
    public var frozenPrecision: String
    public var metadata: [String: String]
}

/// The ImageNet VGG16 conv base ("notop") converted by scripts/weights/fetch-vgg16-imagenet.sh.
public enum PretrainedWeights {
    /// File name of the converted weights.
    public static let vgg16FileName = "vgg16_imagenet_notop.safetensors"

    /// Folders searched, in order: $SONOKIT_WEIGHTS_DIR, ~/.cache/sonokit/weights.
    public static var searchFolders: [URL] {
        var f: [URL] = []
        if let d = ProcessInfo.processInfo.environment["SONOKIT_WEIGHTS_DIR"], !d.isEmpty { f.append(URL(fileURLWithPath: d)) }
        f.append(FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/sonokit/weights"))
        return f
    }

    /// The installed ImageNet VGG16 conv-base weights, or an error saying how to get them.
    public static func vgg16ImageNet() throws -> URL {
        let candidates = searchFolders.map { $0.appendingPathComponent(vgg16FileName) }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        throw CNNError.pretrainedWeightsMissing(searched: candidates.map(\.path))
    }
}
