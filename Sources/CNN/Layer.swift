import SonoKitCore

/// A named tensor of a layer: a trainable weight (kernel, bias, gamma, beta) or a statistic that
/// training updates without gradients (BatchNorm's moving mean and variance).
public final class Parameter {
    public enum Kind: String, Codable, Sendable { case weight, statistic }

    /// Unique within a model: "<layer name>.<role>", e.g. "block1_conv1.kernel" (Keras layer names).
    public let name: String
    public let kind: Kind
    /// Current value. Setting it bumps `version` so layers can drop weights they re-laid out.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Gradient of the loss with respect to `value`, written by the last `backward` (zeros before).
    public var gradient: Tensor
    /// Incremented on every write of `value`.
    public private(set) var version: Int = 0

    public init(name: String, kind: Kind = .weight, value: Tensor) {
        self.name = name
        self.kind = kind
        self.value = value
        self.gradient = Tensor.zeros(value.shape)
    }
}

/// What a forward pass is for.
public struct ForwardContext {
    /// Training behaviour: batch statistics in BatchNorm, dropout active. Frozen layers always
    /// behave as in inference (Keras semantics for `trainable = False`).
    public var training: Bool
    /// The random stream for dropout masks, advanced by every dropout layer in order.
    public var rng: SplitMix64

    public init(training: Bool, rng: SplitMix64 = SplitMix64(seed: 0)) {
        self.training = training
        self.rng = rng
    }
}

/// A layer: parameters as stored properties, a forward pass, and a backward pass that writes the
/// gradients of its trainable parameters and returns the gradient with respect to its input.
///
/// `forward(_:keepForBackward:context:)` keeps what `backward` needs only when
/// `keepForBackward` is true (the model passes false for frozen layers in front of every
/// trainable one, so a frozen base keeps no activations).
public protocol Layer: AnyObject, CustomStringConvertible {
    /// The layer's name (Keras names for VGG16: "block1_conv1", "block1_pool", ...).
    var name: String { get }
    /// The Keras class name shown in summaries ("Conv2D", "MaxPooling2D", ...).
    var typeName: String { get }
    /// Every parameter, weights and statistics.
    var parameters: [Parameter] { get }
    /// A frozen layer's weights are not trained and it runs in inference mode.
    var isFrozen: Bool { get set }
    /// The output shape for an input shape (batch first), or an error naming the layer.
    func outputShape(for input: [Int]) throws -> [Int]
    /// The output for `x`. Throws `CNNError.oneDNN` when oneDNN fails (naming the layer).
    func forward(_ x: Tensor, keepForBackward: Bool, context: inout ForwardContext) throws -> Tensor
    /// Given dLoss/dOutput for the last forward with `keepForBackward`, writes the gradients of
    /// the trainable parameters (when not frozen) and returns dLoss/dInput when asked.
    func backward(_ dy: Tensor, needInputGradient: Bool) throws -> Tensor?
    /// Creates (and keeps) the oneDNN primitives that `forward` — and `backward` when
    /// `keepForBackward` — will use for an input of shape `input`, without running them, and
    /// returns the implementation oneDNN chose for each. Layers that use no oneDNN primitive
    /// return an empty list (the default).
    func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice]
    /// Drops what the last forward kept.
    func releaseCache()
    /// True while the layer keeps activations (or masks) from a forward pass for `backward`.
    var isHoldingActivations: Bool { get }
}

extension Layer {
    public func prepareKernels(input: [Int], keepForBackward: Bool, training: Bool) throws -> [KernelChoice] { [] }

    /// Parameters that an optimiser updates.
    public var trainableParameters: [Parameter] {
        isFrozen ? [] : parameters.filter { $0.kind == .weight }
    }
    /// Parameters that carry no gradients.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// Activation fused into Conv2D and Dense.
public enum Activation: String, Codable, Sendable {
    case linear, relu
}

/// Applies dy *= (y > 0) in place: the ReLU derivative given the ReLU's output y.
@inline(__always)
func maskByPositive(_ dy: inout Tensor, output y: Tensor) {
    dy.scalars.withUnsafeMutableBufferPointer { d in
        y.scalars.withUnsafeBufferPointer { o in
            for i in 0..<d.count where !(o[i] > 0) { d[i] = 0 }
        }
    }
}

/// y = max(x, 0) in place.
@inline(__always)
func reluInPlace(_ x: inout Tensor) {
    x.scalars.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count { p[i] = max(p[i], 0) }
    }
}

/// Shape check for NHWC inputs.
func requireNHWC(_ input: [Int], layer: String, channels: Int? = nil) throws {
    guard input.count == 4, channels == nil || input[3] == channels! else {
        throw CNNError.shapeMismatch(layer: layer, expected: "(N, H, W, \(channels.map(String.init) ?? "C"))", got: input)
    }
}
