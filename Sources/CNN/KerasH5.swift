import CHDF5
import Foundation

/// Reading Keras HDF5 weight files through libhdf5 (Debian libhdf5-dev):
///
/// - legacy `.h5` (Keras 1/2, and Keras 3's legacy writer; e.g. Keras'
///   `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`): the root attribute `layer_names`
///   lists the layers; each layer group's attribute `weight_names` lists its datasets
///   (`block1_conv1/kernel:0`, or Keras 1's `block1_conv1_W_1:0`), in the layer's weight order;
/// - Keras 3 `.weights.h5`: groups `layers/<class name>/vars` whose attribute `name` is the layer
///   name and whose datasets `0`, `1`, ... are the weights in order.
///
/// Keras identifies weights by their order within a layer, not by their names, and so does this
/// reader: it returns, per layer name, the layer's tensors in order (Conv2D/Dense: kernel, bias;
/// BatchNormalization: gamma, beta, moving mean, moving variance — the order of `parameters`).
enum KerasH5 {
    static func isHDF5(_ url: URL) -> Bool {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 8)) == Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    /// (layer name, tensors in order) for every layer with weights.
    static func read(_ url: URL) throws -> [(layer: String, tensors: [Tensor])] {
        let path = url.path
        let file = chdf5_open(path)
        guard file >= 0 else { throw CNNError.unreadableWeights(file: path, reason: "libhdf5 cannot open it as an HDF5 file") }
        defer { chdf5_close(file) }
        if let layerNames = strings(file, "/", "layer_names") {
            var out: [(String, [Tensor])] = []
            for layer in layerNames {
                let weightNames = strings(file, layer, "weight_names") ?? []
                if weightNames.isEmpty { continue }
                out.append((layer, try weightNames.map { try dataset(file, "\(layer)/\($0)", file: path) }))
            }
            return out
        }
        if chdf5_exists(file, "layers") == 1 {
            var out: [(String, [Tensor])] = []
            for group in list(file, "layers") ?? [] {
                let vars = "layers/\(group)/vars"
                guard chdf5_exists(file, vars) == 1 else { continue }
                let indices = (list(file, vars) ?? []).compactMap(Int.init).sorted()
                if indices.isEmpty { continue }
                let name = strings(file, vars, "name")?.first ?? group
                out.append((name, try indices.map { try dataset(file, "\(vars)/\($0)", file: path) }))
            }
            return out
        }
        throw CNNError.unreadableWeights(file: path, reason: "an HDF5 file without Keras weights (no 'layer_names' attribute and no 'layers' group)")
    }

    private static func strings(_ file: hid_t, _ object: String, _ name: String) -> [String]? {
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        let n = chdf5_string_attribute(file, object, name, &buffer, buffer.count)
        guard n >= 0 else { return nil }
        return split(buffer, count: n)
    }

    private static func list(_ file: hid_t, _ path: String) -> [String]? {
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        let n = chdf5_list_group(file, path, &buffer, buffer.count)
        guard n >= 0 else { return nil }
        return split(buffer, count: n)
    }

    private static func split(_ buffer: [CChar], count: Int) -> [String] {
        var out: [String] = []
        var start = 0
        while out.count < count {
            var end = start
            while buffer[end] != 0 { end += 1 }
            out.append(String(decoding: buffer[start..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            start = end + 1
        }
        return out
    }

    private static func dataset(_ handle: hid_t, _ path: String, file: String) throws -> Tensor {
        var dims = [UInt64](repeating: 0, count: 8)
        let rank = chdf5_dataset_shape(handle, path, &dims)
        guard rank >= 0 else { throw CNNError.missingTensor(file: file, name: path) }
        let shape = dims.prefix(Int(rank)).map { Int($0) }
        var t = Tensor.zeros(shape)
        guard chdf5_read_float(handle, path, &t.scalars) == 0 else {
            throw CNNError.unreadableWeights(file: file, reason: "dataset \(path) cannot be read as float32")
        }
        return t
    }
}
