import CDNNL
import Foundation

/// The frozen layers at the start of a network compiled into one oneDNN pipeline, for inference
/// only: convolutions (bias and ReLU fused), max pooling, BatchNorm with moving statistics and
/// ReLU, in fp32 or bf16.
///
/// Why not layer by layer: oneDNN's fastest kernels want layouts of their own (blocked nChw16c
/// on AVX-512, nChw8c on AVX2, NHWC for its brgemm kernels: which one depends on the CPU, so
/// every convolution asks for `dnnl_format_tag_any` and oneDNN chooses) and pre-arranged
/// weights; between frozen layers nothing else reads the activations, so they stay in those
/// layouts, in two buffers used in turn (ping-pong) and nothing is kept for backward. A reorder
/// is planned only where two consecutive primitives want different layouts, once, when the
/// pipeline is built. Only the first layer's input (NHWC float32) and the last layer's output
/// (NHWC float32) are in the plain layout. In bf16 (only on CPUs with native bf16 arithmetic,
/// see `CPUInfo.hasNativeBF16`) the input is rounded to bfloat16 once, every convolution
/// multiplies bf16 values with fp32 accumulation (AVX-512 BF16 `vdpbf16ps`), and the result is
/// widened back to float32. Weights are re-arranged once, when the pipeline is built; a change
/// of weights (parameter version), input shape, precision or freezing rebuilds it.
final class FrozenPrefix {
    let layerCount: Int
    let inputShape: [Int]
    let outputShape: [Int]
    let precision: Precision
    let winograd: Bool
    private let weightVersions: [Int]

    private enum Location { case input, output, a, b }
    private struct Step {
        let primitive: DNNLPrimitive
        let source: (Location, DNNLMemory)
        let destination: (Location, DNNLMemory)?
        let extra: [(Int32, DNNLMemory)]
        let sourceArg: Int32
        let destinationArg: Int32
    }
    private var steps: [Step] = []
    private var bufferBytes = 0
    private var bufferA: UnsafeMutableRawPointer?
    private var bufferB: UnsafeMutableRawPointer?
    /// What each step computes and the oneDNN implementation chosen for it.
    private(set) var kernels: [KernelChoice] = []

    /// How many layers from the start can run in the pipeline (up to `limit`).
    static func supportedPrefixLength(_ layers: [Layer], limit: Int) -> Int {
        var n = 0
        while n < limit, layers[n] is Conv2D || layers[n] is MaxPool2D || layers[n] is BatchNorm || layers[n] is ReLU { n += 1 }
        return n
    }

    func fits(_ shape: [Int], _ layers: [Layer]) -> Bool {
        shape == inputShape && layers.prefix(layerCount).flatMap(\.parameters).map(\.version) == weightVersions
    }

