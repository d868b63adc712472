import Foundation

/// How the class probabilities of a study's frames become one study probability vector.
///
/// For frame vectors p_1 ... p_m (p_i = (p_i0, ..., p_i,N-1), each summing to 1):
///
/// - `mean`: p̄_k = (1/m) Σ_i p_ik. Sums to 1 without renormalising. For diffuse findings.
/// - `max`: q_k = max_i p_ik, then **renormalised**: p_k = q_k / Σ_j q_j. The raw maxima sum to
///   more than 1 (each class takes its best frame); dividing by their sum keeps a probability
///   vector (so Brier, log loss and calibration stay defined) and keeps their order (so the argmax
///   and every one-vs-rest ranking within a study are those of the raw maxima; rankings across
///   studies can change, since each study has its own divisor).
/// - `vote`: v_k = #{i : argmax p_i = k} / m, the fraction of frames whose decision is class k
///   (argmax ties to the lowest index); the study decision is the plurality class, ties again to
///   the lowest index. Takes only m + 1 values per class, so its ROC curves have ties.
///
/// The binary `StudyAggregation.vote(frameThreshold:)` has a frame threshold; a multi-class vote
/// has none (each frame votes for its argmax).
public enum MulticlassAggregation: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case mean
    case max
    case vote

    /// Parses `mean`, `max` or `vote`; `vote=<t>` (a binary frame threshold) is refused with a reason.
    public init(parsing text: String) throws {
        guard let rule = MulticlassAggregation(rawValue: text.lowercased()) else {
            throw MulticlassEvaluationError.invalidSetting(
                name: "study aggregation", value: text,
                expected: "mean, max or vote (a multi-class frame votes for its most probable class: vote takes no frame threshold)")
        }
        self = rule
    }

    /// The multi-class rule of a binary setting: `vote` only with the default frame threshold 0.5.
    public init(_ binary: StudyAggregation) throws {
        switch binary {
        case .mean: self = .mean
        case .max: self = .max
        case .vote(let tau):
            guard tau == 0.5 else {
                throw MulticlassEvaluationError.invalidSetting(name: "study aggregation", value: binary.description,
                                                               expected: "mean, max or vote (no frame threshold for multi-class)")
            }
            self = .vote
        }
    }

    public var description: String { rawValue }

    /// The study vector of one study's frame vectors (non-empty, each of length N).
    public func aggregate(_ vectors: [[Double]]) -> [Double] {
        precondition(!vectors.isEmpty, "a study has at least one frame")
        let n = vectors[0].count
        switch self {
        case .mean:
            var sum = [Double](repeating: 0, count: n)
            for v in vectors { for k in 0..<n { sum[k] += v[k] } }
            return sum.map { $0 / Double(vectors.count) }
        case .max:
            var q = vectors[0]
            for v in vectors.dropFirst() { for k in 0..<n { q[k] = Swift.max(q[k], v[k]) } }
            let total = q.reduce(0, +)
            return q.map { $0 / total }
        case .vote:
            var votes = [Double](repeating: 0, count: n)
            for v in vectors { votes[MulticlassOutcomes.argmax(v)] += 1 }
            return votes.map { $0 / Double(vectors.count) }
        }
    }

    /// Groups frames by study and aggregates each, studies sorted by key.
    ///
    /// - Throws: `empty` for no frames; the frame's own problem (vector length, range, sum) naming
    ///   study and frame; `inconsistentStudy` when frames of one study disagree on true class,
    ///   patient or an attribute.
    public func aggregate(_ frames: [MulticlassFrame], classCount: Int) throws -> [MulticlassStudy] {
        guard !frames.isEmpty else { throw EvaluationError.empty(what: "the frame predictions") }
        var byStudy: [String: [MulticlassFrame]] = [:]
        for (i, f) in frames.enumerated() {
            let name = "study \(f.studyKey) instance \(f.frame.instanceKey) frame \(f.frame.frameIndex)"
            guard f.probabilities.count == classCount else {
                throw MulticlassEvaluationError.wrongVectorLength(index: i, key: name, length: f.probabilities.count, classCount: classCount)
            }
            for v in f.probabilities {
                guard v.isFinite else { throw EvaluationError.nonFiniteScore(index: i, key: name) }
                guard (0...1).contains(v) else { throw EvaluationError.probabilityOutOfRange(index: i, key: name, value: v) }
            }
            let sum = f.probabilities.reduce(0, +)
            guard abs(sum - 1) <= MulticlassOutcomes.sumTolerance else {
                throw MulticlassEvaluationError.notAProbabilityVector(index: i, key: name, sum: sum)
            }
            guard (0..<classCount).contains(f.trueClass) else {
                throw MulticlassEvaluationError.classOutOfRange(index: i, key: name, value: f.trueClass, classCount: classCount)
            }
            byStudy[f.studyKey, default: []].append(f)
        }
        return try byStudy.keys.sorted().map { key in
            let members = byStudy[key]!
            let first = members[0]
            func requireConstant(_ field: String, _ value: (MulticlassFrame) -> String) throws {
                let values = Set(members.map(value))
                if values.count > 1 { throw EvaluationError.inconsistentStudy(studyKey: key, field: field, values: values.sorted()) }
            }
            try requireConstant("true class") { String($0.trueClass) }
            try requireConstant("patient") { $0.patientKey }
            for name in Set(members.flatMap { $0.attributes.keys }).sorted() {
                try requireConstant(name) { $0.attributes[name] ?? "(missing)" }
            }
            return MulticlassStudy(studyKey: key, patientKey: first.patientKey, trueClass: first.trueClass,
                                   probabilities: aggregate(members.map(\.probabilities)), framesUsed: members.count,
                                   attributes: first.attributes)
        }
    }
}

/// One study after aggregation: its probability vector and how many frames it came from.
public struct MulticlassStudy: Codable, Hashable, Sendable {
    public var studyKey: String
    public var patientKey: String
    public var trueClass: Int
    public var probabilities: [Double]
    public var framesUsed: Int
    public var attributes: [String: String]

    public init(studyKey: String, patientKey: String, trueClass: Int, probabilities: [Double], framesUsed: Int,
                attributes: [String: String] = [:]) {
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.trueClass = trueClass
        self.probabilities = probabilities
        self.framesUsed = framesUsed
        self.attributes = attributes
    }

    /// argmax of the study vector, ties to the lowest class index.
    public var predictedClass: Int { MulticlassOutcomes.argmax(probabilities) }

    public var sample: MulticlassSample {
        MulticlassSample(key: studyKey, group: patientKey, trueClass: trueClass, probabilities: probabilities)
    }
}
