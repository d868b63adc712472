import Dispatch
import Foundation
import SonoKitCore

/// The intervals SonoKit reports for a split, as the coverage study judges them.
public enum StudiedInterval: String, CaseIterable, Codable, Sendable {
    /// `auc.delong.interval` (the settings' DeLong scale, logit by default; cluster-aware over
    /// patients when a patient has several studies, `DeLong.patientAwareInterval`) against the population AUC.
    case delongAUC = "delong-auc"
    /// `auc.bootstrap.interval`, the patient bootstrap's percentile interval, against the population AUC.
    case bootstrapAUC = "bootstrap-auc"
    /// `atThreshold.sensitivity.interval` (Wilson) against the population sensitivity at the fitted threshold.
    case wilsonSensitivity = "wilson-sensitivity"
    /// `atThreshold.specificity.interval` (Wilson) against the population specificity at the fitted threshold.
    case wilsonSpecificity = "wilson-specificity"
    /// For comparison, not reported: DeLong's variance treating every study as independent
    /// (`DeLong.interval(_:)`, same scale), what SonoKit reported before the coverage study.
    case independentDeLongAUC = "delong-independent-auc"
}

/// Empirical coverage of one interval over the replicates of one scenario.
///
/// Coverage ĉ = covered / computed, over the replicates where the interval could be computed; its
/// Monte Carlo standard error is √(ĉ(1 − ĉ)/computed) (a binomial proportion). Replicates without
/// an interval (a test set with one class, DeLong with fewer than 2 of a class, a refused
/// bootstrap, a validation set with one class so that no threshold could be fitted) are counted in
/// `unavailable`, not as misses: a user gets no interval there, and the report says why.
public struct CoverageTally: Codable, Equatable, Sendable {
    public var replicates = 0
    public var computed = 0
    public var covered = 0
    public var widthSum = 0.0

    public init() {}

    public var unavailable: Int { replicates - computed }
    public var coverage: Double? { computed > 0 ? Double(covered) / Double(computed) : nil }
    public var monteCarloStandardError: Double? {
        coverage.map { ($0 * (1 - $0) / Double(computed)).squareRoot() }
    }
    public var meanWidth: Double? { computed > 0 ? widthSum / Double(computed) : nil }

    /// Counts one replicate: `interval` nil when none was computed; covered when lower ≤ truth ≤ upper.
    public mutating func add(_ interval: ConfidenceInterval?, truth: Double) {
        replicates += 1
        guard let interval else { return }
        computed += 1
        widthSum += interval.upper - interval.lower
        if interval.contains(truth) { covered += 1 }
    }

    public mutating func merge(_ other: CoverageTally) {
        replicates += other.replicates; computed += other.computed; covered += other.covered; widthSum += other.widthSum
    }
}

/// What one simulated evaluation gave: each studied interval (nil when none was computed) and the
/// population value it should cover.
public struct CoverageReplicate: Sendable {
    public var patients: Int
    public var intervals: [StudiedInterval: ConfidenceInterval]
    public var truths: [StudiedInterval: Double]
    /// The test set had one class only (`Evaluator` refuses it: no interval at all).
    public var testSetHadOneClass: Bool
    /// The validation set had one class only: no threshold, so no sensitivity or specificity.
    public var validationSetHadOneClass: Bool
}

/// The coverage of every studied interval over the replicates of one scenario.
public struct CoverageSummary: Codable, Equatable, Sendable {
    public var scenario: BinormalScenario
    public var replicates: Int
    public var bootstrapReplicates: Int
    public var meanPatients: Double
    public var testSetsWithOneClass: Int
    public var validationSetsWithOneClass: Int
    public var tallies: [StudiedInterval: CoverageTally]
}

/// The coverage study: many evaluation sets of a `BinormalScenario`, each evaluated exactly as
/// `sonokit evaluate` evaluates a split's studies, counting how often each reported interval
/// contains the population value.
///
/// One replicate: a validation set and a test set of the scenario are drawn; the threshold rule
/// (Youden's J, `sonokit evaluate`'s default) is fitted on the validation set by
/// `ThresholdChoice.fit`; the test set goes through `Evaluator.evaluate(_:level:split:threshold:settings:)`
/// with `EvaluationSettings` at their defaults (95%, DeLong on the logit scale, percentile patient
/// bootstrap with `maximumSkippedFraction` 0.1) except the bootstrap replicates, the bootstrap seed
/// (drawn per replicate) and, to save time, a ROC band grid of one step (the band is not studied
/// and does not enter any studied interval).
///
/// Determinism: replicate i draws from `SplitMix64` seeded with SplitMix64(seed ⊕ (i+1)·φ64).next()
/// (φ64 = 0x9E3779B97F4A7C15), so its result depends only on (seed, i): the same for any number
/// of threads, and a replicate can be replayed alone.
public struct CoverageStudy: Sendable {
    public var scenario: BinormalScenario
    public var bootstrapReplicates: Int
    public var seed: UInt64
    public var thresholdRule: ThresholdRule

