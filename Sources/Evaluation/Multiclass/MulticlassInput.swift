import Foundation

/// Which frame of which file a probability vector belongs to.
///
/// `path` is where the frame was read from, so that the caller can fetch the thumbnail the model
/// saw; it is never written to any output (export folder names often carry patient names).
/// `instanceKey` is the pseudonym of the SOP Instance UID that the CSV files and the page show.
public struct FrameReference: Codable, Hashable, Sendable {
    public var path: String
    public var instanceKey: String
    /// Index of the frame in its instance (0-based).
    public var frameIndex: Int

    public init(path: String, instanceKey: String, frameIndex: Int) {
        self.path = path
        self.instanceKey = instanceKey
        self.frameIndex = frameIndex
    }
}

/// The model's class probabilities for one frame of a multi-class task: the input of
/// `MulticlassEvaluator`.
public struct MulticlassFrame: Codable, Hashable, Sendable {
    /// Pseudonymous study key.
    public var studyKey: String
    /// Pseudonymous patient key: the bootstrap resampling unit and the DeLong cluster.
    public var patientKey: String
    public var frame: FrameReference
    /// Index of the true class in the declared class list (0-based).
    public var trueClass: Int
    /// p_0 ... p_{N-1}, one per declared class, in the declared order; a probability vector
    /// (each in [0, 1], summing to 1 within `MulticlassOutcomes.sumTolerance`), as a softmax gives.
    public var probabilities: [Double]
    /// Study-level attributes ("site", "manufacturer").
    public var attributes: [String: String]

    public init(studyKey: String, patientKey: String, frame: FrameReference, trueClass: Int, probabilities: [Double],
                attributes: [String: String] = [:]) {
        self.studyKey = studyKey
        self.patientKey = patientKey
        self.frame = frame
        self.trueClass = trueClass
        self.probabilities = probabilities
        self.attributes = attributes
    }

    /// argmax of the frame vector, ties to the lowest class index.
    public var predictedClass: Int { MulticlassOutcomes.argmax(probabilities) }

    /// The frame as a sample for frame-level metrics (key "study#instance#frame").
    public var sample: MulticlassSample {
        MulticlassSample(key: "\(studyKey)#\(frame.instanceKey)#\(frame.frameIndex)", group: patientKey, trueClass: trueClass,
                         probabilities: probabilities)
    }
}

/// One scored unit of a multi-class evaluation: a study (after aggregation) or a frame.
public struct MulticlassSample: Codable, Hashable, Sendable {
    public var key: String
    /// Pseudonymous patient key (bootstrap unit, DeLong cluster).
    public var group: String
    public var trueClass: Int
    public var probabilities: [Double]

    public init(key: String, group: String, trueClass: Int, probabilities: [Double]) {
        self.key = key
        self.group = group
        self.trueClass = trueClass
        self.probabilities = probabilities
    }
}

/// Labels and probability vectors of a multi-class task, checked once so that every metric can assume them.
///
/// Invariants (the initialiser throws `MulticlassEvaluationError` otherwise): at least one sample;
/// N >= 2 classes; every true class in 0..<N; every vector of length N with entries finite and in
/// [0, 1], summing to 1 within `sumTolerance`; **every class present** among the true classes
/// (its one-vs-rest AUC, sensitivity and the macro averages are undefined otherwise — scikit-learn's
/// `roc_auc_score(multi_class="ovr")` refuses such input too).
public struct MulticlassOutcomes: Sendable, Equatable {
    /// |Σ_k p_k − 1| allowed: a float32 softmax over a few classes sums to 1 within about 1e-7.
    public static let sumTolerance = 1e-5

    public let classCount: Int
    public let labels: [Int]
    public let probabilities: [[Double]]
    public let keys: [String]?
    /// n_k = #{i : y_i = k}.
    public let support: [Int]

    public var count: Int { labels.count }

