import CNN
import Foundation

/// The ONNX graph of a SonoKit `Model` in inference mode, built layer by layer.
///
/// SonoKit's activations are NHWC; ONNX's convolution, pooling and batch-normalisation operators
/// are NCHW. The graph therefore works in NCHW throughout and, for an NHWC input, starts with one
/// `Transpose(perm = [0, 3, 1, 2])`. Each layer maps to standard operators (default domain):
///
///   Conv2D(kernel K (kh, kw, in, out) HWIO, bias b, padding, stride s, act)
///       -> Conv(W = Kᵀ in OIHW: W[o,i,y,x] = K[y,x,i,o], B = b, strides [s, s],
///               pads [top, left, bottom, right] from `Padding.geometry` on the layer's static input
///               size, so TensorFlow's asymmetric `same` padding is reproduced exactly) [-> Relu]
///   BatchNorm(γ, β, moving mean m, moving variance v, ε)
///       -> BatchNormalization(X, scale γ, B β, mean m, var v, epsilon ε)   (inference: the moving
///          statistics, y = γ (x − m) / sqrt(v + ε) + β; the same formula SonoKit runs)
///   ReLU        -> Relu
///   MaxPool2D   -> MaxPool(kernel_shape [k, k], strides [s, s], pads from `Padding.geometry`)
///   GlobalAveragePool -> GlobalAveragePool (N, C, 1, 1) -> Flatten(axis 1) (N, C)
///   Dense(W (in, out), b, act) -> Gemm(A = x, B = W, C = b; y = x W + b) [-> Relu]
///   Dropout     -> nothing (inverted dropout is the identity at inference)
///
/// and the logit z (N, 1) goes through the output activation (`OutputActivation`). Weights are
/// initializers (float32, little-endian `raw_data`), named after SonoKit's parameters.
struct ONNXGraph {
    /// Where the layer-by-layer mapping failed (a layer type the exporter does not know).
    struct UnsupportedLayer: Error { let name: String, type: String }

    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []

    /// Builds the graph of `model` for `layout` (input `inputName`, output `outputName`).
    static func build(model: Model, layout: InputLayout, activation: OutputActivation,
                      inputName: String, outputName: String) throws -> Onnx_GraphProto {
        var g = ONNXGraph()
        let (h, w, c) = (model.inputShape[0], model.inputShape[1], model.inputShape[2])
        var x = inputName
        if layout == .nhwc {
            x = g.node("Transpose", [x], name: "input_to_nchw", attributes: [.ints("perm", [0, 3, 1, 2])])
        }
        // Static NHWC shape (batch 1) carried along for the padding geometry.
        var shape = [1, h, w, c]
        for layer in model.layers {
            let next = try layer.outputShape(for: shape)
            switch layer {
            case let conv as Conv2D:
                let hg = conv.padding.geometry(input: shape[1], kernel: conv.kernelSize.height, stride: conv.stride)
                let wg = conv.padding.geometry(input: shape[2], kernel: conv.kernelSize.width, stride: conv.stride)
                let weight = g.initializer(conv.kernel.name, conv.kernel.value.transposed([3, 2, 0, 1]))
                let bias = g.initializer(conv.bias.name, conv.bias.value)
                x = g.node("Conv", [x, weight, bias], name: conv.name, attributes: [
                    .ints("kernel_shape", [conv.kernelSize.height, conv.kernelSize.width]),
                    .ints("strides", [conv.stride, conv.stride]),
                    .ints("pads", [hg.before, wg.before, hg.after, wg.after]),
                    .ints("dilations", [1, 1]), .int("group", 1),
                ])
                if conv.activation == .relu { x = g.node("Relu", [x], name: conv.name + "_relu") }
            case let bn as BatchNorm:
                let inputs = [x, g.initializer(bn.gamma.name, bn.gamma.value), g.initializer(bn.beta.name, bn.beta.value),
                              g.initializer(bn.movingMean.name, bn.movingMean.value),
                              g.initializer(bn.movingVariance.name, bn.movingVariance.value)]
                x = g.node("BatchNormalization", inputs, name: bn.name, attributes: [.float("epsilon", bn.epsilon)])
            case let relu as ReLU:
                x = g.node("Relu", [x], name: relu.name)
            case let pool as MaxPool2D:
                let hg = pool.padding.geometry(input: shape[1], kernel: pool.poolSize, stride: pool.stride)
                let wg = pool.padding.geometry(input: shape[2], kernel: pool.poolSize, stride: pool.stride)
                x = g.node("MaxPool", [x], name: pool.name, attributes: [
                    .ints("kernel_shape", [pool.poolSize, pool.poolSize]),
                    .ints("strides", [pool.stride, pool.stride]),
                    .ints("pads", [hg.before, wg.before, hg.after, wg.after]),
                ])
            case let gap as GlobalAveragePool:
                x = g.node("GlobalAveragePool", [x], name: gap.name)
                x = g.node("Flatten", [x], name: gap.name + "_flatten", attributes: [.int("axis", 1)])
            case let dense as Dense:
                let weight = g.initializer(dense.kernel.name, dense.kernel.value)
                let bias = g.initializer(dense.bias.name, dense.bias.value)
                x = g.node("Gemm", [x, weight, bias], name: dense.name,
                           attributes: [.float("alpha", 1), .float("beta", 1), .int("transA", 0), .int("transB", 0)])
                if dense.activation == .relu { x = g.node("Relu", [x], name: dense.name + "_relu") }
            case is Dropout:
                break
            default:
                throw UnsupportedLayer(name: layer.name, type: layer.typeName)
            }
            shape = next
        }
        switch activation {
        case .sigmoid:
            g.nodes.append(node("Sigmoid", [x], [outputName], name: "probability"))
        case .softmax:
            // Softmax over the classes (axis 1 of (N, K)), as SonoKit's multi-class output.
            g.nodes.append(node("Softmax", [x], [outputName], name: "probability", attributes: [.int("axis", 1)]))
        }

        var graph = Onnx_GraphProto()
        graph.name = model.name
        graph.node = g.nodes
        graph.initializer = g.initializers
        let inputDims: [Int] = layout == .nhwc ? [h, w, c] : [c, h, w]
        graph.input = [valueInfo(inputName, batch: "N", dims: inputDims)]
        graph.output = [valueInfo(outputName, batch: "N", dims: [shape.last ?? 1])]
        return graph
    }

