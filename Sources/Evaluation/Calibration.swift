import Foundation

/// One equal-width bin of a reliability diagram.
public struct ReliabilityBin: Codable, Equatable, Sendable {
    /// Bin edges: the bin holds probabilities in (lower, upper]; the first bin also holds 0.
    public var lower: Double
    public var upper: Double
    public var count: Int
    /// Mean predicted probability of the samples in the bin; nil for an empty bin.
    public var meanConfidence: Double?
    /// Fraction of positives among the samples in the bin; nil for an empty bin.
    public var observedFrequency: Double?
}

/// Calibration: does a predicted probability of 0.8 come true 80% of the time?
///
/// All three metrics need probabilities of the positive class (scores in [0, 1]); they are
/// computed on the probabilities as given (after study aggregation when at study level: calibrate
/// after aggregating, since the mean or max of calibrated frame probabilities is not calibrated).
public enum Calibration {
    /// Brier score = (1/n) Σ (p_i - y_i)², y ∈ {0, 1}: the mean squared error of the probabilities.
    /// A strictly proper scoring rule (minimised in expectation by the true probabilities); 0 is
    /// perfect, 0.25 is what the constant 0.5 scores, and the constant prevalence π scores
    /// π(1 - π). scikit-learn `brier_score_loss`.
    public static func brierScore(_ outcomes: BinaryOutcomes) throws -> Double {
        try outcomes.requireProbabilities()
        var sum = 0.0
        for (y, p) in zip(outcomes.labels, outcomes.scores) { let d = p - (y ? 1 : 0); sum += d * d }
        return sum / Double(outcomes.count)
    }

    /// Log loss (binary cross-entropy) = -(1/n) Σ [y_i log p_i + (1 - y_i) log(1 - p_i)], natural log.
    /// Strictly proper; unbounded: one confident mistake (p = 0 for a positive) is infinite, so, as
    /// in scikit-learn `log_loss`, p and 1 - p are clipped to [ε, 1 - ε] with ε = 2⁻⁵² (the double
    /// machine epsilon), which caps a single sample's loss at about 36.0.
    public static func logLoss(_ outcomes: BinaryOutcomes) throws -> Double {
        try outcomes.requireProbabilities()
        let eps = Double.ulpOfOne
        var sum = 0.0
        for (y, p) in zip(outcomes.labels, outcomes.scores) {
            let q = y ? p : 1 - p
            sum -= log(min(max(q, eps), 1 - eps))
        }
        return sum / Double(outcomes.count)
    }

    /// Equal-width reliability bins over [0, 1].
    ///
    /// Edges e_k = k · (1/B), k = 0...B (numpy `linspace`); bin k holds p ∈ (e_k, e_{k+1}], bin 0
    /// also holds p = 0 — scikit-learn's `calibration_curve(strategy="uniform")` assignment
    /// (`searchsorted` on the interior edges), so a probability on an edge goes to the bin below.
    /// Every bin is reported, empty ones with count 0 and nil means.
    ///
    /// Why equal width and 10 bins by default: equal-width bins are what a reliability diagram
    /// draws and what Guo et al. (2017) used (15 bins for ImageNet-size sets); with the few hundred
    /// studies of a typical test split, 10 bins keep tens of samples per occupied bin.
    public static func reliabilityBins(_ outcomes: BinaryOutcomes, binCount: Int = 10) throws -> [ReliabilityBin] {
        guard binCount >= 1 else {
            throw EvaluationError.invalidParameter(name: "calibration bin count", value: "\(binCount)", expected: "a positive integer, e.g. 10 or 15")
        }
        try outcomes.requireProbabilities()
        let width = 1.0 / Double(binCount)
        let edges = (0...binCount).map { $0 == binCount ? 1.0 : Double($0) * width }
        var counts = [Int](repeating: 0, count: binCount)
        var sums = [Double](repeating: 0, count: binCount)
        var positives = [Int](repeating: 0, count: binCount)
        for (y, p) in zip(outcomes.labels, outcomes.scores) {
            // Number of interior edges strictly below p (searchsorted, side="left").
            var k = 0
            while k < binCount - 1 && edges[k + 1] < p { k += 1 }
            counts[k] += 1; sums[k] += p; positives[k] += y ? 1 : 0
        }
        return (0..<binCount).map { k in
            ReliabilityBin(lower: edges[k], upper: edges[k + 1], count: counts[k],
                           meanConfidence: counts[k] > 0 ? sums[k] / Double(counts[k]) : nil,
                           observedFrequency: counts[k] > 0 ? Double(positives[k]) / Double(counts[k]) : nil)
        }
    }

    /// Expected calibration error over equal-width bins:
    ///
    ///     ECE = Σ_k (n_k / n) · |ō_k - p̄_k|
    ///
    /// with n_k the count, p̄_k the mean predicted probability and ō_k the observed frequency of
    /// positives in bin k (`reliabilityBins`). This is the positive-class ECE of a reliability
    /// diagram; Guo et al.'s top-label ECE uses max(p, 1 - p) instead and differs from it.
    /// Properties: in [0, 1]; 0 for a perfectly calibrated binned model; depends on the bin count
    /// (so the report records it); biased upwards for small n (an empty-ish bin's |ō - p̄| is noisy).
    public static func expectedCalibrationError(bins: [ReliabilityBin]) -> Double {
        let n = Double(bins.reduce(0) { $0 + $1.count })
        return bins.reduce(0.0) { sum, bin in
            guard let o = bin.observedFrequency, let p = bin.meanConfidence else { return sum }
            return sum + Double(bin.count) / n * abs(o - p)
        }
    }

    public static func expectedCalibrationError(_ outcomes: BinaryOutcomes, binCount: Int = 10) throws -> Double {
        expectedCalibrationError(bins: try reliabilityBins(outcomes, binCount: binCount))
    }
}
