/// A point of the empirical ROC curve: the rates obtained when a sample is called positive iff
/// `score >= threshold`.
public struct ROCPoint: Codable, Equatable, Sendable {
    /// The decision threshold, or `nil` for the start point (0, 0) where nothing is called
    /// positive (scikit-learn writes `inf` there; JSON has no infinity).
    public var threshold: Double?
    /// False positive rate FP / N = 1 - specificity.
    public var falsePositiveRate: Double
    /// True positive rate TP / P = sensitivity.
    public var truePositiveRate: Double
}

/// Receiver operating characteristic: the empirical curve and the area under it.
public enum ROC {
    /// The empirical ROC curve: one point per distinct score, thresholds descending.
    ///
    /// Definition: for each distinct score t (descending), FPR(t) = #{negatives with s >= t} / N and
    /// TPR(t) = #{positives with s >= t} / P, preceded by (0, 0). Tied scores enter together, so a
    /// tie between a positive and a negative is a diagonal segment. This is scikit-learn's
    /// `roc_curve(drop_intermediate=False)`; the trapezoidal area under these points equals `auc`.
    public static func curve(_ outcomes: BinaryOutcomes) -> [ROCPoint] {
        let p = Double(outcomes.positives), n = Double(outcomes.negatives)
        var points = [ROCPoint(threshold: nil, falsePositiveRate: 0, truePositiveRate: 0)]
        for c in outcomes.cumulativeCountsByDescendingScore() {
            points.append(ROCPoint(threshold: c.threshold, falsePositiveRate: Double(c.falsePositives) / n,
                                   truePositiveRate: Double(c.truePositives) / p))
        }
        return points
    }

    /// Area under the ROC curve by the Mann-Whitney statistic.
    ///
    /// Definition: AUC = (1 / (P N)) Σ_{i ∈ pos} Σ_{j ∈ neg} ψ(s_i, s_j), with ψ = 1 if s_i > s_j,
    /// 1/2 if s_i = s_j, 0 otherwise: the probability that a random positive scores above a random
    /// negative, ties counting one half. Computed in O(n log n) from mid-ranks:
    /// AUC = (R₊ - P(P + 1)/2) / (P N), R₊ = the sum of the positives' mid-ranks among all scores.
    ///
    /// Properties:
    /// - equals the trapezoidal area under `curve` (scikit-learn's `roc_auc_score`);
    /// - invariant under any strictly increasing transform of the scores (it depends on their order only);
    /// - swapping the labels (or negating the scores) gives 1 - AUC;
    /// - 1/2 when all scores are equal; 1 iff every positive scores above every negative.
    public static func auc(_ outcomes: BinaryOutcomes) -> Double {
        let ranks = midranks(outcomes.scores)
        var rankSum = 0.0
        for (r, y) in zip(ranks, outcomes.labels) where y { rankSum += r }
        let p = Double(outcomes.positives), n = Double(outcomes.negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }

    /// The ROC curve as a step function: the highest TPR reachable with FPR <= `fpr`.
    ///
    /// Used to put bootstrap curves on a common FPR grid (the "vertical averaging" of Fawcett 2006):
    /// TPR*(x) = max{ TPR(t) : FPR(t) <= x }.
    public static func truePositiveRate(atFalsePositiveRate fpr: Double, curve: [ROCPoint]) -> Double {
        truePositiveRates(atFalsePositiveRates: [fpr], curve: curve)[0]
    }

    /// `truePositiveRate(atFalsePositiveRate:)` at every value of an ascending grid, in one sweep
    /// (the curve's FPR and TPR are both non-decreasing): O(grid + curve) instead of O(grid · curve),
    /// which matters inside a 2000-replicate bootstrap over thousands of frames.
    public static func truePositiveRates(atFalsePositiveRates grid: [Double], curve: [ROCPoint]) -> [Double] {
        var rates: [Double] = []
        rates.reserveCapacity(grid.count)
        var k = 0, best = 0.0
        for x in grid {
            while k < curve.count && curve[k].falsePositiveRate <= x + 1e-12 {
                best = max(best, curve[k].truePositiveRate)
                k += 1
            }
            rates.append(best)
        }
        return rates
    }
}
