import Foundation

/// A feed-forward network split in two parts at the pooled feature vector:
/// `base` maps an NHWC image batch to (N, F) features (ending with global average pooling) and
/// `head` maps features to (N, K) logits (K = 1: binary; K ≥ 2: K classes). The split is what the training loop's feature cache
/// needs: with a frozen base, `features(_:)` is computed once per frame and only `head` trains.
///
/// The model's output is the logit z; the probability σ(z) is what Keras' final
/// `Dense(1, activation="sigmoid")` outputs. Training uses `BinaryCrossEntropy` on z, which is
/// the numerically stable form of Keras' sigmoid + binary cross-entropy. With K ≥ 2 outputs the
/// logits are K class scores, softmax(z) is Keras' `Dense(K, activation="softmax")`, and training
/// uses `SoftmaxCrossEntropy`.
public final class Model: CustomStringConvertible {
    /// Architecture name ("vgg16", "small", ...).
    public let name: String
    /// (H, W, C) of one input image.
    public let inputShape: [Int]
    public let base: [Layer]
    public let head: [Layer]
    /// Precision of the frozen layers at the start of the network (see `FrozenPrefix`).
    public var frozenPrecision: Precision = .fp32 { didSet { frozenPrefixes = [] } }
    /// Run the frozen prefix as one oneDNN pipeline (blocked layouts, two reused buffers,
    /// nothing kept). On by default; off gives the layer-by-layer fp32 path (used by tests to
    /// check that both agree).
    public var usesFrozenPipeline = true { didSet { frozenPrefixes = [] } }

    /// Let the frozen fp32 pipeline use Winograd convolutions where oneDNN has them (3x3,
    /// stride 1): about 4x fewer multiplications, results equal to direct convolution up to
    /// float32 rounding (relative error ~5e-7 on the ImageNet VGG16 features in the tests). On by
    /// default; off gives direct convolutions.
    public var usesWinograd = true { didSet { frozenPrefixes = [] } }

    /// Images per pass of the frozen pipeline: a batch is run in chunks of this many images.
    /// Activation buffers and oneDNN's scratchpad (large for Winograd) scale with the chunk, not
    /// the batch; measured on VGG16 (batch 32): chunks of 8 keep the peak memory below Keras'
    /// while running as fast as whole batches.
    public var frozenChunkSize = 8 { didSet { frozenPrefixes = [] } }

    public var layers: [Layer] { base + head }
    /// Length of the pooled feature vector (512 for VGG16).
    public let featureCount: Int
    /// Units of the last layer: 1 (a binary logit) or the number of classes.
    public let outputCount: Int

    public init(name: String, inputShape: [Int], base: [Layer], head: [Layer]) throws {
        self.name = name
        self.inputShape = inputShape
        self.base = base
        self.head = head
        var shape = [1] + inputShape
        for l in base { shape = try l.outputShape(for: shape) }
        guard shape.count == 2 else {
            throw CNNError.shapeMismatch(layer: base.last?.name ?? name, expected: "(N, F) pooled features at the end of the base", got: shape)
        }
        featureCount = shape[1]
        for l in head { shape = try l.outputShape(for: shape) }
        guard shape.count == 2, shape[0] == 1, shape[1] >= 1 else {
            throw CNNError.shapeMismatch(layer: head.last?.name ?? name, expected: "(N, K) logits", got: shape)
        }
        outputCount = shape[1]
        let names = layers.map(\.name)
        precondition(Set(names).count == names.count, "Model \(name): duplicate layer names")
    }

    // MARK: Parameters and freezing

