import Foundation

/// The N × N confusion matrix of the argmax decision.
public struct MulticlassConfusionMatrix: Codable, Equatable, Sendable {
    /// counts[i][j] = #{samples of true class i decided as class j} (rows actual, columns
    /// predicted: scikit-learn's `confusion_matrix(y, decided)`; decided = argmax by default).
    public var counts: [[Int]]
    /// counts[i][j] / Σ_j counts[i][j]: the share of true class i decided as j; the diagonal is each
    /// class's sensitivity (scikit-learn's `normalize="true"`). Every row has a sample (every class
    /// is present, `MulticlassOutcomes`).
    public var rowNormalized: [[Double]]

    public init(_ outcomes: MulticlassOutcomes, decision: MulticlassDecisionRule = .argmax) {
        let n = outcomes.classCount
        var c = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        for i in 0..<outcomes.count { c[outcomes.labels[i]][decision.decide(outcomes.probabilities[i])] += 1 }
        counts = c
        rowNormalized = c.map { row in
            let total = Double(row.reduce(0, +))
            return row.map { total > 0 ? Double($0) / total : 0 }
        }
    }

    /// Row sums: the support n_k of each true class.
    public var actual: [Int] { counts.map { $0.reduce(0, +) } }
    /// Column sums: how often each class was decided.
    public var predicted: [Int] { counts.indices.map { j in counts.reduce(0) { $0 + $1[j] } } }
    public var total: Int { actual.reduce(0, +) }
}

/// How Cohen's kappa weighs a disagreement between true class i and decided class j.
public enum KappaWeighting: String, Codable, Sendable {
    /// w_ij = 1 for i ≠ j, 0 on the diagonal: every disagreement counts the same (nominal classes).
    case none
    /// w_ij = (i − j)²: a disagreement by two categories costs four times one by one category
    /// (ordered classes such as BI-RADS 2 < 3 < 4 < 5).
    case quadratic
}

/// Cohen's kappa of the argmax decision against the truth, with its weighting.
public struct CohenKappa: Codable, Equatable, Sendable {
    public var weighting: KappaWeighting
    /// κ = 1 − Σ_ij w_ij O_ij / Σ_ij w_ij E_ij, O = counts / n, E_ij = (row_i / n)(col_j / n) (the
    /// agreement expected by chance from the two marginals); nil when Σ w E = 0 (no disagreement is
    /// possible by chance). 1 = perfect, 0 = chance, < 0 worse than chance. scikit-learn
    /// `cohen_kappa_score(weights=None | "quadratic")`.
    public var value: Double?
}

/// The multi-class metrics, each with its definition; all take checked `MulticlassOutcomes`.
/// Checked against scikit-learn (scripts/fixtures/evaluation/make_multiclass_fixtures.py).
public enum MulticlassMetrics {
    /// Accuracy = Σ_k counts[k][k] / n with its Wilson interval: the share of samples whose argmax
    /// is the true class (`accuracy_score`).
    public static func accuracy(_ m: MulticlassConfusionMatrix, confidenceLevel: Double = 0.95) throws -> Proportion {
        try Proportion(m.counts.indices.reduce(0) { $0 + m.counts[$1][$1] }, of: m.total, confidenceLevel: confidenceLevel)!
    }

    /// Balanced accuracy = (1/N) Σ_k counts[k][k] / n_k, the mean per-class sensitivity (recall):
    /// 1/N for any constant decision (`balanced_accuracy_score`).
    public static func balancedAccuracy(_ m: MulticlassConfusionMatrix) -> Double {
        let actual = m.actual
        return m.counts.indices.reduce(0.0) { $0 + Double(m.counts[$1][$1]) / Double(actual[$1]) } / Double(m.counts.count)
    }

    /// F1 of class k = 2 TP_k / (2 TP_k + FP_k + FN_k) = 2 counts[k][k] / (n_k + predicted_k): the
    /// harmonic mean of its PPV and sensitivity (0 when a present class is never decided correctly).
    public static func f1(_ m: MulticlassConfusionMatrix, classIndex k: Int) -> Double {
        let denominator = m.actual[k] + m.predicted[k]
        return denominator > 0 ? 2 * Double(m.counts[k][k]) / Double(denominator) : 0
    }

