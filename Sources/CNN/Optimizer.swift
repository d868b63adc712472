import Foundation

/// An optimiser updates the trainable parameters from their gradients, one `step` per batch,
/// and exposes its state as named tensors so that a checkpoint can save and restore it exactly.
public protocol Optimizer: AnyObject {
    /// Learning rate used by the next step (schedules set it before each step).
    var learningRate: Float { get set }
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Applies one update to every parameter in `parameters` from its `gradient`.
    func step(_ parameters: [Parameter])
    /// The state as named tensors ("adam.m.<param>", ...) plus scalars in `"<kind>.step"`.
    func state() -> [String: Tensor]
    /// Restores a state written by `state()`; throws when names or shapes do not fit.
    func load(state: [String: Tensor], parameters: [Parameter]) throws
}

/// Adam (Kingma & Ba 2015) with PyTorch's update rule:
///   g ← ∇ + λ θ (L2 weight decay, coupled, as torch.optim.Adam's `weight_decay`)
///   m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²
///   θ ← θ − lr · (m / (1 − β₁ᵗ)) / (sqrt(v / (1 − β₂ᵗ)) + ε)
/// The default ε = 1e-7 is Keras' (PyTorch's is 1e-8); both differ in the last digits only.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private var m: [String: [Float]] = [:]
    private var v: [String: [Float]] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let t = Double(stepCount)
        let c1 = Float(1 - pow(Double(beta1), t)), c2 = Float(1 - pow(Double(beta2), t))
        let (b1, b2, eps, lr, wd) = (beta1, beta2, epsilon, learningRate, weightDecay)
        for p in parameters {
            var mp = m[p.name] ?? [Float](repeating: 0, count: p.value.count)
            var vp = v[p.name] ?? [Float](repeating: 0, count: p.value.count)
            var value = p.value
            value.scalars.withUnsafeMutableBufferPointer { theta in
                p.gradient.scalars.withUnsafeBufferPointer { grad in
                    mp.withUnsafeMutableBufferPointer { mm in
                        vp.withUnsafeMutableBufferPointer { vv in
                            for i in 0..<theta.count {
                                let g = grad[i] + wd * theta[i]
                                mm[i] = b1 * mm[i] + (1 - b1) * g
                                vv[i] = b2 * vv[i] + (1 - b2) * g * g
                                theta[i] -= lr * (mm[i] / c1) / ((vv[i] / c2).squareRoot() + eps)
                            }
                        }
                    }
                }
            }
            p.value = value
            m[p.name] = mp
            v[p.name] = vp
        }
    }

    public func state() -> [String: Tensor] {
        var s: [String: Tensor] = ["adam.step": Tensor(shape: [1], scalars: [Float(stepCount)])]
        for (k, a) in m { s["adam.m.\(k)"] = Tensor(shape: [a.count], scalars: a) }
        for (k, a) in v { s["adam.v.\(k)"] = Tensor(shape: [a.count], scalars: a) }
        return s
    }

    public func load(state: [String: Tensor], parameters: [Parameter]) throws {
        guard let step = state["adam.step"] else { throw CNNError.optimizerStateMismatch(reason: "no adam.step (not an Adam state)") }
        var newM: [String: [Float]] = [:], newV: [String: [Float]] = [:]
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
        for (key, t) in state where key != "adam.step" {
            let isM = key.hasPrefix("adam.m."), isV = key.hasPrefix("adam.v.")
            guard isM || isV else { throw CNNError.optimizerStateMismatch(reason: "unknown entry \(key)") }
            let name = String(key.dropFirst(7))
            guard let p = byName[name] else { throw CNNError.optimizerStateMismatch(reason: "\(key) names no trainable parameter") }
            guard p.value.count == t.count else {
                throw CNNError.optimizerStateMismatch(reason: "\(key) has \(t.count) values, parameter \(name) has \(p.value.count)")
            }
            if isM { newM[name] = t.scalars } else { newV[name] = t.scalars }
        }
        m = newM
        v = newV
        stepCount = Int(step.scalars[0])
    }
}

/// Stochastic gradient descent with momentum and L2 weight decay, PyTorch's rule:
///   g ← ∇ + λ θ;  b ← μ b + g (b = g at the first step);  θ ← θ − lr · (nesterov ? g + μ b : b).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var buffers: [String: [Float]] = [:]

    public init(learningRate: Float = 1e-2, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let (mu, wd, lr) = (momentum, weightDecay, learningRate)
        for p in parameters {
            let first = buffers[p.name] == nil
            var b = buffers[p.name] ?? [Float](repeating: 0, count: p.value.count)
            var value = p.value
            value.scalars.withUnsafeMutableBufferPointer { theta in
                p.gradient.scalars.withUnsafeBufferPointer { grad in
                    b.withUnsafeMutableBufferPointer { buf in
                        for i in 0..<theta.count {
                            let g = grad[i] + wd * theta[i]
                            if mu == 0 {
                                theta[i] -= lr * g
                                continue
                            }
                            buf[i] = first ? g : mu * buf[i] + g
                            theta[i] -= lr * (nesterov ? g + mu * buf[i] : buf[i])
                        }
                    }
                }
            }
            p.value = value
            if mu != 0 { buffers[p.name] = b }
        }
    }

    public func state() -> [String: Tensor] {
        var s: [String: Tensor] = ["sgd.step": Tensor(shape: [1], scalars: [Float(stepCount)])]
        for (k, a) in buffers { s["sgd.momentum.\(k)"] = Tensor(shape: [a.count], scalars: a) }
        return s
    }

    public func load(state: [String: Tensor], parameters: [Parameter]) throws {
        guard let step = state["sgd.step"] else { throw CNNError.optimizerStateMismatch(reason: "no sgd.step (not an SGD state)") }
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
        var newBuffers: [String: [Float]] = [:]
        for (key, t) in state where key != "sgd.step" {
            guard key.hasPrefix("sgd.momentum.") else { throw CNNError.optimizerStateMismatch(reason: "unknown entry \(key)") }
            let name = String(key.dropFirst("sgd.momentum.".count))
            guard let p = byName[name], p.value.count == t.count else {
                throw CNNError.optimizerStateMismatch(reason: "\(key) does not fit a trainable parameter")
            }
            newBuffers[name] = t.scalars
        }
        buffers = newBuffers
        stepCount = Int(step.scalars[0])
    }
}
