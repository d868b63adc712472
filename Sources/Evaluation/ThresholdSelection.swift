import Foundation

/// Which samples a result is about: studies (primary) or frames (secondary).
public enum EvaluationLevel: String, Codable, Sendable, CaseIterable {
    case study
    case frame
}

/// How a decision threshold is chosen. A sample is called positive iff `score >= threshold`.
///
/// Rules are fitted on the validation split only: a threshold tuned on the test split makes the
/// test sensitivity and specificity optimistic. Candidate thresholds are the distinct observed
/// scores (scikit-learn's `roc_curve` thresholds), so the fitted value is a score that occurred,
/// and reproducing it needs nothing but the validation scores.
public enum ThresholdRule: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Maximise Youden's J = sensitivity + specificity - 1 = TPR - FPR over the candidates; among
    /// equal J the **largest** threshold (fewest positive calls) wins.
    case youden
    /// The **largest** candidate t with sensitivity(t) >= target: the most specific operating point
    /// that still reaches the target sensitivity on validation (lowering t further only adds
    /// false positives there). Always exists: the smallest score has sensitivity 1.
    case targetSensitivity(Double)
    /// The **smallest** candidate t with specificity(t) >= target: the most sensitive operating point
    /// that still reaches the target specificity. Candidates include the successor of the largest
    /// score (nothing called positive, specificity 1), so it always exists.
    case targetSpecificity(Double)
    /// A given value, not fitted on data (for example 0.5, or a threshold from a previous study).
    case fixed(Double)

    /// Parses `youden`, `sensitivity=0.9`, `specificity=0.9`, `fixed=0.5`.
    public init(parsing text: String) throws {
        let expected = "youden, sensitivity=<0..1>, specificity=<0..1> or fixed=<number>"
        let parts = text.lowercased().split(separator: "=", maxSplits: 1).map(String.init)
        func number(_ inTargetRange: Bool) throws -> Double {
            guard parts.count == 2, let v = Double(parts[1]), v.isFinite, !inTargetRange || (v > 0 && v <= 1) else {
                throw EvaluationError.invalidParameter(name: "threshold rule", value: text, expected: expected)
            }
            return v
        }
        switch parts.first ?? "" {
        case "youden" where parts.count == 1: self = .youden
        case "sensitivity": self = .targetSensitivity(try number(true))
        case "specificity": self = .targetSpecificity(try number(true))
        case "fixed": self = .fixed(try number(false))
        default: throw EvaluationError.invalidParameter(name: "threshold rule", value: text, expected: expected)
        }
    }

    public var description: String {
        switch self {
        case .youden: return "youden"
        case .targetSensitivity(let v): return "sensitivity=\(v)"
        case .targetSpecificity(let v): return "specificity=\(v)"
        case .fixed(let v): return "fixed=\(v)"
        }
    }

    private enum CodingKeys: String, CodingKey { case rule, target }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .rule) {
        case "youden": self = .youden
        case "target_sensitivity": self = .targetSensitivity(try c.decode(Double.self, forKey: .target))
        case "target_specificity": self = .targetSpecificity(try c.decode(Double.self, forKey: .target))
        case "fixed": self = .fixed(try c.decode(Double.self, forKey: .target))
        case let other: throw DecodingError.dataCorruptedError(forKey: .rule, in: c, debugDescription: "unknown threshold rule '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .youden: try c.encode("youden", forKey: .rule)
        case .targetSensitivity(let v): try c.encode("target_sensitivity", forKey: .rule); try c.encode(v, forKey: .target)
        case .targetSpecificity(let v): try c.encode("target_specificity", forKey: .rule); try c.encode(v, forKey: .target)
        case .fixed(let v): try c.encode("fixed", forKey: .rule); try c.encode(v, forKey: .target)
        }
    }
}

