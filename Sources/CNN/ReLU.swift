/// Rectified linear unit, as Keras `ReLU`: y = max(x, 0); dx = dy ⊙ [y > 0] (0 at x = 0, as
/// PyTorch and TensorFlow). Elementwise and memory-bound: a vectorised loop, no library call.
public final class ReLU: Layer {
    public let name: String
    public var typeName: String { "ReLU" }
    public var isFrozen = false
    public var parameters: [Parameter] { [] }
    private var keptOutput: Tensor?

    public init(name: String) { self.name = name }

    public var description: String { "ReLU()" }

    public func outputShape(for input: [Int]) throws -> [Int] { input }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) -> Tensor {
        var y = x
        reluInPlace(&y)
        keptOutput = keepForBackward ? y : nil
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) -> Tensor? {
        guard needInputGradient else { return nil }
        guard let y = keptOutput else { preconditionFailure("\(name): backward without a training forward") }
        var dx = dy
        maskByPositive(&dx, output: y)
        return dx
    }

    public func releaseCache() { keptOutput = nil }
}