    /// Every parameter, in layer order.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    /// The parameters an optimiser updates (weights of layers that are not frozen).
    public var trainableParameters: [Parameter] { layers.flatMap(\.trainableParameters) }
    /// Parameters by name ("block1_conv1.kernel", "dense.bias", "block1_bn.moving_mean", ...).
    public var namedTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) })
    }

    /// Layers matched by `name`: a layer name ("block5_conv3"), a block name (every layer named
    /// "<block>_..."), or "base" / "head".
    public func layers(matching name: String) throws -> [Layer] {
        if name == "base" { return base }
        if name == "head" { return head }
        let found = layers.filter { $0.name == name || $0.name.hasPrefix(name + "_") }
        if found.isEmpty {
            var available = ["base", "head"]
            for l in layers {
                let block = String(l.name.split(separator: "_").first ?? "")
                if l.name.contains("_"), !available.contains(block), block.hasPrefix("block") { available.append(block) }
            }
            available += layers.map(\.name)
            throw CNNError.unknownLayer(name: name, available: available)
        }
        return found
    }

    /// Freezes layers by layer or block name; frozen layers are not trained, run in inference
    /// mode, and keep no activations when nothing trainable precedes them.
    public func freeze(_ names: [String]) throws {
        for n in names { for l in try layers(matching: n) { l.isFrozen = true } }
        frozenPrefixes = []
    }

    public func unfreeze(_ names: [String]) throws {
        for n in names { for l in try layers(matching: n) { l.isFrozen = false } }
        frozenPrefixes = []
    }

    /// Index in `layers` of the first layer that has trainable parameters (layers.count if none).
    var firstTrainableIndex: Int {
        layers.firstIndex { !$0.isFrozen && !$0.parameters.filter { $0.kind == .weight }.isEmpty } ?? layers.count
    }

    // MARK: Forward and backward

    /// Drops the compiled frozen prefix (weights changed).
    func frozenPipelineInvalidated() { frozenPrefixes = [] }

    /// Compiled frozen pipelines (one per chunk shape: the full chunk and a batch's remainder).
    private var frozenPrefixes: [FrozenPrefix] = []

    /// The frozen prefix's output for `x`, run in chunks of `frozenChunkSize` images.
    private func runFrozenPrefix(_ x: Tensor, layerCount count: Int) throws -> Tensor {
        let n = x.shape[0]
        let chunk = max(1, min(frozenChunkSize, n))
        let first = try frozenPipeline(layerCount: count, input: x.shape, images: chunk)
        var outShape = first.outputShape
        outShape[0] = n
        var y = Tensor.uninitialized(outShape)
        let inPer = x.count / n, outPer = y.count / n
        try x.scalars.withUnsafeBufferPointer { src in
            try y.scalars.withUnsafeMutableBufferPointer { dst in
                var start = 0
                while start < n {
                    let m = min(chunk, n - start)
                    try frozenPipeline(layerCount: count, input: x.shape, images: m)
                        .run(from: src.baseAddress! + start * inPer, to: dst.baseAddress! + start * outPer)
                    start += m
                }
            }
        }
        return y
    }

    /// The compiled pipeline of the first `count` layers for `images` images of `input`'s shape
    /// (built on first use, kept while the weights and settings do not change).
    private func frozenPipeline(layerCount count: Int, input: [Int], images: Int) throws -> FrozenPrefix {
        let all = layers
        var shape = input
        shape[0] = images
        if let p = frozenPrefixes.first(where: { $0.layerCount == count && $0.fits(shape, all) }) { return p }
        frozenPrefixes.removeAll { $0.layerCount != count || !$0.fits($0.inputShape, all) }
        let p = try FrozenPrefix(layers: Array(all[0..<count]), inputShape: shape, precision: frozenPrecision, winograd: usesWinograd)
        frozenPrefixes.append(p)
        return p
    }
    /// Where the last kept forward started (0: from images; base.count: from features).
    private var keptFrom: Int?

    /// Runs layers[range] on x. In training, layers from the first trainable one on keep what
    /// backward needs; those before it keep nothing.
    private func run(_ x: Tensor, _ range: Range<Int>, context: inout ForwardContext) throws -> Tensor {
        let all = layers
        let firstTrainable = firstTrainableIndex
        var h = x
        var start = range.lowerBound
        // The frozen prefix as one oneDNN pipeline (fp32 or bf16).
        let count = frozenPipelineLength(range)
        if count > 0 {
            h = try runFrozenPrefix(h, layerCount: count)
            start = count
        }
        for i in start..<range.upperBound {
            let keep = context.training && i >= firstTrainable
            h = try all[i].forward(h, keepForBackward: keep, context: &context)
        }
        return h
    }

    /// How many layers at the start of `range` run as the frozen pipeline (0 when none do).
    private func frozenPipelineLength(_ range: Range<Int>) -> Int {
        guard usesFrozenPipeline, range.lowerBound == 0 else { return 0 }
        return FrozenPrefix.supportedPrefixLength(layers, limit: min(firstTrainableIndex, range.upperBound))
    }

    /// Creates every oneDNN primitive that a forward pass (and, with `training`, a training step:
    /// forward, backward, kernel reorders) on `batch` images will use, without running one, and
    /// returns what oneDNN chose for each, in layer order. Also a warm-up: the primitives are kept
    /// for the next pass of the same shape. Every choice also goes to `KernelGuard`.
    public func prepareKernels(batch: Int, training: Bool) throws -> [KernelChoice] {
        let all = layers
        let firstTrainable = firstTrainableIndex
        var shape = [batch] + inputShape
        var choices: [KernelChoice] = []
        let count = frozenPipelineLength(0..<all.count)
        if count > 0 {
            let pipeline = try frozenPipeline(layerCount: count, input: shape, images: max(1, min(frozenChunkSize, batch)))
            choices += pipeline.kernels
            shape = pipeline.outputShape
            shape[0] = batch
        }
        for i in count..<all.count {
            choices += try all[i].prepareKernels(input: shape, keepForBackward: training && i >= firstTrainable, training: training)
            shape = try all[i].outputShape(for: shape)
        }
        return choices
    }

    /// Pooled features (N, F) of an NHWC batch (N, H, W, C), in inference mode: what the training
    /// loop caches for a frozen base.
    public func features(_ images: Tensor) throws -> Tensor {
        try checkImages(images)
        var context = ForwardContext(training: false)
        keptFrom = nil
        return try run(images, 0..<base.count, context: &context)
    }

    /// Logits (N, K) from pooled features (N, F). With `context.training`, keeps what
    /// `backward` needs for the head (and only the head).
    public func logits(features: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard features.rank == 2, features.shape[1] == featureCount else {
            throw CNNError.shapeMismatch(layer: head.first?.name ?? name, expected: "(N, \(featureCount)) features", got: features.shape)
        }
        keptFrom = context.training ? base.count : nil
        return try run(features, base.count..<layers.count, context: &context)
    }

    /// Logits (N, K) of an NHWC image batch. With `context.training`, trainable layers (and
    /// every layer after the first trainable one) keep what `backward` needs.
    public func logits(images: Tensor, context: inout ForwardContext) throws -> Tensor {
        try checkImages(images)
        keptFrom = context.training ? 0 : nil
        return try run(images, 0..<layers.count, context: &context)
    }

    /// Probabilities of an NHWC batch, in inference mode: σ(z) per image with one output (N
    /// values); with K ≥ 2 outputs the softmax of each image's logits, row-major (N·K values,
    /// image i's class k at i·K + k).
    public func probabilities(images: Tensor) throws -> [Float] {
        var context = ForwardContext(training: false)
        let z = try logits(images: images, context: &context)
        if outputCount == 1 { return z.scalars.map(BinaryCrossEntropy.sigmoid) }
        return SoftmaxCrossEntropy.probabilities(logits: z).scalars
    }

    /// Back-propagates dLoss/dLogits from the last training forward, writing the gradients of
    /// every trainable parameter; stops at the first trainable layer (nothing before it needs a
    /// gradient). Then drops the kept activations.
    public func backward(_ dLogits: Tensor) throws {
        guard let from = keptFrom else { preconditionFailure("Model \(name): backward without a training forward") }
        let all = layers
        let stop = max(firstTrainableIndex, from)
        var g = dLogits
        var i = all.count - 1
        while i >= stop {
            let needInput = i > stop
            if let next = try all[i].backward(g, needInputGradient: needInput) { g = next }
            i -= 1
        }
        for l in all { l.releaseCache() }
        keptFrom = nil
    }

    /// Sets every trainable parameter's gradient to zero.
    public func zeroGradients() {
        for p in parameters { p.gradient = .zeros(p.value.shape) }
    }

    private func checkImages(_ images: Tensor) throws {
        guard images.rank == 4, images.shape[3] == inputShape[2] else {
            throw CNNError.shapeMismatch(layer: "input", expected: "(N, H, W, \(inputShape[2])) NHWC images", got: images.shape)
        }
    }

    // MARK: Description

    /// A Keras-`summary()`-like table: layer (type), output shape, parameter count, trainable,
    /// then totals (BatchNorm's moving statistics count as non-trainable, as in Keras).
    public var description: String { summary() }

    public func summary() -> String {
        func fmt(_ n: Int) -> String {
            let s = String(n)
            var out = ""
            for (i, ch) in s.reversed().enumerated() {
                if i > 0 && i % 3 == 0 { out.append(",") }
                out.append(ch)
            }
            return String(out.reversed())
        }
        func shapeText(_ s: [Int]) -> String { "(None, " + s.dropFirst().map(String.init).joined(separator: ", ") + ")" }
        let rule = String(repeating: "_", count: 104)
        var lines = ["Model: \"\(name)\"" + (frozenPrecision == .bf16 ? " (frozen layers in bf16)" : ""), rule,
                     pad(" Layer (type)", 52) + pad("Output Shape", 24) + lpad("Param #", 14) + "  Trainable",
                     String(repeating: "=", count: 104)]
        var shape = [1] + inputShape
        lines.append(pad(" input (InputLayer)", 52) + pad(shapeText(shape), 24) + lpad("0", 14))
        var trainable = 0, frozen = 0
        for l in layers {
            shape = (try? l.outputShape(for: shape)) ?? shape
            let count = l.parameterCount
            let weights = l.parameters.filter { $0.kind == .weight }.reduce(0) { $0 + $1.value.count }
            let t = l.isFrozen ? 0 : weights
            trainable += t
            frozen += count - t
            let flag = count == 0 ? "" : (l.isFrozen ? "no" : (t == count ? "yes" : "yes (stats no)"))
            lines.append(pad(" \(l.name) (\(l.typeName))", 52) + pad(shapeText(shape), 24) + lpad(fmt(count), 14) + "  " + flag)
        }
        lines.append(String(repeating: "=", count: 104))
        lines.append("Total params: \(fmt(trainable + frozen))")
        lines.append("Trainable params: \(fmt(trainable))")
        lines.append("Non-trainable params: \(fmt(frozen))")
        lines.append(rule)
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}

/// Numeric precision of the frozen prefix's convolutions.
public enum Precision: String, Codable, CaseIterable, Sendable {
    /// float32 everywhere.
    case fp32
    /// bfloat16 activations and weights with fp32 accumulation (AVX-512 BF16), for frozen
    /// layers only; the pooled features come back as float32. Only on CPUs with native bf16
    /// arithmetic (`CPUInfo.hasNativeBF16`): elsewhere oneDNN has only reference or emulated
    /// kernels for it, so it is refused rather than run slowly.
    case bf16

    /// Throws `CNNError.unsupportedPrecision` when this CPU has no fast kernels for `self`.
    public func requireSupported(on cpu: CPUInfo = .current) throws {
        if self == .bf16, !cpu.hasNativeBF16 {
            throw CNNError.unsupportedPrecision(precision: rawValue, isa: cpu.isa, cpu: cpu.model)
        }
    }
}
