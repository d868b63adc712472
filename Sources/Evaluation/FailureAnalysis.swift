/// The worst errors at the threshold, for the failure analysis a report must show (CLAIM):
/// the false positives the model was most sure of and the false negatives it was least sure of.
public struct FailureAnalysis: Codable, Equatable, Sendable {
    public var threshold: Double
    /// The largest number of cases listed per kind.
    public var limit: Int
    /// Negatives called positive, highest probability first (ties by study key).
    public var falsePositives: [FailureCase]
    /// Positives called negative, lowest probability first (ties by study key).
    public var falseNegatives: [FailureCase]

    /// One misclassified study, by its pseudonymous key.
    public struct FailureCase: Codable, Equatable, Sendable {
        public var studyKey: String
        public var probability: Double
        public var framesUsed: Int
        /// Study attributes ("site", "manufacturer") as name/value pairs, sorted by name.
        public var attributes: [NamedValue]
    }

    /// The `limit` worst false positives and false negatives of `studies` at `threshold`
    /// (positive iff probability >= threshold).
    public init(_ studies: [AggregatedStudy], threshold: Double, limit: Int = 10) {
        func failure(_ s: AggregatedStudy) -> FailureCase {
            FailureCase(studyKey: s.studyKey, probability: s.probability, framesUsed: s.framesUsed,
                        attributes: s.attributes.sorted { $0.key < $1.key }.map { NamedValue($0.key, $0.value) })
        }
        self.threshold = threshold
        self.limit = max(0, limit)
        falsePositives = studies.filter { !$0.isPositive && $0.probability >= threshold }
            .sorted { ($0.probability, $1.studyKey) > ($1.probability, $0.studyKey) }
            .prefix(self.limit).map(failure)
        falseNegatives = studies.filter { $0.isPositive && $0.probability < threshold }
            .sorted { ($0.probability, $0.studyKey) < ($1.probability, $1.studyKey) }
            .prefix(self.limit).map(failure)
    }
}