    // MARK: Pieces

    /// An attribute of a node.
    enum Attribute {
        case int(String, Int)
        case ints(String, [Int])
        case float(String, Float)

        var proto: Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            switch self {
            case .int(let name, let v): a.name = name; a.type = .int; a.i = Int64(v)
            case .ints(let name, let v): a.name = name; a.type = .ints; a.ints = v.map(Int64.init)
            case .float(let name, let v): a.name = name; a.type = .float; a.f = v
            }
            return a
        }
    }

    /// Appends a node with one fresh output and returns that output's name.
    private mutating func node(_ op: String, _ inputs: [String], name: String, attributes: [Attribute] = []) -> String {
        let output = "\(name)_out"
        nodes.append(Self.node(op, inputs, [output], name: name, attributes: attributes))
        return output
    }

    private static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String,
                             attributes: [Attribute] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = outputs
        n.attribute = attributes.map(\.proto)
        return n
    }

    /// Adds a float32 initializer and returns its name.
    private mutating func initializer(_ name: String, _ t: Tensor) -> String {
        initializers.append(Self.tensor(name, t))
        return name
    }

    /// A float32 TensorProto: dims as the tensor's shape, values little-endian in `raw_data`.
    static func tensor(_ name: String, _ t: Tensor) -> Onnx_TensorProto {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = t.shape.map(Int64.init)
        p.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var data = Data(capacity: t.count * 4)
        for v in t.scalars { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        p.rawData = data
        return p
    }

    /// A float32 tensor value: symbolic batch dimension `batch`, then `dims`.
    static func valueInfo(_ name: String, batch: String, dims: [Int]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var n = Onnx_TensorShapeProto.Dimension()
        n.dimParam = batch
        shape.dim = [n] + dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type = type
        return v
    }
}

/// The memory layout of the exported model's input tensor.
public enum InputLayout: String, CaseIterable, Sendable, Codable {
    /// (N, H, W, C): the layout SonoKit's preprocessing writes (and Keras uses).
    case nhwc
    /// (N, C, H, W): the layout of PyTorch and of most ONNX deployments.
    case nchw
}

/// The operator that turns the network's output into probabilities.
///
/// SonoKit's networks are binary today: one logit z per frame and p = σ(z) = 1 / (1 + e^(−z)), the
/// probability of the positive class. A multi-class head (K logits) would add a case exporting
/// `Softmax(axis = 1)` over (N, K); the output tensor keeps its name and (N, classes) shape
/// convention, so deployers read the same output either way.
public enum OutputActivation: String, Sendable {
    /// Binary: (N, 1), σ(z), the positive class's probability.
    case sigmoid
    /// Multi-class: (N, K), softmax over the K classes in the card's order.
    case softmax
}
