import Foundation
import SonoKitCore

/// The nonparametric bootstrap over patients (cluster bootstrap), seeded and deterministic.
///
/// Frames and studies of one patient are correlated; resampling them as if independent makes
/// intervals too narrow. A replicate therefore draws G patients with replacement from the G
/// patients of the set and takes all of each drawn patient's samples (a patient drawn twice
/// contributes twice). Procedure, fixed so that a reference script can replay it draw for draw:
///
/// 1. patients = the distinct `group` keys, sorted by Unicode code points (so the result does not
///    depend on the order the samples arrive in);
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

    /// Calls `body` with the outcomes of every two-class replicate, in replicate order. A patient
    /// drawn k times contributes each of its samples k times (samples in input order).
    public func forEachReplicate(_ samples: [ScoredSample], _ body: (BinaryOutcomes) throws -> Void) throws -> Summary {
        let (patientOfSample, patientCount) = try prepare(samples)
        var labels: [Bool] = [], scores: [Double] = []
        labels.reserveCapacity(samples.count); scores.reserveCapacity(samples.count)
        return try drawReplicates(patientCount: patientCount) { multiplicity in
            labels.removeAll(keepingCapacity: true); scores.removeAll(keepingCapacity: true)
            for (i, s) in samples.enumerated() {
                for _ in 0..<multiplicity[patientOfSample[i]] { labels.append(s.isPositive); scores.append(s.score) }
            }
            guard let outcomes = try? BinaryOutcomes(labels: labels, scores: scores) else { return false }
            try body(outcomes)
            return true
        }
    }

    /// The percentile interval of `statistic` over the replicates.
    public func interval(_ samples: [ScoredSample], statistic: (BinaryOutcomes) throws -> Double) throws
        -> (interval: ConfidenceInterval, summary: Summary) {
        var values: [Double] = []
        values.reserveCapacity(replicates)
        let summary = try forEachReplicate(samples) { values.append(try statistic($0)) }
        return (percentileInterval(values), summary)
    }

    /// The percentile interval of the AUC.
    ///
    /// Same replicates as `interval(samples, statistic: ROC.auc)`, computed without materialising
    /// them: the samples are sorted by score once, and a replicate is a vector of multiplicities
    /// (how often each sample's patient was drawn), so its Mann-Whitney sum is one pass over the
    /// tie groups: Σ_groups w⁺ (2 W⁻_below + w⁻) / (2 P N) with integer weights — exact, and
    /// O(n) per replicate instead of O(n log n) with allocation. Measured by
    /// scripts/fixtures/evaluation/bench_bootstrap.sh (2000 replicates, 20 000 frames of 500
    /// patients, shared 2-core machine): 0.12 s, against 3.8 s materialising the replicates and
    /// 22 s for scikit-learn's roc_auc_score per replicate.
    public func aucInterval(_ samples: [ScoredSample]) throws -> (interval: ConfidenceInterval, summary: Summary) {
        let ranking = try WeightedRanking(samples, bootstrap: self)
        var values: [Double] = []
        values.reserveCapacity(replicates)
        let summary = try drawReplicates(patientCount: ranking.patientCount) { multiplicity in
            guard let auc = ranking.auc(multiplicity) else { return false }
            values.append(auc)
            return true
        }
        return (percentileInterval(values), summary)
    }

    /// A pointwise band around the ROC curve: at each false positive rate x of `grid` (ascending),
    /// the percentile interval of TPR*(x) (`ROC.truePositiveRate(atFalsePositiveRate:)`) over the
    /// replicates. The band is pointwise (each x has its own coverage), not a simultaneous band for
    /// the whole curve. Computed on multiplicities like `aucInterval`.
    public func rocBand(_ samples: [ScoredSample], grid: [Double] = stride(from: 0, through: 1, by: 0.02).map { $0 }) throws
        -> (band: [ROCBandPoint], summary: Summary) {
        guard zip(grid, grid.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw EvaluationError.invalidParameter(name: "ROC band grid", value: "\(grid)", expected: "ascending false positive rates")
        }
        let ranking = try WeightedRanking(samples, bootstrap: self)
        var columns = [[Double]](repeating: [], count: grid.count)
        let summary = try drawReplicates(patientCount: ranking.patientCount) { multiplicity in
            guard let rates = ranking.truePositiveRates(multiplicity, grid: grid) else { return false }
            for k in grid.indices { columns[k].append(rates[k]) }
            return true
        }
        let band = zip(grid, columns).map { x, column -> ROCBandPoint in
            let ci = percentileInterval(column)
            return ROCBandPoint(falsePositiveRate: x, lowerTruePositiveRate: ci.lower, upperTruePositiveRate: ci.upper)
        }
        return (band, summary)
    }

    /// Checks the settings and the data; maps each sample to its patient's index in the sorted patient list.
    fileprivate func prepare(_ samples: [ScoredSample]) throws -> (patientOfSample: [Int], patientCount: Int) {
        guard replicates >= 1 else {
            throw EvaluationError.invalidParameter(name: "bootstrap replicates", value: "\(replicates)", expected: "a positive integer, e.g. 2000")
        }
        _ = try criticalValue(confidenceLevel: confidenceLevel)
        _ = try BinaryOutcomes(samples, what: "the bootstrap input")
        let patients = Set(samples.map(\.group)).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let index = Dictionary(uniqueKeysWithValues: patients.enumerated().map { ($0.element, $0.offset) })
        return (samples.map { index[$0.group]! }, patients.count)
    }

    /// Draws the replicates: for each, G patient indices `uniform(below: G)` counted into a
    /// multiplicity vector; `body` returns false when the replicate has one class only (skipped).
    func drawReplicates(patientCount: Int, _ body: ([Int]) throws -> Bool) throws -> Summary {
        var generator = SplitMix64(seed: seed)
        var multiplicity = [Int](repeating: 0, count: patientCount)
        var used = 0, skipped = 0
        for _ in 0..<replicates {
            for k in multiplicity.indices { multiplicity[k] = 0 }
            for _ in 0..<patientCount { multiplicity[Int(generator.uniform(below: UInt64(patientCount)))] += 1 }
            if try body(multiplicity) { used += 1 } else { skipped += 1 }
        }
        if used == 0 || Double(skipped) > maximumSkippedFraction * Double(replicates) {
            throw EvaluationError.bootstrapDegenerate(skipped: skipped, replicates: replicates)
        }
        return Summary(replicates: replicates, used: used, skipped: skipped, seed: seed, resamplingUnit: "patient")
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

/// Samples sorted by score once, in tie groups, for statistics of weighted replicates.
struct WeightedRanking {
    /// Per tie group (ascending score): the samples' patients and labels.
    private let groups: [[(patient: Int, positive: Bool)]]
    let patientCount: Int

    init(_ samples: [ScoredSample], bootstrap: PatientBootstrap) throws {
        let (patientOfSample, patientCount) = try bootstrap.prepare(samples)
        let order = samples.indices.sorted { samples[$0].score < samples[$1].score }
        var groups: [[(patient: Int, positive: Bool)]] = []
        var previous: Double?
        for i in order {
            if samples[i].score != previous { groups.append([]); previous = samples[i].score }
            groups[groups.count - 1].append((patientOfSample[i], samples[i].isPositive))
        }
        self.groups = groups
        self.patientCount = patientCount
    }

    /// Mann-Whitney AUC of the replicate with these patient multiplicities; nil for one class.
    func auc(_ multiplicity: [Int]) -> Double? {
        var twiceWins = 0, negativesBelow = 0, positives = 0
        for group in groups {
            var wPos = 0, wNeg = 0
            for member in group {
                let w = multiplicity[member.patient]
                if member.positive { wPos += w } else { wNeg += w }
            }
            twiceWins += wPos * (2 * negativesBelow + wNeg)
            negativesBelow += wNeg
            positives += wPos
        }
        guard positives > 0, negativesBelow > 0 else { return nil }
        return Double(twiceWins) / (2 * Double(positives) * Double(negativesBelow))
    }

    /// TPR*(x) on the ascending grid for the replicate; nil for one class.
    func truePositiveRates(_ multiplicity: [Int], grid: [Double]) -> [Double]? {
        // Weighted cumulative counts from the highest score down: the ROC points of the replicate.
        var tp = [0], fp = [0]
        tp.reserveCapacity(groups.count + 1); fp.reserveCapacity(groups.count + 1)
        for group in groups.reversed() {
            var wPos = 0, wNeg = 0
            for member in group {
                let w = multiplicity[member.patient]
                if member.positive { wPos += w } else { wNeg += w }
            }
            if wPos == 0 && wNeg == 0 { continue }
            tp.append(tp[tp.count - 1] + wPos)
            fp.append(fp[fp.count - 1] + wNeg)
        }
        let p = Double(tp[tp.count - 1]), n = Double(fp[fp.count - 1])
        guard p > 0, n > 0 else { return nil }
        let curve = zip(tp, fp).map { ROCPoint(threshold: nil, falsePositiveRate: Double($0.1) / n, truePositiveRate: Double($0.0) / p) }
        return ROC.truePositiveRates(atFalsePositiveRates: grid, curve: curve)
    }
}
