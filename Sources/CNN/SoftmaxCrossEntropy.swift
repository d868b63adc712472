import Foundation

/// Softmax + categorical cross-entropy computed from logits, with per-sample and per-class weights.
///
/// For the logits z_i ∈ ℝ^K of sample i, its class y_i ∈ {0, …, K−1}, per-sample weight s_i and
/// class weights c_k, the sample's weight is w_i = s_i · c_{y_i} and its loss
///   ℓ_i = −log softmax(z_i)_{y_i} = m_i + log Σ_k exp(z_ik − m_i) − z_{i y_i},  m_i = max_k z_ik,
/// which never overflows (every exponent is ≤ 0, and the sum is ≥ 1 so the log is finite) and
/// stays exact for logits of any size (±1e4 included), where a softmax followed by a log would
/// give log(0) = −∞.
///
/// The batch loss is L = Σ_i w_i ℓ_i / D with
/// - `.batchSize`: D = N, the mean of the weighted losses — Keras' reduction with `sample_weight`
///   (and `class_weight`), and the one `BinaryCrossEntropy` and the training loop use;
/// - `.weightSum`: D = Σ_i w_i — PyTorch's `CrossEntropyLoss(weight=c)` (per-class weights,
///   reduction "mean"), a weighted average of the losses.
/// Both give the same value when every weight is 1. The gradient is
///   ∂L/∂z_ik = w_i (softmax(z_i)_k − [k = y_i]) / D.
/// Sums are accumulated in Double.
public enum SoftmaxCrossEntropy {
    /// What the summed weighted loss is divided by.
    public enum Normalization: String, Sendable {
        /// D = N (Keras with sample weights; the training loop).
        case batchSize
        /// D = Σ_i w_i (PyTorch `CrossEntropyLoss(weight=…)`).
        case weightSum
    }

    /// softmax(z)_k = exp(z_k − m) / Σ_j exp(z_j − m), m = max_j z_j: finite for any finite logits.
    public static func softmax(_ z: ArraySlice<Float>) -> [Float] {
        guard let m = z.max() else { return [] }
        var e = z.map { Double(exp(Double($0 - m))) }
        let s = e.reduce(0, +)
        for k in e.indices { e[k] /= s }
        return e.map(Float.init)
    }

    /// Row-wise softmax of (N, K) logits: (N, K) probabilities, each row summing to 1.
    public static func probabilities(logits: Tensor) -> Tensor {
        precondition(logits.rank == 2, "SoftmaxCrossEntropy: logits must be (N, K), got \(logits.shape)")
        let (n, k) = (logits.shape[0], logits.shape[1])
        var out = [Float](repeating: 0, count: n * k)
        for i in 0..<n { out.replaceSubrange((i * k)..<((i + 1) * k), with: softmax(logits.scalars[(i * k)..<((i + 1) * k)])) }
        return Tensor(shape: [n, k], scalars: out)
    }

    /// The loss and its gradient with respect to the logits (same shape as `logits`).
    /// - Parameters:
    ///   - logits: (N, K).
    ///   - labels: N class indices in 0..<K.
    ///   - sampleWeights: N per-sample weights s_i, or nil for 1.
    ///   - classWeights: K class weights c_k, or nil for 1.
    public static func lossAndGradient(logits: Tensor, labels: [Int], sampleWeights: [Float]? = nil, classWeights: [Float]? = nil,
                                       normalization: Normalization = .batchSize) -> (loss: Float, gradient: Tensor) {
        precondition(logits.rank == 2, "SoftmaxCrossEntropy: logits must be (N, K), got \(logits.shape)")
        let (n, k) = (logits.shape[0], logits.shape[1])
        precondition(labels.count == n, "SoftmaxCrossEntropy: \(n) rows of logits but \(labels.count) labels")
        precondition(labels.allSatisfy { (0..<k).contains($0) }, "SoftmaxCrossEntropy: a label is outside 0..<\(k)")
        precondition(sampleWeights == nil || sampleWeights!.count == n, "SoftmaxCrossEntropy: \(n) rows but \(sampleWeights!.count) sample weights")
        precondition(classWeights == nil || classWeights!.count == k, "SoftmaxCrossEntropy: \(k) classes but \(classWeights!.count) class weights")
        var weights = [Double](repeating: 1, count: n)
        for i in 0..<n { weights[i] = Double(sampleWeights?[i] ?? 1) * Double(classWeights?[labels[i]] ?? 1) }
        let denominator: Double
        switch normalization {
        case .batchSize: denominator = Double(n)
        case .weightSum: denominator = weights.reduce(0, +)
        }
        var total = 0.0
        var grad = [Float](repeating: 0, count: n * k)
        logits.scalars.withUnsafeBufferPointer { z in
            for i in 0..<n {
                let row = i * k
                var m = -Double.infinity
                for j in 0..<k { m = max(m, Double(z[row + j])) }
                var sum = 0.0
                for j in 0..<k { sum += exp(Double(z[row + j]) - m) }
                let logSum = m + log(sum)
                total += weights[i] * (logSum - Double(z[row + labels[i]]))
                for j in 0..<k {
                    let p = exp(Double(z[row + j]) - logSum)
                    grad[row + j] = Float(weights[i] * (p - (j == labels[i] ? 1 : 0)) / denominator)
                }
            }
        }
        return (Float(total / denominator), Tensor(shape: logits.shape, scalars: grad))
    }

    /// The loss only.
    public static func loss(logits: Tensor, labels: [Int], sampleWeights: [Float]? = nil, classWeights: [Float]? = nil,
                            normalization: Normalization = .batchSize) -> Float {
        lossAndGradient(logits: logits, labels: labels, sampleWeights: sampleWeights, classWeights: classWeights,
                        normalization: normalization).loss
    }
}
