/// A point of the precision-recall curve at threshold `threshold` (positive iff score >= threshold).
public struct PrecisionRecallPoint: Codable, Equatable, Sendable {
    /// `nil` for the end point (recall 0, precision 1) that scikit-learn appends without a threshold.
    public var threshold: Double?
    public var recall: Double
    public var precision: Double
}

/// Precision-recall curve and average precision, as scikit-learn defines them.
public enum PrecisionRecall {
    /// One point per distinct score t, thresholds ascending, then the end point (recall 0,
    /// precision 1): precision(t) = TP(t) / (TP(t) + FP(t)), recall(t) = TP(t) / P. This is
    /// `precision_recall_curve(drop_intermediate=False)` of scikit-learn 1.9 (earlier versions
    /// stopped at the first threshold reaching full recall; the average precision is the same).
    public static func curve(_ outcomes: BinaryOutcomes) -> [PrecisionRecallPoint] {
        let p = Double(outcomes.positives)
        let descending = outcomes.cumulativeCountsByDescendingScore().map { c in
            PrecisionRecallPoint(threshold: c.threshold, recall: Double(c.truePositives) / p,
                                 precision: Double(c.truePositives) / Double(c.truePositives + c.falsePositives))
        }
        return descending.reversed() + [PrecisionRecallPoint(threshold: nil, recall: 0, precision: 1)]
    }

    /// Average precision, the step-wise (not interpolated, not trapezoidal) area under the PR curve:
    ///
    ///     AP = Σ_k (R_k - R_{k-1}) · P_k
    ///
    /// over the distinct thresholds in descending order, R_0 = 0 (scikit-learn's
    /// `average_precision_score`). Properties: in (0, 1]; equals the mean of the precisions at the
    /// ranks of the positives when there are no ties; its chance level is the prevalence P/n (not
    /// 1/2), so it is read against prevalence; invariant under strictly increasing score transforms.
    /// The trapezoidal area is avoided because linear interpolation in PR space is optimistic
    /// (Davis & Goadrich 2006).
    public static func averagePrecision(_ outcomes: BinaryOutcomes) -> Double {
        var ap = 0.0, previousRecall = 0.0
        for point in curve(outcomes).reversed() where point.threshold != nil {
            ap += (point.recall - previousRecall) * point.precision
            previousRecall = point.recall
        }
        return ap
    }
}
