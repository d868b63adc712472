import Foundation

/// How the probabilities of a study's frames become one study probability.
///
/// Study level is the primary result (a clinician reads a study, not a frame); the rule is a
/// named, recorded choice because it changes the result (POCOVID-Net: 89% frame accuracy, 92%
/// video accuracy by majority vote). For frame probabilities p_1 ... p_m of a study:
///
/// - `mean`: p̄ = (1/m) Σ p_i. For diffuse findings; the mean of calibrated probabilities is a
///   probability but not itself calibrated at study level (calibrate after aggregating).
/// - `max`: max_i p_i. "Any frame shows it" findings; sensitive to one artefact frame, and it
///   rises with m, so studies with many frames score higher.
/// - `vote(frameThreshold: τ)`: the fraction of frames voting positive, v = #{i : p_i >= τ} / m.
///   The majority decision is v >= 1/2: **a tie (exactly half the frames) goes to the positive
///   class** — it follows the `score >= threshold` convention used everywhere here, and a missed
///   finding costs more than a second look. v takes only m + 1 values, so its ROC has ties (they
///   count one half in the AUC).
public enum StudyAggregation: Codable, Hashable, Sendable, CustomStringConvertible {
    case mean
    case max
    case vote(frameThreshold: Double)

    /// The majority vote with frames voting positive at p >= 0.5.
    public static let majorityVote = StudyAggregation.vote(frameThreshold: 0.5)

    /// Parses a command-line spelling: `mean`, `max`, `vote` (frame threshold 0.5) or `vote=0.4`.
    public init(parsing text: String) throws {
        let expected = "mean, max, vote or vote=<frame threshold in [0, 1]>"
        switch text.lowercased() {
        case "mean": self = .mean
        case "max": self = .max
        case "vote": self = .majorityVote
        case let t where t.hasPrefix("vote="):
            guard let v = Double(t.dropFirst(5)), (0...1).contains(v) else {
                throw EvaluationError.invalidParameter(name: "study aggregation", value: text, expected: expected)
            }
            self = .vote(frameThreshold: v)
        default:
            throw EvaluationError.invalidParameter(name: "study aggregation", value: text, expected: expected)
        }
    }

    /// The name as written in reports and parsed by `init(parsing:)`.
    public var description: String {
        switch self {
        case .mean: return "mean"
        case .max: return "max"
        case .vote(let tau): return tau == 0.5 ? "vote" : "vote=\(tau)"
        }
    }

    /// The study probability of one study's frame probabilities (non-empty).
    public func aggregate(_ probabilities: [Double]) -> Double {
        precondition(!probabilities.isEmpty, "a study has at least one frame")
        switch self {
        case .mean: return probabilities.reduce(0, +) / Double(probabilities.count)
        case .max: return probabilities.max()!
        case .vote(let tau): return Double(probabilities.filter { $0 >= tau }.count) / Double(probabilities.count)
        }
    }

    /// Groups frame predictions by study and aggregates each study, studies sorted by key.
    ///
    /// - Throws: `empty` for no frames; `probabilityOutOfRange`/`nonFiniteScore` naming the frame;
    ///   `inconsistentStudy` when frames of one study disagree on label, patient or an attribute.
    public func aggregate(_ frames: [FramePrediction]) throws -> [AggregatedStudy] {
        guard !frames.isEmpty else { throw EvaluationError.empty(what: "the frame predictions") }
        var byStudy: [String: [FramePrediction]] = [:]
        for (i, f) in frames.enumerated() {
            let name = "study \(f.studyKey) frame \(f.frameIndex.map(String.init) ?? "#\(i)")"
            guard f.probability.isFinite else { throw EvaluationError.nonFiniteScore(index: i, key: name) }
            guard (0...1).contains(f.probability) else {
                throw EvaluationError.probabilityOutOfRange(index: i, key: name, value: f.probability)
            }
            byStudy[f.studyKey, default: []].append(f)
        }
        return try byStudy.keys.sorted().map { key in
            let members = byStudy[key]!
            let first = members[0]
            func requireConstant(_ field: String, _ value: (FramePrediction) -> String) throws {
                let values = Set(members.map(value))
                if values.count > 1 { throw EvaluationError.inconsistentStudy(studyKey: key, field: field, values: values.sorted()) }
            }
            try requireConstant("label") { $0.isPositive ? "positive" : "negative" }
            try requireConstant("patient") { $0.patientKey }
            for name in Set(members.flatMap { $0.attributes.keys }).sorted() {
                try requireConstant(name) { $0.attributes[name] ?? "(missing)" }
            }
            return AggregatedStudy(studyKey: key, patientKey: first.patientKey, isPositive: first.isPositive,
                                   probability: aggregate(members.map(\.probability)), framesUsed: members.count,
                                   attributes: first.attributes)
        }
    }

    // Codable as {"rule": "vote", "frame_threshold": 0.5} / {"rule": "mean"}.
    private enum CodingKeys: String, CodingKey { case rule, frameThreshold }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rule = try c.decode(String.self, forKey: .rule)
        switch rule {
        case "mean": self = .mean
        case "max": self = .max
        case "vote": self = .vote(frameThreshold: try c.decode(Double.self, forKey: .frameThreshold))
        default:
            throw DecodingError.dataCorruptedError(forKey: .rule, in: c, debugDescription: "unknown study aggregation rule '\(rule)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .mean: try c.encode("mean", forKey: .rule)
        case .max: try c.encode("max", forKey: .rule)
        case .vote(let tau):
            try c.encode("vote", forKey: .rule)
            try c.encode(tau, forKey: .frameThreshold)
        }
    }
}

/// The model's probability for one frame, with the keys that tie it to its study and patient.
public struct FramePrediction: Codable, Hashable, Sendable {
    public var studyKey: String
    public var patientKey: String
    public var frameIndex: Int?
    public var isPositive: Bool
    public var probability: Double
    /// Study-level attributes for subgroups ("site", "manufacturer").
    public var attributes: [String: String]

    public init(studyKey: String, patientKey: String, frameIndex: Int? = nil, isPositive: Bool, probability: Double,
                attributes: [String: String] = [:]) {
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.frameIndex = frameIndex
        self.isPositive = isPositive
        self.probability = probability
        self.attributes = attributes
    }

    /// The frame as a scored sample (key "study#frame"), for frame-level metrics.
    public var sample: ScoredSample {
        ScoredSample(key: "\(studyKey)#\(frameIndex.map(String.init) ?? "?")", group: patientKey, isPositive: isPositive,
                     score: probability, attributes: attributes)
    }
}

/// One study after aggregation: its probability and how many frames it came from.
public struct AggregatedStudy: Codable, Hashable, Sendable {
    public var studyKey: String
    public var patientKey: String
    public var isPositive: Bool
    public var probability: Double
    public var framesUsed: Int
    public var attributes: [String: String]

    public var sample: ScoredSample {
        ScoredSample(key: studyKey, group: patientKey, isPositive: isPositive, score: probability, attributes: attributes)
    }
}
