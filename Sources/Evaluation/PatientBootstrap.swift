import Foundation

/// The nonparametric bootstrap over patients (cluster bootstrap), seeded and deterministic.
///
/// Frames and studies of one patient are correlated; resampling them as if independent makes
/// intervals too narrow. A replicate therefore draws G patients with replacement from the G
/// patients of the set and takes all of each drawn patient's samples (a patient drawn twice
/// contributes twice). Procedure, fixed so that a reference script can replay it draw for draw:
///
/// 1. patients = the distinct `group` keys, sorted by Unicode code points (so the result does not
///    depend on the order the samples arrive in); within a patient, samples keep their input order;
/// 2. one `SplitMix64(seed:)` stream; replicate b draws G indices `uniform(below: G)` in sequence;
/// 3. a replicate containing one class only has no AUC: it is *skipped* (counted, not redrawn,
///    because redrawing conditions on the data and biases the interval); if more than 10% of the
///    replicates are skipped, the interval is refused (`bootstrapDegenerate`);
/// 4. percentile interval: the α/2 and 1 - α/2 quantiles (type 7, numpy's default) of the
///    statistic over the kept replicates.
///
/// Why the percentile method: simple, transformation-respecting, and what readers of medical
/// imaging papers expect; BCa would need a jackknife over patients and is not implemented. The
/// percentile interval is not guaranteed to contain the point estimate when the bootstrap
/// distribution is very skewed (the report states the estimate beside it).
/// Why 2000 replicates by default: the Monte Carlo error of a 2.5% quantile from B draws is about
/// sqrt(0.025 · 0.975 / B) in probability, 0.35% at B = 2000 — small next to the interval itself —
/// and Efron & Tibshirani (1993) recommend B >= 1000 for percentile intervals.
public struct PatientBootstrap: Codable, Equatable, Sendable {
    public var replicates: Int
    public var seed: UInt64
    public var confidenceLevel: Double
    /// The largest fraction of replicates that may be skipped for having one class only.
    public var maximumSkippedFraction: Double

    public init(replicates: Int = 2000, seed: UInt64, confidenceLevel: Double = 0.95, maximumSkippedFraction: Double = 0.1) {
        self.replicates = replicates
        self.seed = seed
        self.confidenceLevel = confidenceLevel
        self.maximumSkippedFraction = maximumSkippedFraction
    }

    /// What a bootstrap run did: replicates used and skipped, with the seed to reproduce it.
    public struct Summary: Codable, Equatable, Sendable {
        public var replicates: Int
        public var used: Int
        public var skipped: Int
        public var seed: UInt64
        public var resamplingUnit: String
    }

    /// Calls `body` with the outcomes of every two-class replicate, in replicate order.
    public func forEachReplicate(_ samples: [ScoredSample], _ body: (BinaryOutcomes) throws -> Void) throws -> Summary {
        guard replicates >= 1 else {
            throw EvaluationError.invalidParameter(name: "bootstrap replicates", value: "\(replicates)", expected: "a positive integer, e.g. 2000")
        }
        _ = try criticalValue(confidenceLevel: confidenceLevel)
        _ = try BinaryOutcomes(samples, what: "the bootstrap input")
        var byPatient: [String: [Int]] = [:]
        for (i, s) in samples.enumerated() { byPatient[s.group, default: []].append(i) }
        let patients = byPatient.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let members = patients.map { byPatient[$0]! }
        var generator = SplitMix64(seed: seed)
        var used = 0, skipped = 0
        var labels: [Bool] = [], scores: [Double] = []
        labels.reserveCapacity(samples.count); scores.reserveCapacity(samples.count)
        for _ in 0..<replicates {
            labels.removeAll(keepingCapacity: true); scores.removeAll(keepingCapacity: true)
            for _ in 0..<patients.count {
                for i in members[Int(generator.uniform(below: UInt64(patients.count)))] {
                    labels.append(samples[i].isPositive); scores.append(samples[i].score)
                }
            }
            guard let outcomes = try? BinaryOutcomes(labels: labels, scores: scores) else { skipped += 1; continue }
            used += 1
            try body(outcomes)
        }
        if used == 0 || Double(skipped) > maximumSkippedFraction * Double(replicates) {
            throw EvaluationError.bootstrapDegenerate(skipped: skipped, replicates: replicates)
        }
        return Summary(replicates: replicates, used: used, skipped: skipped, seed: seed, resamplingUnit: "patient")
    }

    /// The percentile interval of `statistic` over the replicates.
    public func interval(_ samples: [ScoredSample], statistic: (BinaryOutcomes) throws -> Double) throws
        -> (interval: ConfidenceInterval, summary: Summary) {
        var values: [Double] = []
        values.reserveCapacity(replicates)
        let summary = try forEachReplicate(samples) { values.append(try statistic($0)) }
        return (percentileInterval(values), summary)
    }

    /// The AUC interval: `interval(samples, statistic: ROC.auc)`.
    public func aucInterval(_ samples: [ScoredSample]) throws -> (interval: ConfidenceInterval, summary: Summary) {
        try interval(samples, statistic: ROC.auc)
    }

    /// A pointwise band around the ROC curve: at each false positive rate x of `grid`, the percentile
    /// interval of TPR*(x) (`ROC.truePositiveRate(atFalsePositiveRate:)`) over the replicates. The
    /// band is pointwise (each x has its own coverage), not a simultaneous band for the whole curve.
    public func rocBand(_ samples: [ScoredSample], grid: [Double] = stride(from: 0, through: 1, by: 0.02).map { $0 }) throws
        -> (band: [ROCBandPoint], summary: Summary) {
        guard zip(grid, grid.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw EvaluationError.invalidParameter(name: "ROC band grid", value: "\(grid)", expected: "ascending false positive rates")
        }
        var columns = [[Double]](repeating: [], count: grid.count)
        let summary = try forEachReplicate(samples) { outcomes in
            let rates = ROC.truePositiveRates(atFalsePositiveRates: grid, curve: ROC.curve(outcomes))
            for k in grid.indices { columns[k].append(rates[k]) }
        }
        let band = zip(grid, columns).map { x, column -> ROCBandPoint in
            let ci = percentileInterval(column)
            return ROCBandPoint(falsePositiveRate: x, lowerTruePositiveRate: ci.lower, upperTruePositiveRate: ci.upper)
        }
        return (band, summary)
    }

    func percentileInterval(_ values: [Double]) -> ConfidenceInterval {
        let sorted = values.sorted()
        let alpha = 1 - confidenceLevel
        return ConfidenceInterval(lower: quantileType7(sorted: sorted, alpha / 2), upper: quantileType7(sorted: sorted, 1 - alpha / 2),
                                  level: confidenceLevel, method: "bootstrap-percentile")
    }
}

/// One grid point of a pointwise ROC confidence band.
public struct ROCBandPoint: Codable, Equatable, Sendable {
    public var falsePositiveRate: Double
    public var lowerTruePositiveRate: Double
    public var upperTruePositiveRate: Double
}