    /// - Parameter winograd: use oneDNN's Winograd convolutions (F(4x4, 3x3) / F(2x2, 3x3),
    ///   fp32, 3x3 stride 1) where it has them: 2.25-4x fewer multiplications for the same
    ///   result up to rounding (checked against PyTorch on the ImageNet weights in the tests).
    ///   Winograd is taken only where oneDNN has a JIT implementation of it for this CPU
    ///   (AVX-512 in oneDNN 2.6; none on AVX2), else direct.
    /// - Throws: `CNNError.unsupportedPrecision` for bf16 on a CPU without native bf16
    ///   arithmetic; `CNNError.oneDNN` when oneDNN refuses a layer.
    init(layers: [Layer], inputShape: [Int], precision: Precision, winograd: Bool) throws {
        try precision.requireSupported()
        self.winograd = winograd
        layerCount = layers.count
        self.inputShape = inputShape
        self.precision = precision
        weightVersions = layers.flatMap(\.parameters).map(\.version)
        let type = precision == .bf16 ? dnnl_bf16 : dnnl_f32

        let inputMemory = try DNNLMemory(DNNL.desc(nchwDims(inputShape), dnnl_f32, dnnl_nhwc), pointer: nil)
        var current: (Location, DNNLMemory) = (.input, inputMemory)
        var shape = inputShape
        var planned: [(Location, dnnl_memory_desc_t)] = []

        func other(_ l: Location) -> Location { l == .a ? .b : .a }
        func placeholder(_ loc: Location, _ md: dnnl_memory_desc_t) throws -> (Location, DNNLMemory) {
            planned.append((loc, md))
            return (loc, try DNNLMemory(md, pointer: nil))
        }
        var rawSteps: [Step] = []
        func moveIfNeeded(to wanted: dnnl_memory_desc_t, for layer: String, force: Bool = false) throws {
            if !force && DNNL.equal(current.1.desc, wanted) { return }
            let r = try DNNLPrimitive(reorderFrom: current.1.desc, to: wanted, "activations to \(layer)'s layout (frozen)")
            let dst = try placeholder(other(current.0 == .input ? .b : current.0), wanted)
            rawSteps.append(Step(primitive: r, source: current, destination: dst, extra: [], sourceArg: CDNNL_ARG_FROM, destinationArg: CDNNL_ARG_TO))
            current = dst
        }

        for layer in layers {
            let out = try layer.outputShape(for: shape)
            if let conv = layer as? Conv2D {
                let h = conv.padding.geometry(input: shape[1], kernel: conv.kernelSize.height, stride: conv.stride)
                let w = conv.padding.geometry(input: shape[2], kernel: conv.kernelSize.width, stride: conv.stride)
                var src = try DNNL.desc(nchwDims(shape), type, dnnl_format_tag_any)
                var dst = try DNNL.desc(nchwDims(out), type, dnnl_format_tag_any)
                var wts = try DNNL.desc([conv.filters, conv.inputChannels, conv.kernelSize.height, conv.kernelSize.width], type, dnnl_format_tag_any)
                var bias = try DNNL.desc([conv.filters], dnnl_f32, dnnl_x)
                let strides = DNNL.dimArray([dnnl_dim_t(conv.stride), dnnl_dim_t(conv.stride)])
                let pl = DNNL.dimArray([dnnl_dim_t(h.before), dnnl_dim_t(w.before)])
                let pr = DNNL.dimArray([dnnl_dim_t(h.after), dnnl_dim_t(w.after)])
                var op = dnnl_convolution_desc_t()
                let attr = try Conv2D.reluAttribute(conv.activation)
                defer { if let attr { dnnl_primitive_attr_destroy(attr) } }
                var chosen: DNNLPrimitive?
                if winograd, precision == .fp32, conv.kernelSize.height == 3, conv.kernelSize.width == 3, conv.stride == 1 {
                    var wop = dnnl_convolution_desc_t()
                    if dnnl_convolution_forward_desc_init(&wop, dnnl_forward_inference, dnnl_convolution_winograd, &src, &wts, &bias, &dst,
                                                          strides, pl, pr) == dnnl_success {
                        chosen = try DNNLPrimitive(ifFast: &wop, attr: attr, "\(conv.name) forward (frozen, Winograd)")
                    }
                }
                if chosen == nil {
                    try DNNL.check(dnnl_convolution_forward_desc_init(&op, dnnl_forward_inference, dnnl_convolution_direct, &src, &wts, &bias, &dst,
                                                                      strides, pl, pr), "describe \(conv.name) forward (frozen)")
                    chosen = try DNNLPrimitive(op: &op, attr: attr, "\(conv.name) forward (frozen)")
                }
                let prim = chosen!
                try moveIfNeeded(to: prim.md(dnnl_query_src_md), for: conv.name)
                // Weights: HWIO float32 -> the primitive's layout and type, once.
                let userW = try DNNL.desc([conv.filters, conv.inputChannels, conv.kernelSize.height, conv.kernelSize.width], dnnl_f32, dnnl_hwio)
                let kernelMemory = try DNNLMemory(allocating: prim.md(dnnl_query_weights_md))
                try withMemory(reading: conv.kernel.value, userW) { u in
                    try DNNLPrimitive(reorderFrom: userW, to: kernelMemory.desc, "\(conv.name) kernel to frozen layout")
                        .execute([(CDNNL_ARG_FROM, u), (CDNNL_ARG_TO, kernelMemory)])
                }
                let biasMemory = try DNNLMemory(allocating: DNNL.desc([conv.filters], dnnl_f32, dnnl_x))
                conv.bias.value.scalars.withUnsafeBytes { biasMemory.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                let d = try placeholder(other(current.0 == .input ? .b : current.0), prim.md(dnnl_query_dst_md))
                rawSteps.append(Step(primitive: prim, source: current, destination: d,
                                     extra: [(CDNNL_ARG_WEIGHTS, kernelMemory), (CDNNL_ARG_BIAS, biasMemory)],
                                     sourceArg: CDNNL_ARG_SRC, destinationArg: CDNNL_ARG_DST))
                current = d
            } else if let pool = layer as? MaxPool2D {
                var op = try MaxPool2D.descriptor(name: pool.name, input: shape, output: out, poolSize: pool.poolSize, stride: pool.stride,
                                                  padding: pool.padding, type: type, srcTag: dnnl_format_tag_any, training: false,
                                                  src: current.1.desc)
                let prim = try DNNLPrimitive(op: &op, "\(pool.name) forward (frozen)")
                let d = try placeholder(other(current.0 == .input ? .b : current.0), prim.md(dnnl_query_dst_md))
                rawSteps.append(Step(primitive: prim, source: current, destination: d, extra: [],
                                     sourceArg: CDNNL_ARG_SRC, destinationArg: CDNNL_ARG_DST))
                current = d
            } else if let bn = layer as? BatchNorm {
                // In place: never on the caller's input tensor.
                if current.0 == .input { try moveIfNeeded(to: DNNL.desc(nchwDims(shape), type, dnnl_nhwc), for: bn.name, force: true) }
                var data = current.1.desc
                var op = dnnl_batch_normalization_desc_t()
                try DNNL.check(dnnl_batch_normalization_forward_desc_init(&op, dnnl_forward_inference, &data, bn.epsilon,
                                                                          dnnl_use_scale.rawValue | dnnl_use_shift.rawValue | dnnl_use_global_stats.rawValue),
                               "describe \(bn.name) forward (frozen)")
                let prim = try DNNLPrimitive(op: &op, "\(bn.name) forward (frozen)")
                var extra: [(Int32, DNNLMemory)] = []
                for (arg, p) in [(CDNNL_ARG_SCALE, bn.gamma), (CDNNL_ARG_SHIFT, bn.beta), (CDNNL_ARG_MEAN, bn.movingMean), (CDNNL_ARG_VARIANCE, bn.movingVariance)] {
                    let m = try DNNLMemory(allocating: DNNL.desc([bn.channels], dnnl_f32, dnnl_x))
                    p.value.scalars.withUnsafeBytes { m.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    extra.append((arg, m))
                }
                // In place: the destination is the source buffer.
                rawSteps.append(Step(primitive: prim, source: current, destination: nil, extra: extra,
                                     sourceArg: CDNNL_ARG_SRC, destinationArg: CDNNL_ARG_DST))
            } else if layer is ReLU {
                if current.0 == .input { try moveIfNeeded(to: DNNL.desc(nchwDims(shape), type, dnnl_nhwc), for: layer.name, force: true) }
                var data = current.1.desc
                var op = dnnl_eltwise_desc_t()
                try DNNL.check(dnnl_eltwise_forward_desc_init(&op, dnnl_forward_inference, dnnl_eltwise_relu, &data, 0, 0),
                               "describe \(layer.name) forward (frozen)")
                let prim = try DNNLPrimitive(op: &op, "\(layer.name) forward (frozen)")
                rawSteps.append(Step(primitive: prim, source: current, destination: nil, extra: [],
                                     sourceArg: CDNNL_ARG_SRC, destinationArg: CDNNL_ARG_DST))
            } else {
                throw CNNError.oneDNN(operation: "run \(layer.name) in the frozen pipeline", status: "unsupported layer type \(layer.typeName)")
            }
            shape = out
        }
        outputShape = shape
        // Back to plain NHWC float32 for the caller: by a reorder, or — when the last step already
        // writes that layout to a buffer of its own — by pointing that step at the caller's tensor.
        let outDesc = try DNNL.desc(nchwDims(shape), dnnl_f32, dnnl_nhwc)
        let outputMemory: DNNLMemory
        if let last = rawSteps.last, let dst = last.destination, DNNL.equal(dst.1.desc, outDesc) {
            outputMemory = dst.1
            rawSteps[rawSteps.count - 1] = Step(primitive: last.primitive, source: last.source, destination: (.output, dst.1),
                                                extra: last.extra, sourceArg: last.sourceArg, destinationArg: last.destinationArg)
        } else {
            outputMemory = try DNNLMemory(outDesc, pointer: nil)
            rawSteps.append(Step(primitive: try DNNLPrimitive(reorderFrom: current.1.desc, to: outDesc, "frozen output to NHWC float32"), source: current,
                                 destination: (.output, outputMemory), extra: [], sourceArg: CDNNL_ARG_FROM, destinationArg: CDNNL_ARG_TO))
        }

        bufferBytes = planned.map { DNNL.bytes($0.1) }.max() ?? 0
        if bufferBytes > 0 {
            bufferA = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 64)
            bufferB = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 64)
        }
        steps = rawSteps
        for s in steps {
            for (loc, mem) in [s.source] + (s.destination.map { [$0] } ?? []) {
                if loc == .a { try mem.setPointer(bufferA!) }
                if loc == .b { try mem.setPointer(bufferB!) }
            }
        }
        kernels = steps.map(\.primitive.choice)
        self.inputMemory = inputMemory
        self.outputMemory = outputMemory
    }

    private let inputMemory: DNNLMemory
    private let outputMemory: DNNLMemory

    /// Runs the pipeline on `inputShape` NHWC float32 values at `input`, writing the NHWC
    /// float32 output (`outputShape`) to `output`.
    func run(from input: UnsafePointer<Float>, to output: UnsafeMutablePointer<Float>) throws {
        try inputMemory.setPointer(UnsafeMutableRawPointer(mutating: input))
        try outputMemory.setPointer(UnsafeMutableRawPointer(output))
        for s in steps {
            var args = [(s.sourceArg, s.source.1), (s.destinationArg, (s.destination ?? s.source).1)]
            args += s.extra
            try s.primitive.execute(args)
        }
    }

    /// Bytes of the two activation buffers together.
    var activationBytes: Int { 2 * bufferBytes }

    deinit {
        bufferA?.deallocate()
        bufferB?.deallocate()
    }
}
