import SonoKitCore

/// Fully connected layer, as Keras `Dense`: y = act(x W + b) for x of shape (N, in), with W in
/// Keras layout (in, out). Products on oneDNN's sgemm:
/// forward Y = X W; backward dW = Xᵀ dZ, db = Σ_n dZ, dX = dZ Wᵀ, with dZ = dY ⊙ [y > 0] for ReLU.
public final class Dense: Layer {
    public let name: String
    public var typeName: String { "Dense" }
    public let inputFeatures: Int
    public let units: Int
    public let activation: Activation
    /// (in, out).
    public let kernel: Parameter
    /// (out).
    public let bias: Parameter
    public var isFrozen = false
    public var parameters: [Parameter] { [kernel, bias] }
    private var keptInput: Tensor?
    private var keptOutput: Tensor?

    /// Glorot-uniform kernel (limit sqrt(6 / (in + out)), Keras' default) and zero bias.
    public init(name: String, inputFeatures: Int, units: Int, activation: Activation = .linear, rng: inout SplitMix64) {
        self.name = name
        self.inputFeatures = inputFeatures
        self.units = units
        self.activation = activation
        let limit = Float((6.0 / Double(inputFeatures + units)).squareRoot())
        var w = [Float](repeating: 0, count: inputFeatures * units)
        for i in w.indices { w[i] = rng.nextUniform(limit: limit) }
        kernel = Parameter(name: "\(name).kernel", value: Tensor(shape: [inputFeatures, units], scalars: w))
        bias = Parameter(name: "\(name).bias", value: .zeros([units]))
    }

    public var description: String { "Dense(\(inputFeatures)->\(units), activation=\(activation.rawValue))" }

    public func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 2, input[1] == inputFeatures else {
            throw CNNError.shapeMismatch(layer: name, expected: "(N, \(inputFeatures))", got: input)
        }
        return [input[0], units]
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == inputFeatures else { throw CNNError.shapeMismatch(layer: name, expected: "(N, \(inputFeatures))", got: x.shape) }
        let n = x.shape[0]
        var y = [Float](repeating: 0, count: n * units)
        try bias.value.scalars.withUnsafeBufferPointer { b in
            try y.withUnsafeMutableBufferPointer { out in
                for r in 0..<n { (out.baseAddress! + r * units).update(from: b.baseAddress!, count: units) }
                try x.scalars.withUnsafeBufferPointer { a in
                    try kernel.value.scalars.withUnsafeBufferPointer { w in
                        try DNNL.sgemm(transA: false, transB: false, m: n, n: units, k: inputFeatures,
                                   a: a.baseAddress!, lda: inputFeatures, b: w.baseAddress!, ldb: units,
                                   beta: 1, c: out.baseAddress!, ldc: units, "\(name) forward")
                    }
                }
            }
        }
        var out = Tensor(shape: [n, units], scalars: y)
        if activation == .relu { reluInPlace(&out) }
        keptInput = keepForBackward ? x : nil
        keptOutput = keepForBackward && activation == .relu ? out : nil
        return out
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard let x = keptInput else { preconditionFailure("\(name): backward without a training forward") }
        var dz = dy
        if activation == .relu, let y = keptOutput { maskByPositive(&dz, output: y) }
        let n = x.shape[0]
        if !isFrozen {
            var dw = [Float](repeating: 0, count: inputFeatures * units)
            var db = [Float](repeating: 0, count: units)
            try x.scalars.withUnsafeBufferPointer { a in
                try dz.scalars.withUnsafeBufferPointer { g in
                    try dw.withUnsafeMutableBufferPointer { out in
                        try DNNL.sgemm(transA: true, transB: false, m: inputFeatures, n: units, k: n,
                                   a: a.baseAddress!, lda: inputFeatures, b: g.baseAddress!, ldb: units,
                                   beta: 0, c: out.baseAddress!, ldc: units, "\(name) kernel gradient")
                    }
                    for r in 0..<n { for j in 0..<units { db[j] += g[r * units + j] } }
                }
            }
            kernel.gradient = Tensor(shape: [inputFeatures, units], scalars: dw)
            bias.gradient = Tensor(shape: [units], scalars: db)
        }
        guard needInputGradient else { return nil }
        var dx = [Float](repeating: 0, count: n * inputFeatures)
        try dz.scalars.withUnsafeBufferPointer { g in
            try kernel.value.scalars.withUnsafeBufferPointer { w in
                try dx.withUnsafeMutableBufferPointer { out in
                    try DNNL.sgemm(transA: false, transB: true, m: n, n: inputFeatures, k: units,
                               a: g.baseAddress!, lda: units, b: w.baseAddress!, ldb: units,
                               beta: 0, c: out.baseAddress!, ldc: inputFeatures, "\(name) input gradient")
                }
            }
        }
        return Tensor(shape: [n, inputFeatures], scalars: dx)
    }

    public var isHoldingActivations: Bool { keptInput != nil || keptOutput != nil }

    public func releaseCache() {
        keptInput = nil
        keptOutput = nil
    }
}
