import Foundation

/// Sigmoid + binary cross-entropy computed from logits, with per-sample weights.
///
/// For logit z, label y ∈ [0, 1] and weight w, the per-sample loss is
///   ℓ = w · (max(z, 0) − z·y + log(1 + exp(−|z|))),
/// which equals −w·(y log σ(z) + (1 − y) log(1 − σ(z))) but never overflows and never takes
/// log(0) (it stays exact for |z| in the thousands, where σ(z) rounds to 0 or 1). The batch
/// loss is the mean over the N samples, L = (1/N) Σ ℓ_n (Keras' and PyTorch's reduction with
/// sample weights), and dL/dz_n = w_n (σ(z_n) − y_n) / N.
public enum BinaryCrossEntropy {
    /// σ(z) = 1 / (1 + exp(−z)), evaluated without overflow for large |z|.
    public static func sigmoid(_ z: Float) -> Float {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// The mean loss and its gradient with respect to the logits (same shape as `logits`).
    /// - Parameters:
    ///   - logits: (N, 1) or (N).
    ///   - labels: N targets in [0, 1].
    ///   - weights: N per-sample weights, or nil for 1.
    public static func lossAndGradient(logits: Tensor, labels: [Float], weights: [Float]? = nil) -> (loss: Float, gradient: Tensor) {
        let n = logits.count
        precondition(labels.count == n, "BinaryCrossEntropy: \(n) logits but \(labels.count) labels")
        precondition(weights == nil || weights!.count == n, "BinaryCrossEntropy: \(n) logits but \(weights!.count) weights")
        var total = 0.0
        var grad = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let z = Double(logits.scalars[i]), y = Double(labels[i]), w = Double(weights?[i] ?? 1)
            total += w * (max(z, 0) - z * y + log1p(exp(-abs(z))))
            let s = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
            grad[i] = Float(w * (s - y) / Double(n))
        }
        return (Float(total / Double(n)), Tensor(shape: logits.shape, scalars: grad))
    }

    /// The mean loss only.
    public static func loss(logits: Tensor, labels: [Float], weights: [Float]? = nil) -> Float {
        lossAndGradient(logits: logits, labels: labels, weights: weights).loss
    }
}
