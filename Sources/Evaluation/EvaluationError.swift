import Foundation

/// Why a metric, interval or aggregation could not be computed.
///
/// Every case names what was missing and, where there is one, the study/frame key or the metric, so
/// that a user reading the message knows what to fix. Degenerate inputs are errors, never NaN: a
/// report that prints "AUC = nan" hides the fact that the split had one class only.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No samples at all (for example an empty split, or a subgroup filter that matched nothing).
    case empty(what: String)
    /// Labels and scores of different lengths.
    case lengthMismatch(labels: Int, scores: Int)
    /// Only one class present: AUC, sensitivity/specificity and their intervals are undefined.
    case singleClass(what: String, positives: Int, negatives: Int)
    /// A score that is NaN or infinite, at a position (and study/frame key when known).
    case nonFiniteScore(index: Int, key: String?)
    /// A probability outside [0, 1] where a probability is required (Brier, log loss, ECE, vote).
    case probabilityOutOfRange(index: Int, key: String?, value: Double)
    /// Too few samples of a class for a variance estimate (DeLong needs two of each).
    case tooFewForVariance(method: String, positives: Int, negatives: Int, needed: Int)
    /// Too few patients with a sample of a class for a cluster-aware variance (needs two of each).
    case tooFewPatientsForVariance(method: String, positivePatients: Int, negativePatients: Int, needed: Int)
    /// A parameter outside its domain (confidence level, number of bins, target rate, ...).
    case invalidParameter(name: String, value: String, expected: String)
    /// Frames of one study disagree about something that must be constant within a study.
    case inconsistentStudy(studyKey: String, field: String, values: [String])
    /// Too many bootstrap replicates contained a single class: the interval would not be trustworthy.
    case bootstrapDegenerate(skipped: Int, replicates: Int)

    public var description: String {
        switch self {
        case .empty(let what):
            return "No samples in \(what): there is nothing to evaluate. Check the split name and the manifest."
        case .lengthMismatch(let labels, let scores):
            return "\(labels) labels but \(scores) scores: every sample needs exactly one label and one score."
        case .singleClass(let what, let positives, let negatives):
            return "\(what) has \(positives) positive and \(negatives) negative samples: this metric needs both "
                + "classes. Evaluate on a split that contains both classes."
        case .nonFiniteScore(let index, let key):
            return "Score of sample \(index)\(key.map { " (\($0))" } ?? "") is not a finite number."
        case .probabilityOutOfRange(let index, let key, let value):
            return "Probability of sample \(index)\(key.map { " (\($0))" } ?? "") is \(value), outside [0, 1]."
        case .tooFewForVariance(let method, let positives, let negatives, let needed):
            return "\(method) needs at least \(needed) positive and \(needed) negative samples; "
                + "there are \(positives) positive and \(negatives) negative."
        case .tooFewPatientsForVariance(let method, let positivePatients, let negativePatients, let needed):
            return "\(method) needs at least \(needed) patients with a positive and \(needed) with a negative sample; "
                + "there are \(positivePatients) and \(negativePatients)."
        case .invalidParameter(let name, let value, let expected):
            return "Invalid \(name) '\(value)': expected \(expected)."
        case .inconsistentStudy(let studyKey, let field, let values):
            return "Frames of study \(studyKey) have different \(field) values (\(values.joined(separator: ", "))); "
                + "a study must have one \(field). Fix the manifest."
        case .bootstrapDegenerate(let skipped, let replicates):
            return "\(skipped) of \(replicates) bootstrap replicates drew patients of one class only; "
                + "there are too few patients of one class for a bootstrap interval."
        }
    }
}
