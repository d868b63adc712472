import Foundation

/// One decision threshold per class, each fitted one-vs-rest on the validation split, and the
/// decision they define: **threshold moving**,
///
///     decide(p) = argmax_k p_k / t_k     (ties to the lowest class index),
///
/// the class whose probability exceeds its own threshold by the largest factor (a class with
/// p_k ≥ t_k has ratio ≥ 1, so whenever one class reaches its threshold and no other does, that
/// class is decided; when none does, the one closest to its threshold). With every t_k equal it is
/// the argmax. Dividing by a class-specific threshold is the multi-class form of moving the
/// threshold of an imbalanced binary problem (Collell, Prelec & Patil 2018, Neurocomputing 275:
/// argmax_k p_k / π_k with the class priors as thresholds); here each t_k comes from a named
/// `ThresholdRule` fitted on "class k against the rest", with its provenance.
///
/// A threshold ≤ 0 (a fixed 0, or a fitted threshold equal to a probability 0) is taken as 2⁻⁵²:
/// that class is then decided whenever its probability is not 0.
public struct PerClassThresholds: Codable, Equatable, Sendable {
    /// t_0 ... t_{N-1}, each with the rule and the split it was fitted on.
    public var thresholds: [ThresholdChoice]

    public init(_ thresholds: [ThresholdChoice]) {
        self.thresholds = thresholds
    }

    /// The decided class of one probability vector (length N).
    public func decide(_ p: [Double]) -> Int {
        var best = 0, bestRatio = -Double.infinity
        for k in p.indices {
            let ratio = p[k] / max(thresholds[k].value, Double.ulpOfOne)
            if ratio > bestRatio { best = k; bestRatio = ratio }
        }
        return best
    }

    /// Fits `rule` for every class on `samples` (the validation split's studies or frames), class k
    /// against the rest with score p_k (`ThresholdChoice.fit`, which records the provenance).
    public static func fit(_ rule: ThresholdRule, on samples: [MulticlassSample], classCount: Int, split: String,
                           level: EvaluationLevel) throws -> PerClassThresholds {
        let outcomes = try MulticlassOutcomes(samples, classCount: classCount, what: "\(split) split (\(level.rawValue) level)")
        return PerClassThresholds(try (0..<classCount).map { k in
            try ThresholdChoice.fit(rule, on: outcomes.oneVsRest(k), split: split, level: level)
        })
    }

    /// True when these thresholds were fitted on `split` (results there are optimistic).
    public func isFitted(on split: String) -> Bool { thresholds.contains { $0.isFitted(on: split) } }
}

/// How a probability vector becomes a decided class, recorded with every decision-dependent result
/// (confusion matrix, accuracy, sensitivity, specificity, PPV, F1, kappa, worst confusions).
/// The AUCs, top-2 accuracy, Brier score, log loss and calibration do not depend on it.
public enum MulticlassDecisionRule: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The most probable class, ties to the lowest class index (the default).
    case argmax
    /// Threshold moving with per-class thresholds fitted on validation (`PerClassThresholds`).
    case perClassThresholds(PerClassThresholds)

    public func decide(_ p: [Double]) -> Int {
        switch self {
        case .argmax: return MulticlassOutcomes.argmax(p)
        case .perClassThresholds(let t): return t.decide(p)
        }
    }

    public var description: String {
        switch self {
        case .argmax: return "the most probable class"
        case .perClassThresholds(let t):
            return "the class whose probability exceeds its own threshold by the largest factor (thresholds "
                + t.thresholds.map { fixed($0.value, 4) }.joined(separator: ", ") + ")"
        }
    }

    // Codable as {"rule": "argmax"} / {"rule": "per_class_thresholds", "thresholds": [...]}.
    private enum CodingKeys: String, CodingKey { case rule, thresholds }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .rule) {
        case "argmax": self = .argmax
        case "per_class_thresholds": self = .perClassThresholds(PerClassThresholds(try c.decode([ThresholdChoice].self, forKey: .thresholds)))
        case let other: throw DecodingError.dataCorruptedError(forKey: .rule, in: c, debugDescription: "unknown decision rule '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .argmax: try c.encode("argmax", forKey: .rule)
        case .perClassThresholds(let t):
            try c.encode("per_class_thresholds", forKey: .rule)
            try c.encode(t.thresholds, forKey: .thresholds)
        }
    }
}