/// A decision threshold together with where it came from, so a report can say so.
public struct ThresholdChoice: Codable, Equatable, Sendable {
    public var rule: ThresholdRule
    public var value: Double
    /// Where the rule was fitted; nil for `fixed` (nothing was fitted).
    public var fittedOn: Provenance?

    /// The data a threshold was fitted on and what it achieved there.
    public struct Provenance: Codable, Equatable, Sendable {
        /// Split name, e.g. "validation".
        public var split: String
        public var level: EvaluationLevel
        /// The study aggregation rule when fitted at study level.
        public var aggregation: StudyAggregation?
        public var samples: Int
        public var positives: Int
        public var negatives: Int
        /// Sensitivity and specificity of the fitted threshold on the fitting data.
        public var sensitivity: Double
        public var specificity: Double
    }

    public init(rule: ThresholdRule, value: Double, fittedOn: Provenance?) {
        self.rule = rule
        self.value = value
        self.fittedOn = fittedOn
    }

    /// A fixed threshold (not fitted).
    public static func fixed(_ value: Double) -> ThresholdChoice {
        ThresholdChoice(rule: .fixed(value), value: value, fittedOn: nil)
    }

    /// Fits `rule` on `outcomes` (the validation split), recording the provenance.
    public static func fit(_ rule: ThresholdRule, on outcomes: BinaryOutcomes, split: String, level: EvaluationLevel,
                           aggregation: StudyAggregation? = nil) throws -> ThresholdChoice {
        let value: Double
        switch rule {
        case .fixed(let v):
            guard v.isFinite else { throw EvaluationError.invalidParameter(name: "fixed threshold", value: "\(v)", expected: "a finite number") }
            return .fixed(v)
        case .youden:
            // Among the ROC points (thresholds descending) keep the first maximum of TPR - FPR:
            // the largest threshold among equals.
            var best = -Double.infinity, bestT = 0.0
            for point in ROC.curve(outcomes) {
                guard let t = point.threshold else { continue }
                let j = point.truePositiveRate - point.falsePositiveRate
                if j > best { best = j; bestT = t }
            }
            value = bestT
        case .targetSensitivity(let target):
            try checkTarget(target, name: "target sensitivity")
            // Thresholds descending; TPR non-decreasing along the curve: the first point reaching
            // the target has the largest threshold. A relative slack of 1e-12 keeps 0.9 reachable
            // by 9/10 despite rounding.
            value = ROC.curve(outcomes).first { $0.threshold != nil && $0.truePositiveRate >= target - 1e-12 }!.threshold!
        case .targetSpecificity(let target):
            try checkTarget(target, name: "target specificity")
            // Thresholds ascending: specificity(t) = 1 - FPR(t) non-decreasing in t; the first
            // candidate reaching the target is the smallest. Start point: nothing positive.
            let curve = ROC.curve(outcomes)
            let above = outcomes.scores.max()!.nextUp
            var chosen = above
            for point in curve.reversed() {
                guard let t = point.threshold else { continue }
                if 1 - point.falsePositiveRate >= target - 1e-12 { chosen = t; break }
            }
            value = chosen
        }
        let counts = ConfusionCounts(outcomes, threshold: value)
        let provenance = Provenance(split: split, level: level, aggregation: aggregation, samples: outcomes.count,
                                    positives: outcomes.positives, negatives: outcomes.negatives,
                                    sensitivity: Double(counts.truePositives) / Double(counts.positives),
                                    specificity: Double(counts.trueNegatives) / Double(counts.negatives))
        return ThresholdChoice(rule: rule, value: value, fittedOn: provenance)
    }

    /// True when results on `split` use a threshold fitted on that same split: those results are
    /// optimistic and the report flags them.
    public func isFitted(on split: String) -> Bool { fittedOn?.split == split }

    private static func checkTarget(_ target: Double, name: String) throws {
        guard target > 0 && target <= 1 else {
            throw EvaluationError.invalidParameter(name: name, value: "\(target)", expected: "a rate in (0, 1]")
        }
    }
}
