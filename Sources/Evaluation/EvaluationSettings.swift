/// The settings of one evaluation, recorded in the report so that its numbers can be reproduced.
public struct EvaluationSettings: Codable, Equatable, Sendable {
    public var aggregation: StudyAggregation
    /// Nominal coverage of every interval (0.95).
    public var confidenceLevel: Double
    public var delongScale: DeLongIntervalScale
    /// Bootstrap replicates (2000; see `PatientBootstrap` for why); 0 turns the bootstrap off.
    public var bootstrapReplicates: Int
    /// Seed of the bootstrap stream.
    public var bootstrapSeed: UInt64
    /// Equal-width reliability bins (10 or 15; see `Calibration.reliabilityBins`).
    public var calibrationBins: Int
    /// Sample attributes subgroups are formed by, when present in the data.
    public var subgroupAttributes: [String]
    /// A subgroup gets metrics only with at least this many positives and this many negatives
    /// (see `Subgroups`).
    public var subgroupMinimumPerClass: Int
    /// Spacing of the false-positive-rate grid of the ROC confidence band.
    public var rocBandStep: Double

    public init(aggregation: StudyAggregation = .mean, confidenceLevel: Double = 0.95, delongScale: DeLongIntervalScale = .logit,
                bootstrapReplicates: Int = 2000, bootstrapSeed: UInt64, calibrationBins: Int = 10,
                subgroupAttributes: [String] = ["site", "manufacturer"], subgroupMinimumPerClass: Int = 10, rocBandStep: Double = 0.02) {
        self.aggregation = aggregation
        self.confidenceLevel = confidenceLevel
        self.delongScale = delongScale
        self.bootstrapReplicates = bootstrapReplicates
        self.bootstrapSeed = bootstrapSeed
        self.calibrationBins = calibrationBins
        self.subgroupAttributes = subgroupAttributes
        self.subgroupMinimumPerClass = subgroupMinimumPerClass
        self.rocBandStep = rocBandStep
    }

    /// Throws `invalidParameter` naming the first setting outside its domain.
    public func validate() throws {
        _ = try criticalValue(confidenceLevel: confidenceLevel)
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            if !ok { throw EvaluationError.invalidParameter(name: name, value: "\(value)", expected: expected) }
        }
        try check(bootstrapReplicates >= 0, "bootstrap replicates", bootstrapReplicates, "0 (off) or a positive integer, e.g. 2000")
        try check(calibrationBins >= 1, "calibration bin count", calibrationBins, "a positive integer, e.g. 10 or 15")
        try check(subgroupMinimumPerClass >= 2, "subgroup minimum per class", subgroupMinimumPerClass, "an integer >= 2")
        try check(rocBandStep > 0 && rocBandStep <= 1, "ROC band step", rocBandStep, "a false positive rate step in (0, 1], e.g. 0.02")
        if case .vote(let tau) = aggregation {
            try check((0...1).contains(tau), "vote frame threshold", tau, "a probability in [0, 1]")
        }
    }

    var bootstrap: PatientBootstrap? {
        bootstrapReplicates > 0 ? PatientBootstrap(replicates: bootstrapReplicates, seed: bootstrapSeed, confidenceLevel: confidenceLevel) : nil
    }
}
