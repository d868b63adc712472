import CDNNL

/// Max pooling over NHWC inputs, as Keras `MaxPooling2D` (default: 2x2 window, stride 2, valid).
/// y[n,i,j,c] = max over the window of x. Backward routes dy to the position of each maximum
/// (oneDNN keeps the argmax positions in a workspace during training).
public final class MaxPool2D: Layer {
    public let name: String
    public var typeName: String { "MaxPooling2D" }
    public let poolSize: Int
    public let stride: Int
    public let padding: Padding
    public var isFrozen = false
    public var parameters: [Parameter] { [] }

    public init(name: String, poolSize: Int = 2, stride: Int? = nil, padding: Padding = .valid) {
        self.name = name
        self.poolSize = poolSize
        self.stride = stride ?? poolSize
        self.padding = padding
    }

    public var description: String { "MaxPool2D(pool=\(poolSize)x\(poolSize), stride=\(stride), padding=\(padding.rawValue))" }

    public func outputShape(for input: [Int]) throws -> [Int] {
        try requireNHWC(input, layer: name)
        let h = padding.geometry(input: input[1], kernel: poolSize, stride: stride)
        let w = padding.geometry(input: input[2], kernel: poolSize, stride: stride)
        guard h.output > 0, w.output > 0 else {
            throw CNNError.shapeMismatch(layer: name, expected: "at least \(poolSize)x\(poolSize) pixels", got: input)
        }
        return [input[0], h.output, w.output, input[3]]
    }

    private var cacheKey: ([Int], Bool)?
    private var forwardPrimitive: DNNLPrimitive?
    private var backwardPrimitive: DNNLPrimitive?
    private var workspace: DNNLMemory?
    private var keptInputShape: [Int]?

    /// The pooling operation descriptor for an input shape: the source layout `src` when given
    /// (a frozen pipeline passes what the previous primitive writes), else `srcTag`; the
    /// destination layout is `srcTag`, or oneDNN's choice (`any`) after a given `src`.
    static func descriptor(name: String, input: [Int], output: [Int], poolSize: Int, stride: Int, padding: Padding,
                           type: dnnl_data_type_t, srcTag: dnnl_format_tag_t, training: Bool,
                           src: dnnl_memory_desc_t? = nil) throws -> dnnl_pooling_desc_t {
        var s = try src ?? DNNL.desc(nchwDims(input), type, srcTag)
        var d = try DNNL.desc(nchwDims(output), type, src == nil ? srcTag : dnnl_format_tag_any)
        let g = window(input: input, poolSize: poolSize, stride: stride, padding: padding)
        var op = dnnl_pooling_desc_t()
        try DNNL.check(dnnl_pooling_forward_desc_init(&op, training ? dnnl_forward_training : dnnl_forward_inference,
                                                      dnnl_pooling_max, &s, &d, g.strides, g.kernel, g.padBefore, g.padAfter),
                       "describe \(name) forward")
        return op
    }

    /// Strides, window and padding as oneDNN's dims arguments.
    private static func window(input: [Int], poolSize: Int, stride: Int, padding: Padding)
        -> (strides: [dnnl_dim_t], kernel: [dnnl_dim_t], padBefore: [dnnl_dim_t], padAfter: [dnnl_dim_t]) {
        let h = padding.geometry(input: input[1], kernel: poolSize, stride: stride)
        let w = padding.geometry(input: input[2], kernel: poolSize, stride: stride)
        return (DNNL.dimArray([dnnl_dim_t(stride), dnnl_dim_t(stride)]), DNNL.dimArray([dnnl_dim_t(poolSize), dnnl_dim_t(poolSize)]),
                DNNL.dimArray([dnnl_dim_t(h.before), dnnl_dim_t(w.before)]), DNNL.dimArray([dnnl_dim_t(h.after), dnnl_dim_t(w.after)]))
    }

    /// The primitives for an input shape (NHWC activations, as the tensors between layers).
    private func prepare(_ input: [Int], training: Bool) throws {
        if let k = cacheKey, k.0 == input, k.1 == training { return }
        let outShape = try outputShape(for: input)
        var op = try Self.descriptor(name: name, input: input, output: outShape, poolSize: poolSize, stride: stride,
                                     padding: padding, type: dnnl_f32, srcTag: dnnl_nhwc, training: training)
        let fwd = try DNNLPrimitive(op: &op, "\(name) forward")
        forwardPrimitive = fwd
        backwardPrimitive = nil
        if training {
            var ds = try DNNL.desc(nchwDims(input), dnnl_f32, dnnl_nhwc)
            var dd = try DNNL.desc(nchwDims(outShape), dnnl_f32, dnnl_nhwc)
            let g = Self.window(input: input, poolSize: poolSize, stride: stride, padding: padding)
            var bop = dnnl_pooling_desc_t()
            try DNNL.check(dnnl_pooling_backward_desc_init(&bop, dnnl_pooling_max, &ds, &dd, g.strides, g.kernel, g.padBefore, g.padAfter),
                           "describe \(name) backward")
            backwardPrimitive = try DNNLPrimitive(op: &bop, hint: fwd, "\(name) backward")
        }
        cacheKey = (input, training)
    }

    public func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice] {
        try prepare(input, training: keepForBackward)
        return [forwardPrimitive, backwardPrimitive].compactMap { $0?.choice }
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        let outShape = try outputShape(for: x.shape)
        try prepare(x.shape, training: keepForBackward)
        let fwd = forwardPrimitive!
        var y = Tensor.uninitialized(outShape)
        let ws = keepForBackward ? try DNNLMemory(allocating: fwd.md(dnnl_query_workspace_md)) : nil
        try withMemory(reading: x, fwd.md(dnnl_query_src_md)) { src in
            try withMemory(&y, fwd.md(dnnl_query_dst_md)) { dst in
                var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_DST, dst)]
                if let ws { args.append((CDNNL_ARG_WORKSPACE, ws)) }
                try fwd.execute(args)
            }
        }
        workspace = ws
        keptInputShape = keepForBackward ? x.shape : nil
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard needInputGradient else { return nil }
        guard let shape = keptInputShape, let ws = workspace, let bwd = backwardPrimitive else {
            preconditionFailure("\(name): backward without a training forward")
        }
        var dx = Tensor.uninitialized(shape)
        try withMemory(reading: dy, bwd.md(dnnl_query_diff_dst_md)) { ddst in
            try withMemory(&dx, bwd.md(dnnl_query_diff_src_md)) { dsrc in
                try bwd.execute([(CDNNL_ARG_DIFF_DST, ddst), (CDNNL_ARG_DIFF_SRC, dsrc), (CDNNL_ARG_WORKSPACE, ws)])
            }
        }
        return dx
    }

    public var isHoldingActivations: Bool { workspace != nil || keptInputShape != nil }

    public func releaseCache() {
        workspace = nil
        keptInputShape = nil
    }
}
