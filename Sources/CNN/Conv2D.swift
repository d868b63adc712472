import SonoKitCore
import CDNNL

/// 2-D convolution over NHWC inputs, as Keras `Conv2D`: y = act(x * K + b), with kernel K in
/// Keras layout (kh, kw, in, out) ("HWIO") and cross-correlation semantics (no kernel flip),
/// stride s and `same`/`valid` padding. Bias and ReLU are fused into the oneDNN convolution.
///
/// Backward (when not frozen, or when an earlier layer is trainable): the ReLU mask is applied to
/// dy using the kept output (ReLU'(z) = [y > 0]); oneDNN then computes dK, db (backward weights)
/// and dx (backward data).
public final class Conv2D: Layer {
    public let name: String
    public var typeName: String { "Conv2D" }
    public let inputChannels: Int
    public let filters: Int
    public let kernelSize: (height: Int, width: Int)
    public let stride: Int
    public let padding: Padding
    public let activation: Activation
    /// (kh, kw, in, out).
    public let kernel: Parameter
    /// (out).
    public let bias: Parameter
    public var isFrozen = false
    public var parameters: [Parameter] { [kernel, bias] }

    /// Glorot-uniform kernel (Keras' default: limit sqrt(6 / (fan_in + fan_out)) with
    /// fan = receptive field x channels) and zero bias, drawn from `rng`.
    public init(name: String, inputChannels: Int, filters: Int, kernelSize: Int = 3, stride: Int = 1,
                padding: Padding = .same, activation: Activation = .linear, rng: inout SplitMix64) {
        self.name = name
        self.inputChannels = inputChannels
        self.filters = filters
        self.kernelSize = (kernelSize, kernelSize)
        self.stride = stride
        self.padding = padding
        self.activation = activation
        let field = kernelSize * kernelSize
        let limit = Float((6.0 / Double(field * inputChannels + field * filters)).squareRoot())
        var k = [Float](repeating: 0, count: field * inputChannels * filters)
        for i in k.indices { k[i] = rng.nextUniform(limit: limit) }
        kernel = Parameter(name: "\(name).kernel", value: Tensor(shape: [kernelSize, kernelSize, inputChannels, filters], scalars: k))
        bias = Parameter(name: "\(name).bias", value: .zeros([filters]))
    }

    public var description: String {
        "Conv2D(\(inputChannels)->\(filters), kernel=\(kernelSize.height)x\(kernelSize.width), stride=\(stride), padding=\(padding.rawValue), activation=\(activation.rawValue))"
    }

    public func outputShape(for input: [Int]) throws -> [Int] {
        try requireNHWC(input, layer: name, channels: inputChannels)
        let h = padding.geometry(input: input[1], kernel: kernelSize.height, stride: stride)
        let w = padding.geometry(input: input[2], kernel: kernelSize.width, stride: stride)
        guard h.output > 0, w.output > 0 else {
            throw CNNError.shapeMismatch(layer: name, expected: "at least \(kernelSize.height)x\(kernelSize.width) pixels with valid padding", got: input)
        }
        return [input[0], h.output, w.output, filters]
    }

    // MARK: oneDNN primitives, cached per input shape

    private struct Geometry: Equatable {
        var input: [Int]
        var output: [Int]
        var padBefore: [Int]
        var padAfter: [Int]
    }

    private final class Primitives {
        let geometry: Geometry
        let training: Bool
        let forward: DNNLPrimitive
        /// Training only: dx and dK, and the kernel reorders they need (planned once here, run
        /// every step: HWIO -> backward-data layout, backward-weights layout -> HWIO).
        var backwardData: DNNLPrimitive?
        var backwardWeights: DNNLPrimitive?
        var kernelToBackwardData: DNNLPrimitive?
        var diffKernelToUser: DNNLPrimitive?
        /// HWIO -> the forward primitive's kernel layout.
        let kernelToForward: DNNLPrimitive
        /// Kernel laid out as the forward primitive wants it, and the kernel version it came from.
        var forwardKernel: DNNLMemory?
        var forwardKernelVersion = -1
        init(geometry: Geometry, training: Bool, forward: DNNLPrimitive, kernelToForward: DNNLPrimitive) {
            self.geometry = geometry
            self.training = training
            self.forward = forward
            self.kernelToForward = kernelToForward
        }
        var choices: [KernelChoice] {
            [forward, kernelToForward, backwardData, backwardWeights, kernelToBackwardData, diffKernelToUser].compactMap { $0?.choice }
        }
    }

