/// Global average pooling, as Keras `GlobalAveragePooling2D`: (N, H, W, C) -> (N, C) with
/// y[n,c] = (1 / HW) * sum over i,j of x[n,i,j,c]. Backward: dx[n,i,j,c] = dy[n,c] / HW.
///
/// A single pass over the input with the channel loop innermost (contiguous in NHWC, which the
/// compiler vectorises); at VGG16's 7x7x512 it costs microseconds.
public final class GlobalAveragePool: Layer {
    public let name: String
    public var typeName: String { "GlobalAveragePooling2D" }
    public var isFrozen = false
    public var parameters: [Parameter] { [] }
    private var keptInputShape: [Int]?

    public init(name: String = "global_average_pooling2d") { self.name = name }

    public var description: String { "GlobalAveragePool()" }

    public func outputShape(for input: [Int]) throws -> [Int] {
        try requireNHWC(input, layer: name)
        return [input[0], input[3]]
    }

    public func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor {
        let (n, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
        var y = [Float](repeating: 0, count: n * c)
        let scale = 1 / Float(hw)
        x.scalars.withUnsafeBufferPointer { src in
            y.withUnsafeMutableBufferPointer { dst in
                for b in 0..<n {
                    let out = dst.baseAddress! + b * c
                    for p in 0..<hw {
                        let row = src.baseAddress! + (b * hw + p) * c
                        for ch in 0..<c { out[ch] += row[ch] }
                    }
                    for ch in 0..<c { out[ch] *= scale }
                }
            }
        }
        keptInputShape = keepForBackward ? x.shape : nil
        return Tensor(shape: [n, c], scalars: y)
    }

    public func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor? {
        guard needInputGradient else { return nil }
        guard let shape = keptInputShape else { preconditionFailure("\(name): backward without a training forward") }
        let (n, hw, c) = (shape[0], shape[1] * shape[2], shape[3])
        var dx = [Float](repeating: 0, count: n * hw * c)
        let scale = 1 / Float(hw)
        dy.scalars.withUnsafeBufferPointer { g in
            dx.withUnsafeMutableBufferPointer { d in
                for b in 0..<n {
                    for p in 0..<hw {
                        let row = d.baseAddress! + (b * hw + p) * c
                        for ch in 0..<c { row[ch] = g[b * c + ch] * scale }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: dx)
    }

    public var isHoldingActivations: Bool { keptInputShape != nil }

    public func releaseCache() { keptInputShape = nil }
}
