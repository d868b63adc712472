import Foundation

/// Everything about one class at one level, one-vs-rest: the class is "positive", every other class "negative".
public struct MulticlassClassResult: Codable, Equatable, Sendable {
    public var index: Int
    public var name: String
    /// n_k: samples of this class.
    public var support: Int
    /// n_k / n.
    public var prevalence: Double
    /// AUC of p_k for "class k" against "any other class" (Mann-Whitney, ties one half; scikit-learn
    /// `roc_auc_score(multi_class="ovr", average=None)`), with the DeLong interval — Obuchowski's
    /// cluster-aware one over patients when a patient has several samples, as in the binary
    /// evaluator (`DeLong.patientAwareInterval`). `bootstrap` is not computed per class.
    public var auc: AUCResult
    /// Sensitivity (recall) = counts[k][k] / n_k, Wilson interval.
    public var sensitivity: Proportion
    /// Specificity = #{not k, not decided k} / #{not k}, Wilson interval.
    public var specificity: Proportion
    /// PPV (precision) = counts[k][k] / #{decided k}; nil when the class was never decided.
    public var positivePredictiveValue: Proportion?
    /// F1 = 2 counts[k][k] / (n_k + #{decided k}).
    public var f1: Double
    /// One-vs-rest calibration of p_k: reliability bins, ECE, and the binary Brier score and log
    /// loss of p_k against "is class k" (`Calibration`).
    public var calibration: CalibrationResult
    /// The one-vs-rest ROC curve (scikit-learn `roc_curve(y == k, p_k, drop_intermediate=False)`).
    public var rocCurve: [ROCPoint]
}

/// An average of the per-class one-vs-rest AUCs with its patient-bootstrap interval.
public struct AveragedAUC: Codable, Equatable, Sendable {
    public var estimate: Double
    /// nil when the bootstrap is off or degenerate (see the level's notes).
    public var bootstrap: AUCResult.BootstrapResult?
}

/// Counts of one level: samples, patients, samples per class (in class order).
public struct MulticlassCounts: Codable, Equatable, Sendable {
    public var samples: Int
    public var patients: Int
    public var perClass: [Int]
}

/// All results at one level (study, or frame) of one split of a multi-class evaluation.
public struct MulticlassLevelResult: Codable, Equatable, Sendable {
    public var level: EvaluationLevel
    public var split: String
    public var counts: MulticlassCounts
    public var perClass: [MulticlassClassResult]
    /// Macro AUC = (1/N) Σ_k AUC_k (`roc_auc_score(multi_class="ovr", average="macro")`).
    /// How the decided class was obtained (argmax, or per-class thresholds fitted on validation):
    /// the confusion matrix and every metric computed from it depend on it.
    public var decision: MulticlassDecisionRule
    public var macroAUC: AveragedAUC
    /// Prevalence-weighted AUC = Σ_k (n_k / n) AUC_k (`average="weighted"`).
    public var weightedAUC: AveragedAUC
    public var confusionMatrix: MulticlassConfusionMatrix
    /// See `MulticlassMetrics.accuracy`.
    public var accuracy: Proportion
    /// See `MulticlassMetrics.balancedAccuracy`.
    public var balancedAccuracy: Double
    /// See `MulticlassMetrics.macroF1`.
    public var macroF1: Double
    /// Quadratic-weighted for ordinal classes, unweighted otherwise.
    public var kappa: CohenKappa
    /// See `MulticlassMetrics.topKAccuracy` (k = 2); nil with 2 classes, where it is always 1.
    public var topTwoAccuracy: Proportion?
    /// See `MulticlassMetrics.brierScore` (Σ over classes, not divided by N).
    public var brierScore: Double
    /// See `MulticlassMetrics.logLoss`.
    public var logLoss: Double
    /// Why something is missing or must be read with care, in sentences.
    public var notes: [String]

    // "macroAuc" so that the snake_case key strategies map macro_auc both ways.
    private enum CodingKeys: String, CodingKey {
        case level, split, counts, perClass, decision, confusionMatrix, accuracy, balancedAccuracy, macroF1, kappa, topTwoAccuracy, brierScore, logLoss, notes
        case macroAUC = "macroAuc"
        case weightedAUC = "weightedAuc"
    }
}
