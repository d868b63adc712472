import CDNNL

/// Rectified linear unit, as Keras `ReLU`: y = max(x, 0); dx = dy ⊙ [y > 0] (0 at x = 0, as
/// PyTorch and TensorFlow). On oneDNN's eltwise primitive (JIT, all cores): after a
/// convolution of a 224x224 batch these are hundreds of megabytes, too many for one thread.
/// The backward uses the kept output (`relu_use_dst_for_bwd`), so the input need not be kept.
public final class ReLU: Layer {
    public let name: String
    public var typeName: String { "ReLU" }
    public var isFrozen = false
    public var parameters: [Parameter] { [] }
    private var keptOutput: Tensor?
    private var cacheKey: ([Int], Bool)?
    private var forwardPrimitive: DNNLPrimitive?
    private var backwardPrimitive: DNNLPrimitive?

    public init(name: String) { self.name = name }

    public var description: String { "ReLU()" }

    public func outputShape(for input: [Int]) throws -> [Int] { input }

    /// oneDNN's view of any shape: a flat vector (the operation is elementwise).
    private func flat(_ shape: [Int]) throws -> dnnl_memory_desc_t { try DNNL.desc([shape.reduce(1, *)], dnnl_f32, dnnl_x) }

    private func prepare(_ shape: [Int], training: Bool) throws {
        if let k = cacheKey, k.0 == shape, k.1 == training { return }
        var data = try flat(shape)
        var op = dnnl_eltwise_desc_t()
        try DNNL.check(dnnl_eltwise_forward_desc_init(&op, training ? dnnl_forward_training : dnnl_forward_inference,
                                                      training ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu, &data, 0, 0),
                       "describe \(name) forward")
        let fwd = try DNNLPrimitive(op: &op, "\(name) forward")
        forwardPrimitive = fwd
        backwardPrimitive = nil
        if training {
            var bop = dnnl_eltwise_desc_t()
            try DNNL.check(dnnl_eltwise_backward_desc_init(&bop, dnnl_eltwise_relu_use_dst_for_bwd, &data, &data, 0, 0), "describe \(name) backward")
            backwardPrimitive = try DNNLPrimitive(op: &bop, hint: fwd, "\(name) backward")
        }
        cacheKey = (shape, training)
    }

    public func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice] {
        try prepare(input, training: keepForBackward)
        return [forwardPrimitive, backwardPrimitive].compactMap { $0?.choice }
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        try prepare(x.shape, training: keepForBackward)
        var y = Tensor.uninitialized(x.shape)
        let desc = try flat(x.shape)
        try withMemory(reading: x, desc) { src in
            try withMemory(&y, desc) { dst in try forwardPrimitive!.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_DST, dst)]) }
        }
        keptOutput = keepForBackward ? y : nil
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard needInputGradient else { return nil }
        guard let y = keptOutput, let bwd = backwardPrimitive else { preconditionFailure("\(name): backward without a training forward") }
        var dx = Tensor.uninitialized(dy.shape)
        let desc = try flat(dy.shape)
        try withMemory(reading: y, desc) { dst in
            try withMemory(reading: dy, desc) { ddst in
                try withMemory(&dx, desc) { dsrc in
                    try bwd.execute([(CDNNL_ARG_DST, dst), (CDNNL_ARG_DIFF_DST, ddst), (CDNNL_ARG_DIFF_SRC, dsrc)])
                }
            }
        }
        return dx
    }

    public var isHoldingActivations: Bool { keptOutput != nil }

    public func releaseCache() { keptOutput = nil }
}
