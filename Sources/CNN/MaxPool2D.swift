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

    /// The pooling operation descriptor pieces for an input shape.
    static func descriptor(name: String, input: [Int], output: [Int], poolSize: Int, stride: Int, padding: Padding,
                           type: dnnl_data_type_t, srcTag: dnnl_format_tag_t, training: Bool,
                           src: dnnl_memory_desc_t? = nil) -> dnnl_pooling_desc_t {
        let h = padding.geometry(input: input[1], kernel: poolSize, stride: stride)
        let w = padding.geometry(input: input[2], kernel: poolSize, stride: stride)
        var s = src ?? DNNL.desc(nchwDims(input), type, srcTag)
        var d = DNNL.desc(nchwDims(output), type, src == nil ? srcTag : dnnl_format_tag_any)
        let strides = DNNL.dimArray([dnnl_dim_t(stride), dnnl_dim_t(stride)])
        let kernel = DNNL.dimArray([dnnl_dim_t(poolSize), dnnl_dim_t(poolSize)])
        let pl = DNNL.dimArray([dnnl_dim_t(h.before), dnnl_dim_t(w.before)])
        let pr = DNNL.dimArray([dnnl_dim_t(h.after), dnnl_dim_t(w.after)])
        var op = dnnl_pooling_desc_t()
        DNNL.check(dnnl_pooling_forward_desc_init(&op, training ? dnnl_forward_training : dnnl_forward_inference,
                                                  dnnl_pooling_max, &s, &d, strides, kernel, pl, pr),
                   "\(name) pooling desc")
        return op
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) -> Tensor {
        let outShape = try! outputShape(for: x.shape)
        if cacheKey == nil || cacheKey!.0 != x.shape || cacheKey!.1 != keepForBackward {
            var op = Self.descriptor(name: name, input: x.shape, output: outShape, poolSize: poolSize, stride: stride,
                                     padding: padding, type: dnnl_f32, srcTag: dnnl_nhwc, training: keepForBackward)
            let fwd = DNNLPrimitive(op: &op, "\(name) forward")
            forwardPrimitive = fwd
            backwardPrimitive = nil
            if keepForBackward {
                let h = padding.geometry(input: x.shape[1], kernel: poolSize, stride: stride)
                let w = padding.geometry(input: x.shape[2], kernel: poolSize, stride: stride)
                var ds = DNNL.desc(nchwDims(x.shape), dnnl_f32, dnnl_nhwc)
                var dd = DNNL.desc(nchwDims(outShape), dnnl_f32, dnnl_nhwc)
                let strides = DNNL.dimArray([dnnl_dim_t(stride), dnnl_dim_t(stride)])
                let kernel = DNNL.dimArray([dnnl_dim_t(poolSize), dnnl_dim_t(poolSize)])
                let pl = DNNL.dimArray([dnnl_dim_t(h.before), dnnl_dim_t(w.before)])
                let pr = DNNL.dimArray([dnnl_dim_t(h.after), dnnl_dim_t(w.after)])
                var bop = dnnl_pooling_desc_t()
                DNNL.check(dnnl_pooling_backward_desc_init(&bop, dnnl_pooling_max, &ds, &dd, strides, kernel, pl, pr),
                           "\(name) pooling backward desc")
                backwardPrimitive = DNNLPrimitive(op: &bop, hint: fwd, "\(name) backward")
            }
            cacheKey = (x.shape, keepForBackward)
        }
        let fwd = forwardPrimitive!
        var y = Tensor.uninitialized(outShape)
        let ws = keepForBackward ? DNNLMemory(allocating: fwd.md(dnnl_query_workspace_md)) : nil
        withMemory(reading: x, fwd.md(dnnl_query_src_md)) { src in
            withMemory(&y, fwd.md(dnnl_query_dst_md)) { dst in
                var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_DST, dst)]
                if let ws { args.append((CDNNL_ARG_WORKSPACE, ws)) }
                fwd.execute(args)
            }
        }
        workspace = ws
        keptInputShape = keepForBackward ? x.shape : nil
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) -> Tensor? {
        guard needInputGradient else { return nil }
        guard let shape = keptInputShape, let ws = workspace, let bwd = backwardPrimitive else {
            preconditionFailure("\(name): backward without a training forward")
        }
        var dx = Tensor.uninitialized(shape)
        withMemory(reading: dy, bwd.md(dnnl_query_diff_dst_md)) { ddst in
            withMemory(&dx, bwd.md(dnnl_query_diff_src_md)) { dsrc in
                bwd.execute([(CDNNL_ARG_DIFF_DST, ddst), (CDNNL_ARG_DIFF_SRC, dsrc), (CDNNL_ARG_WORKSPACE, ws)])
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
