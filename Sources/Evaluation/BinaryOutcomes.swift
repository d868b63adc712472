import Foundation

/// Labels and scores of a binary classification task, checked once so that every metric can assume them.
///
/// Invariants (checked by the initialiser, which throws `EvaluationError` otherwise):
/// - at least one sample, as many labels as scores;
/// - every score finite;
/// - both classes present (`positives > 0`, `negatives > 0`): AUC, sensitivity and specificity are
///   undefined otherwise, and a typed error is clearer than a NaN.
///
/// Scores are any real numbers for the ranking metrics (AUC, ROC, average precision); the
/// calibration metrics (Brier, log loss, ECE) additionally require probabilities in [0, 1]
/// (`requireProbabilities()`).
public struct BinaryOutcomes: Sendable, Equatable {
    /// `true` = the positive class.
    public let labels: [Bool]
    public let scores: [Double]
    /// Optional key of each sample (study or frame key), used in error messages only.
    public let keys: [String]?
    public let positives: Int
    public let negatives: Int

    public var count: Int { labels.count }

    /// - Parameter what: names the set in error messages ("test split, study level").
    public init(labels: [Bool], scores: [Double], keys: [String]? = nil, what: String = "the samples") throws {
        guard labels.count == scores.count else {
            throw EvaluationError.lengthMismatch(labels: labels.count, scores: scores.count)
        }
        guard !labels.isEmpty else { throw EvaluationError.empty(what: what) }
        for (i, s) in scores.enumerated() where !s.isFinite {
            throw EvaluationError.nonFiniteScore(index: i, key: keys?[i])
        }
        let p = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let n = labels.count - p
        guard p > 0, n > 0 else { throw EvaluationError.singleClass(what: what, positives: p, negatives: n) }
        self.labels = labels
        self.scores = scores
        self.keys = keys
        self.positives = p
        self.negatives = n
    }

    /// Convenience for 0/1 labels (as written by reference scripts): 1 = positive.
    public init(labels01: [Int], scores: [Double], what: String = "the samples") throws {
        try self.init(labels: labels01.map { $0 != 0 }, scores: scores, what: what)
    }

    /// The same outcomes built from scored samples (study or frame records).
    public init(_ samples: [ScoredSample], what: String = "the samples") throws {
        try self.init(labels: samples.map(\.isPositive), scores: samples.map(\.score),
                      keys: samples.map(\.key), what: what)
    }

    /// Throws unless every score is a probability in [0, 1].
    public func requireProbabilities() throws {
        for (i, s) in scores.enumerated() where !(0...1).contains(s) {
            throw EvaluationError.probabilityOutOfRange(index: i, key: keys?[i], value: s)
        }
    }
}

/// One scored unit to evaluate: a study (after aggregation) or a frame.
///
/// `group` is the resampling unit of the bootstrap: the (pseudonymous) patient key. Frames and
/// studies of one patient are correlated, so intervals resample patients, never frames or studies.
public struct ScoredSample: Codable, Hashable, Sendable {
    /// Pseudonymous study key (or frame key for frame-level samples).
    public var key: String
    /// Pseudonymous patient key: the bootstrap resampling unit.
    public var group: String
    public var isPositive: Bool
    /// Probability of the positive class (or any real score for ranking-only use).
    public var score: Double
    /// Attributes subgroups are formed by ("site", "manufacturer"), as name/value pairs.
    public var attributes: [String: String]

    public init(key: String, group: String, isPositive: Bool, score: Double, attributes: [String: String] = [:]) {
        self.key = key
        self.group = group
        self.isPositive = isPositive
        self.score = score
        self.attributes = attributes
    }
}

extension BinaryOutcomes {
    /// The counts behind every threshold curve: for each distinct score t, in descending order,
    /// TP(t) = #{positives with s >= t} and FP(t) = #{negatives with s >= t}. Tied scores enter
    /// together. O(n log n).
    func cumulativeCountsByDescendingScore() -> [(threshold: Double, truePositives: Int, falsePositives: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var counts: [(threshold: Double, truePositives: Int, falsePositives: Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let t = scores[order[i]]
            while i < order.count && scores[order[i]] == t {
                if labels[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            counts.append((t, tp, fp))
        }
        return counts
    }
}
