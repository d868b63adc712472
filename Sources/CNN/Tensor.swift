import Foundation

/// A dense float32 tensor in row-major order. Images are NHWC (batch, height, width, channels),
/// the layout of Keras and of the preprocessing module; dense activations are (batch, features).
///
/// A value type: copies share storage until one is written (copy-on-write of `[Float]`).
public struct Tensor: Equatable, Sendable {
    /// Extent of each axis, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, last axis fastest.
    public var scalars: [Float]

    /// A tensor of the given shape holding `scalars` (whose count must equal the shape's product).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A tensor whose values are about to be overwritten entirely (by a oneDNN primitive):
    /// skips zero-filling buffers of hundreds of megabytes. The values are unspecified until
    /// written.
    static func uninitialized(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: [Float](unsafeUninitializedCapacity: n) { _, count in count = n })
    }

    /// Number of values.
    public var count: Int { scalars.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// The same values seen with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, scalars: scalars) }

    /// Largest |a - b| over all elements; shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
            }
        }
        return m
    }

    /// Largest |value| (0 for an empty tensor).
    public var maxAbs: Float { scalars.reduce(0) { max($0, abs($1)) } }

    /// The rows `range` of the outermost axis (a sub-batch).
    public func batchSlice(_ range: Range<Int>) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, scalars: Array(scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Permutes the axes: result axis i is source axis `order[i]`. Used when converting weight
    /// layouts (PyTorch OIHW <-> Keras HWIO) and in tests, never in a hot path.
    public func transposed(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "transposed: \(order) is not a permutation of the axes")
        let newShape = order.map { shape[$0] }
        var srcStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { srcStrides[i] = srcStrides[i + 1] * shape[i + 1] }
        let permutedStrides = order.map { srcStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        scalars.withUnsafeBufferPointer { src in
            for o in 0..<count {
                var offset = 0
                for a in 0..<rank { offset += index[a] * permutedStrides[a] }
                out[o] = src[offset]
                var a = rank - 1
                while a >= 0 {
                    index[a] += 1
                    if index[a] < newShape[a] { break }
                    index[a] = 0
                    a -= 1
                }
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(6).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 6 ? ", ..." : "")])"
    }
}
