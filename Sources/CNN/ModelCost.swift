/// Arithmetic cost of a model, counted as the anchor benchmarks count it
/// (/work/shared/anchors/common.py), so GFLOP/s figures compare like with like.
extension Model {
    /// Per layer with weights, in order: forward FLOPs per image (2 x multiply-adds of Conv2D and
    /// Dense) and whether the layer is trainable.
    public var layerFLOPs: [(flops: Double, trainable: Bool)] {
        var shape = [1] + inputShape
        var out: [(Double, Bool)] = []
        for l in layers {
            let next = (try? l.outputShape(for: shape)) ?? shape
            if let c = l as? Conv2D {
                out.append((2.0 * Double(next[1] * next[2] * c.filters * c.kernelSize.height * c.kernelSize.width * c.inputChannels), !l.isFrozen))
            } else if let d = l as? Dense {
                out.append((2.0 * Double(d.inputFeatures * d.units), !l.isFrozen))
            }
            shape = next
        }
        return out
    }

    /// Forward FLOPs per image of the whole model (`upToFeatures`: of the base only).
    public func forwardFLOPs(upToFeatures: Bool = false) -> Double {
        let all = layerFLOPs
        let baseCount = base.filter { $0 is Conv2D || $0 is Dense }.count
        return (upToFeatures ? Array(all.prefix(baseCount)) : all).reduce(0) { $0 + $1.flops }
    }

    /// Training FLOPs per image: forward once for every layer, plus once for the weight gradient
    /// of trainable layers, plus once for the input gradient of layers after a trainable one
    /// (so a frozen feature extractor costs about one forward).
    public var trainingFLOPs: Double {
        var total = 0.0, seenTrainable = false
        for (f, trainable) in layerFLOPs {
            total += f
            if trainable { total += f }
            if seenTrainable { total += f }
            seenTrainable = seenTrainable || trainable
        }
        return total
    }
}
