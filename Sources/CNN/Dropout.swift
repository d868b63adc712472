/// Inverted dropout, as Keras `Dropout(rate)`: in training each element is kept with
/// probability 1 - rate and scaled by 1 / (1 - rate), so inference is the identity.
/// The mask is drawn from the context's SplitMix64 stream (one uniform per element, in order),
/// so the same seed gives the same mask. Backward: dx = dy ⊙ mask / (1 - rate).
public final class Dropout: Layer {
    public let name: String
    public var typeName: String { "Dropout" }
    public let rate: Float
    public var isFrozen = false
    public var parameters: [Parameter] { [] }
    private var keptScale: [Float]?

    public init(name: String, rate: Float) {
        precondition(rate >= 0 && rate < 1, "Dropout \(name): rate \(rate) must be in [0, 1)")
        self.name = name
        self.rate = rate
    }

    public var description: String { "Dropout(rate=\(rate))" }

    public func outputShape(for input: [Int]) throws -> [Int] { input }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        guard context.training, !isFrozen, rate > 0 else {
            keptScale = nil
            return x
        }
        let keep = 1 - rate
        var scale = [Float](repeating: 0, count: x.count)
        for i in scale.indices { scale[i] = context.rng.nextUnitFloat() < keep ? 1 / keep : 0 }
        var y = x
        y.scalars.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= scale[i] } }
        keptScale = keepForBackward ? scale : nil
        return y
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard needInputGradient else { return nil }
        guard let scale = keptScale else { return dy }
        var dx = dy
        dx.scalars.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= scale[i] } }
        return dx
    }

    public var isHoldingActivations: Bool { keptScale != nil }

    public func releaseCache() { keptScale = nil }
}
