import Foundation

/// How a DeLong variance becomes a confidence interval for the AUC.
public enum DeLongIntervalScale: String, Codable, Sendable, CaseIterable {
    /// Wald interval on the logit scale, transformed back (the default):
    /// logit(Â) ± z · sqrt(V) / (Â(1 - Â)), then x ↦ 1/(1 + e^-x).
    case logit
    /// Plain Wald interval Â ± z sqrt(V), clipped to [0, 1] (what R's pROC `ci.auc(method="delong")` prints).
    case wald
}

/// DeLong, DeLong & Clarke-Pearson (1988) variance of the empirical AUC, by the fast mid-rank
/// algorithm of Sun & Xu (2014, IEEE Signal Processing Letters 21(11)).
public enum DeLong {
    /// The DeLong variance estimate of the Mann-Whitney AUC.
    ///
    /// Structural components: for each positive i, V₁₀(i) = (1/N) Σ_j ψ(s_i, s_j); for each negative j,
    /// V₀₁(j) = (1/P) Σ_i ψ(s_i, s_j) (ψ as in `ROC.auc`, ties one half). Both average to the AUC.
    /// Then
    ///
    ///     Var(Â) = S₁₀ / P + S₀₁ / N,
    ///
    /// S₁₀, S₀₁ the sample variances (denominator P - 1, N - 1) of the components. Sun & Xu compute
    /// the components from mid-ranks in O(n log n): V₁₀(i) = (R_i - R_i^pos) / N,
    /// V₀₁(j) = 1 - (R_j - R_j^neg) / P, with R the mid-rank among all scores and R^pos, R^neg the
    /// mid-rank among the positives (negatives) only.
    ///
    /// Properties: non-negative; 0 when the classes are perfectly separated (every component is 1);
    /// invariant under strictly increasing transforms of the scores. Matches
    /// yandexdataschool/roc_comparison `delong_roc_variance`.
    ///
    /// - Throws: `tooFewForVariance` with fewer than 2 positives or 2 negatives (a sample variance
    ///   needs two values).
    public static func variance(_ outcomes: BinaryOutcomes) throws -> Double {
        guard outcomes.positives >= 2, outcomes.negatives >= 2 else {
            throw EvaluationError.tooFewForVariance(method: "the DeLong variance", positives: outcomes.positives,
                                                    negatives: outcomes.negatives, needed: 2)
        }
        let pos = zip(outcomes.labels, outcomes.scores).filter { $0.0 }.map { $0.1 }
        let neg = zip(outcomes.labels, outcomes.scores).filter { !$0.0 }.map { $0.1 }
        let all = midranks(pos + neg)
        let rPos = midranks(pos), rNeg = midranks(neg)
        let p = Double(pos.count), n = Double(neg.count)
        let v10 = pos.indices.map { (all[$0] - rPos[$0]) / n }
        let v01 = neg.indices.map { 1 - (all[pos.count + $0] - rNeg[$0]) / p }
        return sampleVariance(v10) / p + sampleVariance(v01) / n
    }

    /// A confidence interval for the AUC from the DeLong variance.
    ///
    /// Why the logit scale by default: the AUC lives in [0, 1] and the AUCs a medical classifier is
    /// judged on are often above 0.9, where the sampling distribution of Â is skewed; the plain Wald
    /// interval then runs past 1 (and gets clipped) and undercovers. The logit-scale interval stays
    /// inside (0, 1) and covers better near the boundary (Pepe 2003, §5.2.4; Qin & Hotilovac 2008).
    /// By the delta method Var(logit Â) ≈ V / (Â(1 - Â))². Both intervals contain Â.
    ///
    /// At Â = 0 or 1 the logit is infinite; DeLong's V is then 0 as well (perfect separation), and
    /// the interval is the single point [Â, Â]: the data give no spread to estimate. Report it, but
    /// read it as "too small a sample to see an error", not as certainty; the bootstrap interval is
    /// the same point for the same reason.
    public static func interval(_ outcomes: BinaryOutcomes, confidenceLevel: Double = 0.95,
                                scale: DeLongIntervalScale = .logit) throws -> (auc: Double, variance: Double, interval: ConfidenceInterval) {
        let z = try criticalValue(confidenceLevel: confidenceLevel)
        let auc = ROC.auc(outcomes)
        let v = try variance(outcomes)
        let se = v.squareRoot()
        var lower: Double, upper: Double
        switch scale {
        case .wald:
            lower = max(0, auc - z * se)
            upper = min(1, auc + z * se)
        case .logit:
            if auc <= 0 || auc >= 1 || se == 0 {
                lower = auc; upper = auc
            } else {
                let centre = log(auc / (1 - auc))
                let half = z * se / (auc * (1 - auc))
                lower = 1 / (1 + exp(-(centre - half)))
                upper = 1 / (1 + exp(-(centre + half)))
            }
        }
        return (auc, v, ConfidenceInterval(lower: min(lower, auc), upper: max(upper, auc), level: confidenceLevel,
                                           method: scale == .logit ? "delong-logit" : "delong-wald"))
    }

    /// Sample variance with denominator n - 1.
    static func sampleVariance(_ x: [Double]) -> Double {
        let mean = x.reduce(0, +) / Double(x.count)
        return x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
    }
}