    private var primitives: Primitives?
    private var keptInput: Tensor?
    private var keptOutput: Tensor?

    private func geometry(for input: [Int]) -> Geometry {
        let h = padding.geometry(input: input[1], kernel: kernelSize.height, stride: stride)
        let w = padding.geometry(input: input[2], kernel: kernelSize.width, stride: stride)
        return Geometry(input: input, output: [input[0], h.output, w.output, filters],
                        padBefore: [h.before, w.before], padAfter: [h.after, w.after])
    }

    private func userKernelDesc() throws -> dnnl_memory_desc_t {
        try DNNL.desc([filters, inputChannels, kernelSize.height, kernelSize.width], dnnl_f32, dnnl_hwio)
    }

    /// The primitives for a geometry. Activations stay in NHWC, the layout of the tensors that
    /// layers pass to each other (oneDNN has JIT kernels for it at every ISA: checked by the
    /// kernel-guard tests at AVX-512, AVX2 and SSE4.1); the kernel layout is oneDNN's choice
    /// (`any`).
    private func prepare(_ g: Geometry, training: Bool) throws -> Primitives {
        if let p = primitives, p.geometry == g, p.training == training { return p }
        var src = try DNNL.desc(nchwDims(g.input), dnnl_f32, dnnl_nhwc)
        var dst = try DNNL.desc(nchwDims(g.output), dnnl_f32, dnnl_nhwc)
        var wts = try DNNL.desc([filters, inputChannels, kernelSize.height, kernelSize.width], dnnl_f32, dnnl_format_tag_any)
        var b = try DNNL.desc([filters], dnnl_f32, dnnl_x)
        let strides = DNNL.dimArray([dnnl_dim_t(stride), dnnl_dim_t(stride)])
        let pl = DNNL.dimArray(g.padBefore.map { dnnl_dim_t($0) })
        let pr = DNNL.dimArray(g.padAfter.map { dnnl_dim_t($0) })
        var op = dnnl_convolution_desc_t()
        try DNNL.check(dnnl_convolution_forward_desc_init(&op, training ? dnnl_forward_training : dnnl_forward_inference,
                                                          dnnl_convolution_direct, &src, &wts, &b, &dst,
                                                          strides, pl, pr), "describe \(name) forward")
        let attr = try Self.reluAttribute(activation)
        defer { if let attr { dnnl_primitive_attr_destroy(attr) } }
        let fwd = try DNNLPrimitive(op: &op, attr: attr, "\(name) forward")
        let user = try userKernelDesc()
        let p = Primitives(geometry: g, training: training, forward: fwd,
                           kernelToForward: try DNNLPrimitive(reorderFrom: user, to: fwd.md(dnnl_query_weights_md), "\(name) kernel to forward layout"))
        if training {
            var bd = dnnl_convolution_desc_t()
            var wAny = wts
            try DNNL.check(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &wAny, &dst,
                                                                    strides, pl, pr), "describe \(name) backward data")
            let data = try DNNLPrimitive(op: &bd, hint: fwd, "\(name) backward data")
            p.backwardData = data
            p.kernelToBackwardData = try DNNLPrimitive(reorderFrom: user, to: data.md(dnnl_query_weights_md), "\(name) kernel to backward-data layout")
            var bw = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &src, &wAny, &b, &dst,
                                                                       strides, pl, pr), "describe \(name) backward weights")
            let weights = try DNNLPrimitive(op: &bw, hint: fwd, "\(name) backward weights")
            p.backwardWeights = weights
            p.diffKernelToUser = try DNNLPrimitive(reorderFrom: weights.md(dnnl_query_diff_weights_md), to: user, "\(name) kernel gradient to HWIO")
        }
        primitives = p
        return p
    }

    public func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice] {
        try prepare(geometry(for: input), training: keepForBackward).choices
    }

    /// A primitive attribute with a fused ReLU post-op, or nil.
    static func reluAttribute(_ activation: Activation) throws -> dnnl_primitive_attr_t? {
        guard activation == .relu else { return nil }
        var attr: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attr), "create a primitive attribute")
        var ops: dnnl_post_ops_t?
        try DNNL.check(dnnl_post_ops_create(&ops), "create post-ops")
        defer { dnnl_post_ops_destroy(ops) }
        try DNNL.check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0), "append a ReLU post-op")
        try DNNL.check(dnnl_primitive_attr_set_post_ops(attr, ops), "set post-ops")
        return attr
    }

    /// The kernel reordered from HWIO by `reorder` (into the layout its destination describes).
    private func reorderedKernel(by reorder: DNNLPrimitive) throws -> DNNLMemory {
        let out = try DNNLMemory(allocating: reorder.md(dnnl_query_dst_md))
        try withMemory(reading: kernel.value, try userKernelDesc()) { user in
            try reorder.execute([(CDNNL_ARG_FROM, user), (CDNNL_ARG_TO, out)])
        }
        return out
    }

    // MARK: Forward and backward

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        let g = geometry(for: x.shape)
        guard x.rank == 4, x.shape[3] == inputChannels, g.output[1] > 0, g.output[2] > 0 else {
            throw CNNError.shapeMismatch(layer: name, expected: description, got: x.shape)
        }
        let p = try prepare(g, training: keepForBackward)
        if p.forwardKernelVersion != kernel.version || p.forwardKernel == nil {
            p.forwardKernel = try reorderedKernel(by: p.kernelToForward)
            p.forwardKernelVersion = kernel.version
        }
        var y = Tensor.uninitialized(g.output)
        try withMemory(reading: x, p.forward.md(dnnl_query_src_md)) { src in
            try withMemory(reading: bias.value, try DNNL.desc([filters], dnnl_f32, dnnl_x)) { bm in
                try withMemory(&y, p.forward.md(dnnl_query_dst_md)) { dst in
                    try p.forward.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, p.forwardKernel!),
                                           (CDNNL_ARG_BIAS, bm), (CDNNL_ARG_DST, dst)])
                }
            }
        }
        if keepForBackward {
            keptInput = x
            keptOutput = activation == .relu ? y : nil
        } else {
            releaseCache()
        }
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard let x = keptInput, let p = primitives, p.training else {
            preconditionFailure("\(name): backward without a forward that kept its input")
        }
        var dz = dy
        if activation == .relu, let y = keptOutput { maskByPositive(&dz, output: y) }
        if !isFrozen {
            let bw = p.backwardWeights!
            let diffKernel = try DNNLMemory(allocating: bw.md(dnnl_query_diff_weights_md))
            var db = Tensor.zeros([filters])
            try withMemory(reading: x, bw.md(dnnl_query_src_md)) { src in
                try withMemory(reading: dz, bw.md(dnnl_query_diff_dst_md)) { ddst in
                    try withMemory(&db, try DNNL.desc([filters], dnnl_f32, dnnl_x)) { dbm in
                        try bw.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_DIFF_DST, ddst),
                                        (CDNNL_ARG_DIFF_WEIGHTS, diffKernel), (CDNNL_ARG_DIFF_BIAS, dbm)])
                    }
                }
            }
            var dk = Tensor.uninitialized(kernel.value.shape)
            try withMemory(&dk, try userKernelDesc()) { user in
                try p.diffKernelToUser!.execute([(CDNNL_ARG_FROM, diffKernel), (CDNNL_ARG_TO, user)])
            }
            kernel.gradient = dk
            bias.gradient = db
        }
        guard needInputGradient else { return nil }
        let bd = p.backwardData!
        let k = try reorderedKernel(by: p.kernelToBackwardData!)
        var dx = Tensor.uninitialized(x.shape)
        try withMemory(reading: dz, bd.md(dnnl_query_diff_dst_md)) { ddst in
            try withMemory(&dx, bd.md(dnnl_query_diff_src_md)) { dsrc in
                try bd.execute([(CDNNL_ARG_DIFF_DST, ddst), (CDNNL_ARG_WEIGHTS, k), (CDNNL_ARG_DIFF_SRC, dsrc)])
            }
        }
        return dx
    }

    public var isHoldingActivations: Bool { keptInput != nil || keptOutput != nil }

    public func releaseCache() {
        keptInput = nil
        keptOutput = nil
    }

    /// The oneDNN implementation of the last forward primitive (for benchmarks and tests).
    public var forwardImplementation: String? { primitives?.forward.implementation }
}

/// oneDNN's logical dimension order for an NHWC shape (N, C, H, W).
func nchwDims(_ nhwc: [Int]) -> [Int] { [nhwc[0], nhwc[3], nhwc[1], nhwc[2]] }
