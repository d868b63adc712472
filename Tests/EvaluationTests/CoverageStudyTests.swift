@testable import Evaluation
import SonoKitCore
import XCTest

/// The coverage study (Sources/Evaluation/Validity): its simulated sets have the population values
/// it claims, and SonoKit's intervals cover them about 95% of the time. The full study (thousands
/// of replicates per scenario) is `scripts/validity/coverage`; these run in seconds with few
/// replicates and a small bootstrap, with bounds about four Monte Carlo standard errors wide.
final class CoverageStudyTests: XCTestCase {
    // MARK: The simulated sets

    /// AUC = Φ(μ/√(1 + σ²)) and sensitivity/specificity at a threshold: a wrong μ (say μ = Φ⁻¹(AUC)
    /// without the √(1 + σ²)) or a wrong σ makes the empirical values of a large set miss.
    func testALargeSetHasThePopulationValues() throws {
        let scenario = BinormalScenario(name: "large", studies: 40_000, prevalence: 0.4, correlation: 0.6, auc: 0.8,
                                        positiveStandardDeviation: 1.7)
        var generator = SplitMix64(seed: 7)
        let samples = scenario.draw(&generator)
        let outcomes = try BinaryOutcomes(samples)
        // Standard error of the AUC at this size is about 0.003 (clustering included).
        XCTAssertEqual(ROC.auc(outcomes), 0.8, accuracy: 0.012)
        XCTAssertEqual(Double(outcomes.positives) / Double(outcomes.count), 0.4, accuracy: 0.01)
        for t in [0.3, 0.6, 0.9] {
            let metrics = try ThresholdMetrics(outcomes, threshold: t, confidenceLevel: 0.95)
            XCTAssertEqual(metrics.sensitivity.value, scenario.sensitivity(atThreshold: t), accuracy: 0.015, "t = \(t)")
            XCTAssertEqual(metrics.specificity.value, scenario.specificity(atThreshold: t), accuracy: 0.015, "t = \(t)")
        }
        // Patients have 1-3 studies, 2 on average.
        XCTAssertEqual(Double(samples.count) / Double(Set(samples.map(\.group)).count), 2, accuracy: 0.05)
    }

    /// Two studies of one patient have latent correlation ρ (here two negatives, per-patient labels).
    func testStudiesOfAPatientAreCorrelatedByRho() {
        let scenario = BinormalScenario(name: "pairs", studies: 40_000, prevalence: 0.01, correlation: 0.7,
                                        studiesPerPatient: 2...2, labels: .perPatient)
        var generator = SplitMix64(seed: 11)
        let samples = scenario.draw(&generator)
        var x: [Double] = [], y: [Double] = []
        for pair in stride(from: 0, to: samples.count - 1, by: 2) where !samples[pair].isPositive {
            XCTAssertEqual(samples[pair].group, samples[pair + 1].group)
            XCTAssertFalse(samples[pair + 1].isPositive)
            x.append(log(samples[pair].score / (1 - samples[pair].score)))
            y.append(log(samples[pair + 1].score / (1 - samples[pair + 1].score)))
        }
        let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        let sxy = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / n
        let sx = (x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) } / n).squareRoot()
        let sy = (y.reduce(0) { $0 + ($1 - my) * ($1 - my) } / n).squareRoot()
        XCTAssertEqual(mx, 0, accuracy: 0.03)
        XCTAssertEqual(sx, 1, accuracy: 0.03)
        XCTAssertEqual(sxy / (sx * sy), 0.7, accuracy: 0.02)
    }

    /// Standard normal draws: mean 0, variance 1, P(Z ≤ 1.96) = Φ(1.96).
    func testStandardNormalMoments() {
        var generator = SplitMix64(seed: 3)
        let z = (0..<100_000).map { _ in generator.standardNormal() }
        let mean = z.reduce(0, +) / 1e5
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(z.reduce(0) { $0 + $1 * $1 } / 1e5, 1, accuracy: 0.015)
        XCTAssertEqual(Double(z.filter { $0 <= 1.96 }.count) / 1e5, standardNormalCDF(1.96), accuracy: 0.002)
        XCTAssertEqual(standardNormalCDF(1.959963984540054), 0.975, accuracy: 1e-12)
    }

    /// A replicate depends only on (seed, index), so the result is the same on any number of threads.
    func testDeterministicWhateverTheThreads() throws {
        let study = CoverageStudy(scenario: BinormalScenario(name: "d", studies: 30, prevalence: 0.4, correlation: 0.5),
                                  bootstrapReplicates: 50, seed: 99)
        XCTAssertEqual(try study.run(replicates: 12, threads: 1), try study.run(replicates: 12, threads: 2))
        XCTAssertEqual(try study.replicate(5).intervals, try study.replicate(5).intervals)
    }

    // MARK: Coverage

    /// Unclustered data (one study per patient): DeLong, the bootstrap and Wilson all near 95%.
    /// A DeLong variance missing a factor of 2 covers about 83% here, a Wald interval with the
    /// wrong z (1.645) about 90% on the AUC, both below the bound.
    func testIntervalsCoverNinetyFivePercentWithoutClustering() throws {
        let scenario = BinormalScenario(name: "independent", studies: 80, prevalence: 0.5, correlation: 0, studiesPerPatient: 1...1)
        let summary = try CoverageStudy(scenario: scenario, bootstrapReplicates: 200, seed: 1).run(replicates: 300, threads: 2)
        for kind in StudiedInterval.allCases {
            let t = summary.tallies[kind]!
            XCTAssertEqual(t.unavailable, 0, "\(kind)")
            XCTAssertGreaterThanOrEqual(t.coverage!, kind == .bootstrapAUC ? 0.895 : 0.905, "\(kind)")
            XCTAssertLessThanOrEqual(t.coverage!, 0.99, "\(kind)")
        }
    }

    /// Strong clustering (30 patients of 3 studies sharing a label, ρ = 0.9): the patient bootstrap
    /// and the cluster-aware DeLong interval still cover; a bootstrap over studies (what resampling
    /// studies as if independent gives) and DeLong's variance over independent studies do not —
    /// the check that would catch an interval ignoring the patient.
    func testPatientBootstrapCoversUnderStrongClusteringAndAStudyBootstrapDoesNot() throws {
        let scenario = BinormalScenario(name: "clustered", studies: 90, prevalence: 0.5, correlation: 0.9,
                                        studiesPerPatient: 3...3, labels: .perPatient)
        let study = CoverageStudy(scenario: scenario, bootstrapReplicates: 200, seed: 2)
        let replicates = 200
        let summary = try study.run(replicates: replicates, threads: 2)
        XCTAssertGreaterThanOrEqual(summary.tallies[.bootstrapAUC]!.coverage!, 0.86)
        // DeLong as reported (cluster-aware over patients) covers; DeLong over independent studies does not.
        XCTAssertGreaterThanOrEqual(summary.tallies[.delongAUC]!.coverage!, 0.89)
        XCTAssertLessThan(summary.tallies[.independentDeLongAUC]!.coverage!, 0.85)

        var overStudies = CoverageTally()
        for i in 0..<replicates {
            var generator = study.generator(forReplicate: i)
            _ = scenario.draw(&generator)
            let test = scenario.draw(&generator).map { ScoredSample(key: $0.key, group: $0.key, isPositive: $0.isPositive, score: $0.score) }
            let bootstrap = PatientBootstrap(replicates: 200, seed: generator.next())
            overStudies.add(try? bootstrap.aucInterval(test).interval, truth: scenario.auc)
        }
        XCTAssertLessThan(overStudies.coverage!, 0.80)
    }
}
