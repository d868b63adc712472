/// The four counts of a binary decision at a threshold: a sample is called positive iff
/// `score >= threshold` (scikit-learn's convention for thresholds taken from the scores).
public struct ConfusionCounts: Codable, Equatable, Sendable {
    public var truePositives: Int
    public var falsePositives: Int
    public var trueNegatives: Int
    public var falseNegatives: Int

    public init(truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.trueNegatives = trueNegatives
        self.falseNegatives = falseNegatives
    }

    public init(_ outcomes: BinaryOutcomes, threshold: Double) {
        var tp = 0, fp = 0, tn = 0, fn = 0
        for (y, s) in zip(outcomes.labels, outcomes.scores) {
            switch (y, s >= threshold) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (false, false): tn += 1
            case (true, false): fn += 1
            }
        }
        self.init(truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn)
    }

    public var positives: Int { truePositives + falseNegatives }
    public var negatives: Int { trueNegatives + falsePositives }
    public var total: Int { positives + negatives }
}

/// The threshold-dependent metrics of one confusion table, each with its definition.
///
/// Proportions carry a Wilson score interval (`Wilson`). A metric whose denominator is zero is
/// `nil` (undefined) rather than a substituted 0: scikit-learn returns 0 with a warning for PPV
/// with no positive calls (`zero_division`) and for MCC with an empty row or column; here the
/// report says "undefined" instead, and the test fixtures mark those cases as null.
public struct ThresholdMetrics: Codable, Equatable, Sendable {
    public var threshold: Double
    public var confusion: ConfusionCounts
    /// Sensitivity (recall, TPR) = TP / (TP + FN).
    public var sensitivity: Proportion
    /// Specificity (TNR) = TN / (TN + FP).
    public var specificity: Proportion
    /// Positive predictive value (precision) = TP / (TP + FP); nil with no positive calls.
    /// Depends on prevalence: the PPV of a test split is not the PPV in a population with another prevalence.
    public var positivePredictiveValue: Proportion?
    /// Negative predictive value = TN / (TN + FN); nil with no negative calls. Prevalence-dependent like PPV.
    public var negativePredictiveValue: Proportion?
    /// Accuracy = (TP + TN) / n. Reported, never alone: with 90% negatives, "all negative" scores 0.9.
    public var accuracy: Proportion
    /// Balanced accuracy = (sensitivity + specificity) / 2: accuracy re-weighted to equal class
    /// sizes, 0.5 for any constant decision (scikit-learn `balanced_accuracy_score`).
    public var balancedAccuracy: Double
    /// F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of PPV and sensitivity; ignores TN, so it
    /// changes when the classes are swapped. Defined whenever a positive exists (always, here).
    public var f1: Double
    /// Matthews correlation coefficient
    /// MCC = (TP·TN - FP·FN) / sqrt((TP + FP)(TP + FN)(TN + FP)(TN + FN)): the Pearson correlation
    /// of label and decision, in [-1, 1], 0 for a decision independent of the label, symmetric in
    /// the classes. nil when a predicted class is empty (the correlation with a constant is undefined).
    public var matthewsCorrelation: Double?

    public init(_ outcomes: BinaryOutcomes, threshold: Double, confidenceLevel: Double = 0.95) throws {
        try self.init(ConfusionCounts(outcomes, threshold: threshold), threshold: threshold, confidenceLevel: confidenceLevel)
    }

    public init(_ c: ConfusionCounts, threshold: Double, confidenceLevel: Double = 0.95) throws {
        guard c.positives > 0, c.negatives > 0 else {
            throw EvaluationError.singleClass(what: "the confusion table", positives: c.positives, negatives: c.negatives)
        }
        self.threshold = threshold
        self.confusion = c
        sensitivity = try Proportion(c.truePositives, of: c.positives, confidenceLevel: confidenceLevel)!
        specificity = try Proportion(c.trueNegatives, of: c.negatives, confidenceLevel: confidenceLevel)!
        positivePredictiveValue = try Proportion(c.truePositives, of: c.truePositives + c.falsePositives, confidenceLevel: confidenceLevel)
        negativePredictiveValue = try Proportion(c.trueNegatives, of: c.trueNegatives + c.falseNegatives, confidenceLevel: confidenceLevel)
        accuracy = try Proportion(c.truePositives + c.trueNegatives, of: c.total, confidenceLevel: confidenceLevel)!
        balancedAccuracy = (sensitivity.value + specificity.value) / 2
        let tp = Double(c.truePositives), fp = Double(c.falsePositives), tn = Double(c.trueNegatives), fn = Double(c.falseNegatives)
        f1 = 2 * tp / (2 * tp + fp + fn)
        let product = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
        matthewsCorrelation = product > 0 ? (tp * tn - fp * fn) / product.squareRoot() : nil
    }
}
