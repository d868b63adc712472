import SonoKitCore

/// The built-in architectures, constructed by name.
///
/// - `vgg16`: Keras `VGG16(include_top=False)` — 13 3x3 convolutions with ReLU named
///   block1_conv1 ... block5_conv3 and max pools block1_pool ... block5_pool — then
///   GlobalAveragePooling2D, Dense(256, relu) "dense" and Dense(outputs) "dense_1": one logit for a
///   binary task (the sigmoid is in the loss and in `probabilities`), N logits for N classes (the
///   softmax is in the loss and in `probabilities`). The base is frozen, as in the reference recipe.
/// - `small`: 4 blocks of Conv2D 3x3 (same) -> BatchNorm -> ReLU -> MaxPool 2, with 32/64/128/256
///   filters, then the same head; everything trainable. It is the anchors' "small 4-block CNN".
public enum Architecture: String, CaseIterable, Codable, Sendable {
    case vgg16, small

    /// VGG16 filter counts per block (Keras: 64, 128, 256, 512, 512).
    public static let vgg16Widths = [64, 128, 256, 512, 512]
    /// Convolutions per VGG16 block.
    public static let vgg16Depths = [2, 2, 3, 3, 3]
    /// `small` filter counts per block.
    public static let smallWidths = [32, 64, 128, 256]

    /// Builds the architecture with fresh weights drawn from `rng` (Glorot uniform, zero biases).
    /// `widths` overrides the per-block filter counts (tests use narrow VGGs with the same names);
    /// `headUnits` the hidden Dense width; `outputs` the units of the last Dense layer (1: a binary
    /// logit; N ≥ 2: N class logits); `inputShape` is (H, W, C).
    public func make(rng: inout SplitMix64, widths: [Int]? = nil, headUnits: Int = 256, headDropout: Float = 0,
                     outputs: Int = 1, inputShape: [Int] = [224, 224, 3]) throws -> Model {
        precondition(outputs >= 1, "a network needs at least one output")
        switch self {
        case .vgg16:
            let w = widths ?? Self.vgg16Widths
            precondition(w.count == 5, "vgg16 needs 5 block widths")
            var base: [Layer] = []
            var cin = inputShape[2]
            for b in 0..<5 {
                for i in 0..<Self.vgg16Depths[b] {
                    base.append(Conv2D(name: "block\(b + 1)_conv\(i + 1)", inputChannels: cin, filters: w[b],
                                       activation: .relu, rng: &rng))
                    cin = w[b]
                }
                base.append(MaxPool2D(name: "block\(b + 1)_pool"))
            }
            base.append(GlobalAveragePool())
            let model = try Model(name: "vgg16", inputShape: inputShape, base: base,
                                  head: Self.head(features: cin, units: headUnits, dropout: headDropout, outputs: outputs, rng: &rng))
            try model.freeze(["base"])
            return model
        case .small:
            let w = widths ?? Self.smallWidths
            var base: [Layer] = []
            var cin = inputShape[2]
            for (b, filters) in w.enumerated() {
                base.append(Conv2D(name: "block\(b + 1)_conv", inputChannels: cin, filters: filters, rng: &rng))
                base.append(BatchNorm(name: "block\(b + 1)_bn", channels: filters))
                base.append(ReLU(name: "block\(b + 1)_relu"))
                base.append(MaxPool2D(name: "block\(b + 1)_pool"))
                cin = filters
            }
            base.append(GlobalAveragePool())
            return try Model(name: "small", inputShape: inputShape, base: base,
                             head: Self.head(features: cin, units: headUnits, dropout: headDropout, outputs: outputs, rng: &rng))
        }
    }

    /// GAP features -> Dense(units, relu) "dense" [-> Dropout "dropout"] -> Dense(outputs) "dense_1".
    static func head(features: Int, units: Int, dropout: Float, outputs: Int, rng: inout SplitMix64) -> [Layer] {
        var h: [Layer] = [Dense(name: "dense", inputFeatures: features, units: units, activation: .relu, rng: &rng)]
        if dropout > 0 { h.append(Dropout(name: "dropout", rate: dropout)) }
        h.append(Dense(name: "dense_1", inputFeatures: units, units: outputs, rng: &rng))
        return h
    }

    /// The architecture named `name`, or an error listing the available ones.
    public static func named(_ name: String) throws -> Architecture {
        guard let a = Architecture(rawValue: name.lowercased()) else {
            throw CNNError.unknownModel(name: name, available: allCases.map(\.rawValue))
        }
        return a
    }
}