    /// Macro F1 = (1/N) Σ_k F1_k, every class weighted equally (`f1_score(average="macro")`).
    public static func macroF1(_ m: MulticlassConfusionMatrix) -> Double {
        m.counts.indices.reduce(0.0) { $0 + f1(m, classIndex: $1) } / Double(m.counts.count)
    }

    /// Cohen's kappa (see `CohenKappa`).
    public static func cohenKappa(_ m: MulticlassConfusionMatrix, weighting: KappaWeighting) -> CohenKappa {
        let n = Double(m.total), rows = m.actual, cols = m.predicted
        var observed = 0.0, expected = 0.0
        for i in m.counts.indices {
            for j in m.counts.indices {
                let w: Double
                switch weighting {
                case .none: w = i == j ? 0 : 1
                case .quadratic: w = Double((i - j) * (i - j))
                }
                observed += w * Double(m.counts[i][j]) / n
                expected += w * Double(rows[i]) * Double(cols[j]) / (n * n)
            }
        }
        return CohenKappa(weighting: weighting, value: expected > 0 ? 1 - observed / expected : nil)
    }

    /// Top-k accuracy: the share of samples whose true class is among the k classes ranked highest.
    /// Ranking as scikit-learn's `top_k_accuracy_score` (a stable ascending sort, reversed): among
    /// **tied probabilities the higher class index ranks first**. Class t of vector p is within the
    /// top k iff #{j : p_j > p_t} + #{j > t : p_j = p_t} < k. With k >= N every sample is a hit.
    public static func topKAccuracy(_ outcomes: MulticlassOutcomes, k: Int, confidenceLevel: Double = 0.95) throws -> Proportion {
        var hits = 0
        for (t, p) in zip(outcomes.labels, outcomes.probabilities) {
            var above = 0
            for j in p.indices where p[j] > p[t] || (p[j] == p[t] && j > t) { above += 1 }
            if above < k { hits += 1 }
        }
        return try Proportion(hits, of: outcomes.count, confidenceLevel: confidenceLevel)!
    }

    /// Multi-class Brier score = (1/n) Σ_i Σ_k (p_ik − y_ik)², y_ik = 1 iff sample i is of class k:
    /// the mean squared distance between the probability vector and the one-hot truth, in [0, 2].
    /// **Not divided by N** (Brier's 1950 definition; scikit-learn ≥ 1.7's multi-class
    /// `brier_score_loss`, which halves only with 2 classes by default — compare with
    /// `scale_by_half=False`). With two classes this is twice the binary Brier score of class 1.
    /// 0 is perfect; the uniform vector scores 1 − 1/N.
    public static func brierScore(_ outcomes: MulticlassOutcomes) -> Double {
        var sum = 0.0
        for (y, p) in zip(outcomes.labels, outcomes.probabilities) {
            for k in p.indices { let d = p[k] - (k == y ? 1 : 0); sum += d * d }
        }
        return sum / Double(outcomes.count)
    }

    /// Log loss (categorical cross-entropy) = −(1/n) Σ_i log clip(p_i,y_i), natural log, with
    /// clip(p) = min(max(p, ε), 1 − ε), ε = 2⁻⁵² (the double machine epsilon) — scikit-learn 1.9's
    /// `log_loss`, which clips every probability to [ε, 1 − ε] and does not renormalise the clipped
    /// vector (older versions renormalised). Caps a sample's loss at about 36.0.
    public static func logLoss(_ outcomes: MulticlassOutcomes) -> Double {
        let eps = Double.ulpOfOne
        var sum = 0.0
        for (y, p) in zip(outcomes.labels, outcomes.probabilities) { sum -= log(min(max(p[y], eps), 1 - eps)) }
        return sum / Double(outcomes.count)
    }
}
