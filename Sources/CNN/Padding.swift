/// Spatial padding of convolutions and pooling, with TensorFlow/Keras semantics.
///
/// - `valid`: no padding; out = floor((in - k) / s) + 1.
/// - `same`: out = ceil(in / s); the total padding max((out - 1) s + k - in, 0) is split with
///   the smaller half before (top/left) and the larger after, as TensorFlow does (PyTorch's
///   symmetric padding equals it whenever the total is even, e.g. 3x3 stride 1).
public enum Padding: String, Codable, Sendable {
    case valid, same

    /// (output extent, padding before, padding after) along one axis.
    public func geometry(input: Int, kernel: Int, stride: Int) -> (output: Int, before: Int, after: Int) {
        switch self {
        case .valid:
            return (input >= kernel ? (input - kernel) / stride + 1 : 0, 0, 0)
        case .same:
            let out = (input + stride - 1) / stride
            let total = max((out - 1) * stride + kernel - input, 0)
            return (out, total / 2, total - total / 2)
        }
    }
}
