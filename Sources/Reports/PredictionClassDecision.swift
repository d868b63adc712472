import Evaluation
import Foundation

/// How a multi-class model's frame probabilities become one study's class probabilities and its
/// predicted class.
///
/// Aggregation of the frames' probability vectors p_f (one per frame, Σ_k p_f,k = 1) into the
/// study's vector q (the model card's rule; the same definitions as the multi-class evaluation):
/// - mean: q_k = (1/F) Σ_f p_f,k (sums to 1);
/// - max: m_k = max_f p_f,k, then renormalised, q_k = m_k / Σ_j m_j (the maxima of different
///   frames do not sum to 1);
/// - vote: q_k = the fraction of frames whose argmax is k (the frame threshold of the binary
///   vote rule plays no part).
///
/// Decision:
/// - argmax (no thresholds): the class with the largest q_k; ties go to the class declared first;
/// - per-class thresholds t_k (e.g. fitted on the validation split): among the classes with
///   q_k >= t_k, the one exceeding its threshold by the most (largest q_k - t_k; ties to the
///   class declared first); when no class reaches its threshold, the argmax class, and the report
///   says so (`reached_threshold` false and a warning).
public struct MulticlassDecisionRule: Sendable, Equatable {
    public var aggregation: StudyAggregation
    /// One threshold per class in the model's class order, or nil for argmax.
    public var thresholds: [Double]?
    /// Where the decision rule comes from, in words ("model card: argmax", "thresholds fitted on ...").
    public var source: String

    public init(aggregation: StudyAggregation, thresholds: [Double]? = nil, source: String) {
        self.aggregation = aggregation
        self.thresholds = thresholds
        self.source = source
    }

    /// The study's class probabilities from its frames' (`frames` non-empty, each of one length).
    public static func aggregate(_ frames: [[Double]], by aggregation: StudyAggregation) -> [Double] {
        precondition(!frames.isEmpty, "a study without frames has no class probabilities")
        let n = frames[0].count
        switch aggregation {
        case .mean:
            return (0..<n).map { k in frames.reduce(0) { $0 + $1[k] } / Double(frames.count) }
        case .max:
            let maxima = (0..<n).map { k in frames.map { $0[k] }.max()! }
            let total = maxima.reduce(0, +)
            return total > 0 ? maxima.map { $0 / total } : maxima
        case .vote:
            var votes = [Double](repeating: 0, count: n)
            for f in frames { votes[argmax(f)] += 1 }
            return votes.map { $0 / Double(frames.count) }
        }
    }

    /// The index of the largest value, the first among equals.
    public static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for k in values.indices where values[k] > values[best] { best = k }
        return best
    }

    /// The predicted class of study probabilities `q`, and whether it reached its threshold (nil
    /// for argmax).
    public func decide(_ q: [Double]) -> (classIndex: Int, reachedThreshold: Bool?) {
        guard let t = thresholds else { return (Self.argmax(q), nil) }
        var best: Int? = nil
        for k in q.indices where q[k] >= t[k] {
            if best == nil || q[k] - t[k] > q[best!] - t[best!] { best = k }
        }
        return best.map { ($0, true) } ?? (Self.argmax(q), false)
    }
}
