import CDNNL

/// Batch normalisation over the channel axis of NHWC inputs, as Keras `BatchNormalization`
/// (momentum 0.99, epsilon 1e-3 by default).
///
/// Training (not frozen): with the batch mean μ_c and biased variance σ²_c over (N, H, W),
/// y = γ (x − μ) / sqrt(σ² + ε) + β, and the moving statistics become
/// m ← momentum·m + (1 − momentum)·μ, v ← momentum·v + (1 − momentum)·σ² (Keras keeps the
/// biased variance; PyTorch would store the unbiased one). Inference, and always when frozen:
/// the moving statistics replace μ and σ². Forward and backward run on oneDNN.
public final class BatchNorm: Layer {
    public let name: String
    public var typeName: String { "BatchNormalization" }
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let movingMean: Parameter
    public let movingVariance: Parameter
    public var isFrozen = false
    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }

    public init(name: String, channels: Int, momentum: Float = 0.99, epsilon: Float = 1e-3) {
        self.name = name
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter(name: "\(name).gamma", value: Tensor(repeating: 1, shape: [channels]))
        beta = Parameter(name: "\(name).beta", value: .zeros([channels]))
        movingMean = Parameter(name: "\(name).moving_mean", kind: .statistic, value: .zeros([channels]))
        movingVariance = Parameter(name: "\(name).moving_variance", kind: .statistic, value: Tensor(repeating: 1, shape: [channels]))
    }

    public var description: String { "BatchNorm(\(channels), momentum=\(momentum), epsilon=\(epsilon))" }

    public func outputShape(for input: [Int]) throws -> [Int] {
        try requireNHWC(input, layer: name, channels: channels)
        return input
    }

    private var cacheKey: ([Int], Bool)?
    private var forwardPrimitive: DNNLPrimitive?
    private var backwardPrimitive: DNNLPrimitive?
    private var kept: (input: Tensor, mean: Tensor, variance: Tensor)?

    private static let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue

    private func prepare(_ shape: [Int], batchStatistics: Bool) throws {
        if let k = cacheKey, k.0 == shape, k.1 == batchStatistics { return }
        var data = try DNNL.desc(nchwDims(shape), dnnl_f32, dnnl_nhwc)
        var op = dnnl_batch_normalization_desc_t()
        try DNNL.check(dnnl_batch_normalization_forward_desc_init(
            &op, batchStatistics ? dnnl_forward_training : dnnl_forward_inference, &data, epsilon,
            batchStatistics ? Self.flags : Self.flags | dnnl_use_global_stats.rawValue), "describe \(name) forward")
        let fwd = try DNNLPrimitive(op: &op, "\(name) forward")
        forwardPrimitive = fwd
        backwardPrimitive = nil
        if batchStatistics {
            var bop = dnnl_batch_normalization_desc_t()
            try DNNL.check(dnnl_batch_normalization_backward_desc_init(&bop, dnnl_backward, &data, &data, epsilon, Self.flags),
                           "describe \(name) backward")
            backwardPrimitive = try DNNLPrimitive(op: &bop, hint: fwd, "\(name) backward")
        }
        cacheKey = (shape, batchStatistics)
    }

    public func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice] {
        try prepare(input, batchStatistics: training && !isFrozen)
        return [forwardPrimitive, backwardPrimitive].compactMap { $0?.choice }
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        guard x.rank == 4, x.shape[3] == channels else { throw CNNError.shapeMismatch(layer: name, expected: description, got: x.shape) }
        let batchStatistics = context.training && !isFrozen
        try prepare(x.shape, batchStatistics: batchStatistics)
        let fwd = forwardPrimitive!
        let cdesc = try DNNL.desc([channels], dnnl_f32, dnnl_x)
        var y = Tensor.uninitialized(x.shape)
        var mean = batchStatistics ? Tensor.zeros([channels]) : movingMean.value
        var variance = batchStatistics ? Tensor.zeros([channels]) : movingVariance.value
        try withMemory(reading: x, fwd.md(dnnl_query_src_md)) { src in
            try withMemory(&y, fwd.md(dnnl_query_dst_md)) { dst in
                try withMemory(reading: gamma.value, cdesc) { gm in
                    try withMemory(reading: beta.value, cdesc) { bm in
                        try withMemory(&mean, cdesc) { mm in
                            try withMemory(&variance, cdesc) { vm in
                                try fwd.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_DST, dst), (CDNNL_ARG_SCALE, gm),
                                             (CDNNL_ARG_SHIFT, bm), (CDNNL_ARG_MEAN, mm), (CDNNL_ARG_VARIANCE, vm)])
                            }
                        }
                    }
                }
            }
        }
        if batchStatistics {
            var m = movingMean.value, v = movingVariance.value
            for c in 0..<channels {
                m.scalars[c] = momentum * m.scalars[c] + (1 - momentum) * mean.scalars[c]
                v.scalars[c] = momentum * v.scalars[c] + (1 - momentum) * variance.scalars[c]
            }
            movingMean.value = m
            movingVariance.value = v
        }
        kept = keepForBackward && batchStatistics ? (x, mean, variance) : nil
        keptInference = keepForBackward && !batchStatistics
        return y
    }

    /// True when the last forward used the moving statistics but a gradient must still flow
    /// through (a frozen BatchNorm behind a trainable layer): dx = dy γ / sqrt(v + ε).
    private var keptInference = false

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        if keptInference {
            guard needInputGradient else { return nil }
            var dx = dy
            var factor = [Float](repeating: 0, count: channels)
            for c in 0..<channels { factor[c] = gamma.value.scalars[c] / (movingVariance.value.scalars[c] + epsilon).squareRoot() }
            dx.scalars.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] *= factor[i % channels] }
            }
            return dx
        }
        guard let k = kept, let bwd = backwardPrimitive else {
            preconditionFailure("\(name): backward without a training forward")
        }
        let cdesc = try DNNL.desc([channels], dnnl_f32, dnnl_x)
        var dx = Tensor.uninitialized(k.input.shape)
        var dg = Tensor.zeros([channels]), dbeta = Tensor.zeros([channels])
        try withMemory(reading: k.input, bwd.md(dnnl_query_src_md)) { src in
            try withMemory(reading: dy, bwd.md(dnnl_query_diff_dst_md)) { ddst in
                try withMemory(&dx, bwd.md(dnnl_query_diff_src_md)) { dsrc in
                    try withMemory(reading: k.mean, cdesc) { mm in
                        try withMemory(reading: k.variance, cdesc) { vm in
                            try withMemory(reading: gamma.value, cdesc) { gm in
                              try withMemory(reading: beta.value, cdesc) { bm in
                                try withMemory(&dg, cdesc) { dgm in
                                    try withMemory(&dbeta, cdesc) { dbm in
                                        try bwd.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_DIFF_DST, ddst), (CDNNL_ARG_MEAN, mm),
                                                     (CDNNL_ARG_VARIANCE, vm), (CDNNL_ARG_SCALE, gm), (CDNNL_ARG_SHIFT, bm),
                                                     (CDNNL_ARG_DIFF_SRC, dsrc), (CDNNL_ARG_DIFF_SCALE, dgm),
                                                     (CDNNL_ARG_DIFF_SHIFT, dbm)])
                                    }
                                }
                              }
                            }
                        }
                    }
                }
            }
        }
        if !isFrozen {
            gamma.gradient = dg
            beta.gradient = dbeta
        }
        return needInputGradient ? dx : nil
    }

    public var isHoldingActivations: Bool { kept != nil || keptInference }

    public func releaseCache() {
        kept = nil
        keptInference = false
    }
}
