/// Results for the samples sharing one value of an attribute (one site, one manufacturer).
public struct SubgroupResult: Codable, Equatable, Sendable {
    public var attribute: String
    /// The attribute value; samples without the attribute form the group "(missing)".
    public var value: String
    public var counts: SampleCounts
    /// Present only when the subgroup is large enough (`Subgroups.minimumPerClass`).
    public var metrics: SubgroupMetrics?
    /// Why there are no metrics, when there are none.
    public var omittedBecause: String?
}

/// The few metrics given per subgroup: discrimination and the operating point's two rates.
public struct SubgroupMetrics: Codable, Equatable, Sendable {
    public var auc: Double
    /// DeLong interval (the bootstrap is not repeated per subgroup: it costs B × subgroups AUCs and
    /// a subgroup's patients are few).
    public var aucInterval: ConfidenceInterval
    /// At the overall threshold (never re-fitted per subgroup: that would tune on the test split).
    public var sensitivity: Proportion
    public var specificity: Proportion
}

/// Subgroup analysis by site and by manufacturer.
///
/// The minimum-size rule: a subgroup gets metrics only when it has at least `minimumPerClass`
/// positives **and** `minimumPerClass` negatives (default 10). Below that, one study moves its
/// sensitivity or specificity by 10 points or more and the 95% Wilson interval of a proportion near
/// 0.8 is wider than 0.4 (8/10: [0.49, 0.94]), so a printed number invites reading noise as a
/// site effect. Counts are always given, so the reader sees how small the subgroup is.
public enum Subgroups {
    public static func evaluate(_ samples: [ScoredSample], attributes: [String], threshold: Double,
                                minimumPerClass: Int = 10, confidenceLevel: Double = 0.95,
                                delongScale: DeLongIntervalScale = .logit) throws -> [SubgroupResult] {
        guard minimumPerClass >= 2 else {
            throw EvaluationError.invalidParameter(name: "subgroup minimum per class", value: "\(minimumPerClass)",
                                                   expected: "an integer >= 2 (DeLong needs two of each class)")
        }
        var results: [SubgroupResult] = []
        for attribute in attributes where samples.contains(where: { $0.attributes[attribute] != nil }) {
            let groups = Dictionary(grouping: samples) { $0.attributes[attribute] ?? "(missing)" }
            for value in groups.keys.sorted() {
                let members = groups[value]!
                let counts = SampleCounts(members)
                var result = SubgroupResult(attribute: attribute, value: value, counts: counts, metrics: nil, omittedBecause: nil)
                if counts.positives < minimumPerClass || counts.negatives < minimumPerClass {
                    result.omittedBecause = "\(counts.positives) positive and \(counts.negatives) negative samples; "
                        + "metrics need at least \(minimumPerClass) of each"
                } else {
                    let outcomes = try BinaryOutcomes(members, what: "subgroup \(attribute)=\(value)")
                    do {
                        let delong = try DeLong.patientAwareInterval(outcomes, patients: members.map(\.group),
                                                                     confidenceLevel: confidenceLevel, scale: delongScale)
                        let m = try ThresholdMetrics(outcomes, threshold: threshold, confidenceLevel: confidenceLevel)
                        result.metrics = SubgroupMetrics(auc: delong.auc, aucInterval: delong.interval,
                                                         sensitivity: m.sensitivity, specificity: m.specificity)
                    } catch EvaluationError.tooFewPatientsForVariance(_, let withPositives, let withNegatives, _) {
                        // Enough samples of each class but from fewer than 2 patients of a class.
                        result.omittedBecause = "\(counts.positives) positive and \(counts.negatives) negative samples from "
                            + "\(withPositives) patient(s) with a positive and \(withNegatives) with a negative; "
                            + "the patient-aware AUC interval needs at least 2 of each"
                    }
                }
                results.append(result)
            }
        }
        return results
    }
}