    public init(labels: [Int], probabilities: [[Double]], classCount: Int, keys: [String]? = nil, what: String = "the samples") throws {
        guard classCount >= 2 else {
            throw MulticlassEvaluationError.tooFewClasses(count: classCount)
        }
        guard labels.count == probabilities.count else {
            throw EvaluationError.lengthMismatch(labels: labels.count, scores: probabilities.count)
        }
        guard !labels.isEmpty else { throw EvaluationError.empty(what: what) }
        var support = [Int](repeating: 0, count: classCount)
        for (i, (y, p)) in zip(labels, probabilities).enumerated() {
            let name = keys?[i]
            guard (0..<classCount).contains(y) else {
                throw MulticlassEvaluationError.classOutOfRange(index: i, key: name, value: y, classCount: classCount)
            }
            guard p.count == classCount else {
                throw MulticlassEvaluationError.wrongVectorLength(index: i, key: name, length: p.count, classCount: classCount)
            }
            for v in p {
                guard v.isFinite else { throw EvaluationError.nonFiniteScore(index: i, key: name) }
                guard (0...1).contains(v) else { throw EvaluationError.probabilityOutOfRange(index: i, key: name, value: v) }
            }
            let sum = p.reduce(0, +)
            guard abs(sum - 1) <= Self.sumTolerance else {
                throw MulticlassEvaluationError.notAProbabilityVector(index: i, key: name, sum: sum)
            }
            support[y] += 1
        }
        if let absent = support.firstIndex(of: 0) {
            throw MulticlassEvaluationError.classAbsent(what: what, classIndex: absent, support: support)
        }
        self.classCount = classCount
        self.labels = labels
        self.probabilities = probabilities
        self.keys = keys
        self.support = support
    }

    public init(_ samples: [MulticlassSample], classCount: Int, what: String = "the samples") throws {
        try self.init(labels: samples.map(\.trueClass), probabilities: samples.map(\.probabilities), classCount: classCount,
                      keys: samples.map(\.key), what: what)
    }

    /// The decision of sample i: argmax_k p_k, **ties to the lowest class index** (numpy `argmax`,
    /// which scikit-learn's `predict` uses).
    public func predicted(_ i: Int) -> Int { Self.argmax(probabilities[i]) }

    static func argmax(_ p: [Double]) -> Int {
        var best = 0
        for k in p.indices where p[k] > p[best] { best = k }
        return best
    }

    /// Class k against the rest: label y = k, score p_k.
    public func oneVsRest(_ k: Int) throws -> BinaryOutcomes {
        try BinaryOutcomes(labels: labels.map { $0 == k }, scores: probabilities.map { $0[k] }, keys: keys, what: "class \(k) against the rest")
    }
}

/// Why a multi-class evaluation could not be computed (the shared failures — empty input, a
/// non-finite score, a probability outside [0, 1] — are `EvaluationError`s as in the binary path).
public enum MulticlassEvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooFewClasses(count: Int)
    case classOutOfRange(index: Int, key: String?, value: Int, classCount: Int)
    case wrongVectorLength(index: Int, key: String?, length: Int, classCount: Int)
    case notAProbabilityVector(index: Int, key: String?, sum: Double)
    case classAbsent(what: String, classIndex: Int, support: [Int])
    case classNamesMismatch(names: [String], classCount: Int)
    /// A command-line or settings value with no multi-class meaning.
    case invalidSetting(name: String, value: String, expected: String)

    public var description: String {
        func sample(_ index: Int, _ key: String?) -> String { "sample \(index)\(key.map { " (\($0))" } ?? "")" }
        switch self {
        case .tooFewClasses(let count):
            return "A multi-class evaluation needs at least 2 classes; \(count) declared. Declare the classes in the manifest."
        case .classOutOfRange(let index, let key, let value, let classCount):
            return "The true class of \(sample(index, key)) is \(value), outside 0..<\(classCount): it is not one of the declared classes."
        case .wrongVectorLength(let index, let key, let length, let classCount):
            return "\(sample(index, key)) has \(length) probabilities for \(classCount) classes: the model's output does not match the declared classes."
        case .notAProbabilityVector(let index, let key, let sum):
            return "The probabilities of \(sample(index, key)) sum to \(sum), not 1: pass softmax outputs, not logits or sigmoid outputs."
        case .classAbsent(let what, let classIndex, let support):
            return "\(what) has no sample of class \(classIndex) (samples per class: \(support.map(String.init).joined(separator: ", "))): "
                + "its one-vs-rest AUC and sensitivity and the macro averages are undefined. Evaluate on a split that contains every class."
        case .classNamesMismatch(let names, let classCount):
            return "\(names.count) class names (\(names.joined(separator: ", "))) for \(classCount) probabilities per frame: "
                + "the run's classes and the model's output disagree."
        case .invalidSetting(let name, let value, let expected):
            return "Invalid \(name) '\(value)' for a multi-class evaluation: expected \(expected)."
        }
    }
}