    public init(scenario: BinormalScenario, bootstrapReplicates: Int = 1000, seed: UInt64, thresholdRule: ThresholdRule = .youden) {
        self.scenario = scenario
        self.bootstrapReplicates = bootstrapReplicates
        self.seed = seed
        self.thresholdRule = thresholdRule
    }

    /// The generator of replicate `index`.
    public func generator(forReplicate index: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15))
        return SplitMix64(seed: mixer.next())
    }

    /// Runs replicate `index`.
    public func replicate(_ index: Int) throws -> CoverageReplicate {
        var generator = generator(forReplicate: index)
        let validation = scenario.draw(&generator)
        let test = scenario.draw(&generator)
        let settings = EvaluationSettings(bootstrapReplicates: bootstrapReplicates, bootstrapSeed: generator.next(), rocBandStep: 1)
        var result = CoverageReplicate(patients: Set(test.map(\.group)).count, intervals: [:],
                                       truths: [.delongAUC: scenario.auc, .bootstrapAUC: scenario.auc, .independentDeLongAUC: scenario.auc],
                                       testSetHadOneClass: false, validationSetHadOneClass: false)
        let threshold: ThresholdChoice?
        if let outcomes = try? BinaryOutcomes(validation) {
            let choice = try ThresholdChoice.fit(thresholdRule, on: outcomes, split: "validation", level: .study)
            threshold = choice
            result.truths[.wilsonSensitivity] = scenario.sensitivity(atThreshold: choice.value)
            result.truths[.wilsonSpecificity] = scenario.specificity(atThreshold: choice.value)
        } else {
            threshold = nil
            result.validationSetHadOneClass = true
        }
        guard (try? BinaryOutcomes(test)) != nil else {
            result.testSetHadOneClass = true
            return result
        }
        // Without a fitted threshold the AUC intervals are still what a user gets; 0.5 stands in
        // and its sensitivity/specificity intervals are not counted.
        let level = try Evaluator.evaluate(test, level: .study, split: "test", threshold: threshold ?? .fixed(0.5), settings: settings)
        result.intervals[.delongAUC] = level.auc.delong?.interval
        result.intervals[.bootstrapAUC] = level.auc.bootstrap?.interval
        result.intervals[.independentDeLongAUC] = try? DeLong.interval(BinaryOutcomes(test), confidenceLevel: settings.confidenceLevel,
                                                                      scale: settings.delongScale).interval
        if threshold != nil {
            result.intervals[.wilsonSensitivity] = level.atThreshold.sensitivity.interval
            result.intervals[.wilsonSpecificity] = level.atThreshold.specificity.interval
        }
        return result
    }

    /// Runs replicates 0..<count on `threads` threads (the result does not depend on `threads`)
    /// and tallies them. `progress`, if given, is called after each completed replicate with the
    /// number done so far (from any thread, serialised).
    public func run(replicates count: Int, threads: Int = 1, progress: ((Int) -> Void)? = nil) throws -> CoverageSummary {
        try scenario.validate()
        guard count >= 1 else {
            throw EvaluationError.invalidParameter(name: "coverage replicates", value: "\(count)", expected: "a positive integer, e.g. 2000")
        }
        let lock = NSLock()
        var outcomes = [CoverageReplicate?](repeating: nil, count: count)
        var firstError: Error?
        var next = 0, done = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
            while true {
                lock.lock()
                let i = next; next += 1
                let stop = firstError != nil
                lock.unlock()
                guard i < count, !stop else { return }
                do {
                    let r = try replicate(i)
                    lock.lock(); outcomes[i] = r; done += 1; let d = done; progress?(d); lock.unlock()
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                }
            }
        }
        if let firstError { throw firstError }
        return Self.summarise(outcomes.map { $0! }, scenario: scenario, bootstrapReplicates: bootstrapReplicates)
    }

    /// Tallies replicates in index order.
    public static func summarise(_ replicates: [CoverageReplicate], scenario: BinormalScenario, bootstrapReplicates: Int) -> CoverageSummary {
        var tallies = Dictionary(uniqueKeysWithValues: StudiedInterval.allCases.map { ($0, CoverageTally()) })
        for r in replicates {
            for kind in StudiedInterval.allCases {
                // Without a population value (no threshold) the interval is unavailable.
                tallies[kind]!.add(r.truths[kind] == nil ? nil : r.intervals[kind], truth: r.truths[kind] ?? .nan)
            }
        }
        let patients = replicates.reduce(0) { $0 + $1.patients }
        return CoverageSummary(scenario: scenario, replicates: replicates.count, bootstrapReplicates: bootstrapReplicates,
                               meanPatients: Double(patients) / Double(max(1, replicates.count)),
                               testSetsWithOneClass: replicates.filter(\.testSetHadOneClass).count,
                               validationSetsWithOneClass: replicates.filter(\.validationSetHadOneClass).count, tallies: tallies)
    }
}
