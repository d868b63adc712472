import Evaluation
import Foundation

/// How a multi-class model's frame probabilities become one study's class probabilities and its
/// predicted class: the aggregation and decision rule of the multi-class evaluation
/// (`Evaluation.MulticlassAggregation`, `Evaluation.MulticlassDecisionRule`), so that predict
/// decides exactly as evaluate measured, plus where the rule comes from.
///
/// - Aggregation of the frames' vectors p_i: `mean` (p̄_k = mean_i p_ik), `max` (per-class maxima
///   renormalised to sum 1), `vote` (the fraction of frames whose argmax is k; no frame threshold).
/// - Decision: `argmax` (ties to the class declared first), or per-class thresholds fitted on
///   validation with threshold moving, argmax_k p_k / t_k (the class exceeding its own threshold
///   by the largest factor; when none reaches its threshold, the closest one, which the report
///   flags with `reached_threshold` false and a warning).
public struct MulticlassPredictionRule: Sendable, Equatable {
    public var aggregation: MulticlassAggregation
    public var decision: MulticlassDecisionRule
    /// Where the rule comes from, in words ("model card: argmax", "thresholds fitted on ...").
    public var source: String

    public init(aggregation: MulticlassAggregation, decision: MulticlassDecisionRule = .argmax, source: String) {
        self.aggregation = aggregation
        self.decision = decision
        self.source = source
    }

    /// The per-class thresholds, nil for argmax.
    public var thresholds: [Double]? {
        if case .perClassThresholds(let t) = decision { return t.thresholds.map(\.value) }
        return nil
    }

    /// The predicted class of study probabilities `q`, and whether its probability reached its
    /// own threshold (nil for argmax).
    public func decide(_ q: [Double]) -> (classIndex: Int, reachedThreshold: Bool?) {
        let k = decision.decide(q)
        return (k, thresholds.map { q[k] >= $0[k] })
    }
}
