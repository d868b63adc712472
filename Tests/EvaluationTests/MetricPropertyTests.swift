import Foundation
import SonoKitTestSupport
import XCTest
@testable import Evaluation
import SonoKitCore

/// Properties every implementation of these metrics must have, checked on hand-computable cases
/// and on random data (seeded, so a failure reproduces).
final class MetricPropertyTests: XCTestCase {
    /// Random two-class outcomes with ties (scores rounded to 2 decimals).
    func randomOutcomes(_ generator: inout SplitMix64, count: Int = 60) throws -> BinaryOutcomes {
        var labels = (0..<count).map { _ in generator.uniform(below: 3) == 0 }
        labels[0] = true; labels[1] = false
        let scores = labels.map { y -> Double in
            let u = Double(generator.uniform(below: 1000)) / 1000
            return ((y ? 0.25 : 0) + 0.75 * u).rounded(toPlaces: 2)
        }
        return try BinaryOutcomes(labels: labels, scores: scores)
    }

    // MARK: Hand-computed AUC. pos {0.8, 0.4}, neg {0.6, 0.4, 0.2}: pairs with s⁺ > s⁻ = 4, ties = 1 (0.4 vs 0.4), s⁺ < s⁻ = 1
    // AUC = (4 + ½·1) / 6 = 3/4
    func testAUCByHand() throws {
        let o = try BinaryOutcomes(labels: [true, false, true, false, false], scores: [0.8, 0.6, 0.4, 0.4, 0.2])
        XCTAssertEqual(ROC.auc(o), 0.75, accuracy: 1e-15)
    }

    // MARK: Ties count one half: all scores equal ⇒ AUC = ½; one tied pair among P·N = 1 ⇒ AUC = ½
    func testTiesCountOneHalf() throws {
        let allTied = try BinaryOutcomes(labels: [true, false, true, false, false], scores: [0.3, 0.3, 0.3, 0.3, 0.3])
        XCTAssertEqual(ROC.auc(allTied), 0.5)
        let onePair = try BinaryOutcomes(labels: [true, false], scores: [0.7, 0.7])
        XCTAssertEqual(ROC.auc(onePair), 0.5)
        // Breaking the tie upwards adds exactly ½ / (P N) per pair.
        let broken = try BinaryOutcomes(labels: [true, false, false], scores: [0.7, 0.7, 0.1])
        XCTAssertEqual(ROC.auc(broken), (1 + 0.5) / 2)
    }

    // MARK: AUC(f(s)) = AUC(s) for strictly increasing f (exp, logit, affine, cube)
    func testAUCIsInvariantUnderMonotoneTransforms() throws {
        var g = SplitMix64(seed: 11)
        let transforms: [(String, (Double) -> Double)] = [("exp", { exp(5 * $0) }), ("logit", { log(($0 + 0.01) / (1.01 - $0)) }),
                                                          ("affine", { 3 * $0 - 7 }), ("cube", { $0 * $0 * $0 })]
        for _ in 0..<20 {
            let o = try randomOutcomes(&g)
            for (name, f) in transforms {
                let t = try BinaryOutcomes(labels: o.labels, scores: o.scores.map(f))
                XCTAssertEqual(ROC.auc(t), ROC.auc(o), accuracy: 1e-14, name)
                XCTAssertEqual(try DeLong.variance(t), try DeLong.variance(o), accuracy: 1e-14, name)
                XCTAssertEqual(PrecisionRecall.averagePrecision(t), PrecisionRecall.averagePrecision(o), accuracy: 1e-14, name)
            }
        }
    }

    // MARK: Swapping the labels gives 1 - AUC (and the same DeLong variance)
    func testSwappingLabelsGivesOneMinusAUC() throws {
        var g = SplitMix64(seed: 12)
        for _ in 0..<20 {
            let o = try randomOutcomes(&g)
            let swapped = try BinaryOutcomes(labels: o.labels.map { !$0 }, scores: o.scores)
            XCTAssertEqual(ROC.auc(swapped), 1 - ROC.auc(o), accuracy: 1e-14)
            XCTAssertEqual(try DeLong.variance(swapped), try DeLong.variance(o), accuracy: 1e-14)
        }
    }

    // MARK: Trapezoidal area under ROC.curve = Mann-Whitney AUC
    func testAreaUnderCurveEqualsMannWhitney() throws {
        var g = SplitMix64(seed: 13)
        for _ in 0..<20 {
            let o = try randomOutcomes(&g)
            let c = ROC.curve(o)
            var area = 0.0
            for k in 1..<c.count {
                area += (c[k].falsePositiveRate - c[k - 1].falsePositiveRate) * (c[k].truePositiveRate + c[k - 1].truePositiveRate) / 2
            }
            XCTAssertEqual(area, ROC.auc(o), accuracy: 1e-14)
            XCTAssertEqual(c.last!.falsePositiveRate, 1); XCTAssertEqual(c.last!.truePositiveRate, 1)
        }
    }

    // MARK: Each interval contains its estimate: Wilson, DeLong (both scales), bootstrap percentile
    func testEveryIntervalContainsItsEstimate() throws {
        for n in [1, 2, 5, 17, 100] {
            for k in 0...n {
                let ci = try Wilson.interval(successes: k, trials: n)
                XCTAssertTrue(ci.contains(Double(k) / Double(n)), "wilson \(k)/\(n)")
                XCTAssertGreaterThanOrEqual(ci.lower, 0); XCTAssertLessThanOrEqual(ci.upper, 1)
                XCTAssertLessThan(ci.lower, ci.upper, "Wilson is never a point")
            }
        }
        var g = SplitMix64(seed: 14)
        for round in 0..<10 {
            let o = try randomOutcomes(&g)
            let auc = ROC.auc(o)
            for scale in DeLongIntervalScale.allCases {
                let ci = try DeLong.interval(o, scale: scale).interval
                XCTAssertTrue(ci.contains(auc), "delong \(scale) round \(round)")
                XCTAssertGreaterThanOrEqual(ci.lower, 0); XCTAssertLessThanOrEqual(ci.upper, 1)
            }
            let samples = zip(o.labels, o.scores).enumerated().map {
                ScoredSample(key: "\($0.offset)", group: "p\($0.offset / 2)", isPositive: $0.element.0, score: $0.element.1)
            }
            let boot = try PatientBootstrap(replicates: 300, seed: UInt64(round)).aucInterval(samples).interval
            XCTAssertTrue(boot.contains(auc), "bootstrap round \(round): \(boot) vs \(auc)")
        }
    }

    // MARK: Logit interval stays inside (0, 1) where Wald is clipped at 1
    func testLogitIntervalRespectsTheUpperBound() throws {
        // AUC = 24/25 with n = 10: the Wald interval runs past 1 and is clipped; the logit one does not reach 1.
        let o = try BinaryOutcomes(labels: [true, true, true, true, true, false, false, false, false, false],
                                   scores: [0.9, 0.8, 0.7, 0.6, 0.35, 0.5, 0.3, 0.2, 0.1, 0.05])
        let wald = try DeLong.interval(o, scale: .wald).interval
        let logit = try DeLong.interval(o, scale: .logit).interval
        XCTAssertEqual(wald.upper, 1)
        XCTAssertLessThan(logit.upper, 1)
        XCTAssertGreaterThan(logit.lower, 0)
    }

    // MARK: Perfect separation: AUC 1, DeLong variance 0, interval the point [1, 1]
    func testPerfectSeparationGivesAPointInterval() throws {
        let o = try BinaryOutcomes(labels: [false, false, true, true], scores: [0.1, 0.2, 0.8, 0.9])
        XCTAssertEqual(ROC.auc(o), 1)
        XCTAssertEqual(try DeLong.variance(o), 0)
        let ci = try DeLong.interval(o).interval
        XCTAssertEqual(ci.lower, 1); XCTAssertEqual(ci.upper, 1)
    }

    // MARK: Bootstrap is a function of (data, seed): same seed same interval, input order irrelevant
    func testBootstrapIsDeterministicPerSeed() throws {
        var g = SplitMix64(seed: 15)
        let o = try randomOutcomes(&g, count: 80)
        let samples = zip(o.labels, o.scores).enumerated().map {
            ScoredSample(key: "\($0.offset)", group: "p\($0.offset % 30)", isPositive: $0.element.0, score: $0.element.1)
        }
        let a = try PatientBootstrap(replicates: 200, seed: 99).aucInterval(samples)
        let b = try PatientBootstrap(replicates: 200, seed: 99).aucInterval(samples)
        let shuffled = try PatientBootstrap(replicates: 200, seed: 99).aucInterval(samples.reversed())
        let other = try PatientBootstrap(replicates: 200, seed: 100).aucInterval(samples)
        XCTAssertEqual(a.interval, b.interval)
        XCTAssertEqual(a.interval, shuffled.interval, "patients are sorted, so input order must not matter")
        XCTAssertNotEqual(a.interval, other.interval, "another seed draws other replicates")
    }

    // MARK: Bootstrap resamples patients: one patient's studies always travel together
    func testBootstrapResamplesPatientsNotStudies() throws {
        // Two patients, each with 1 positive and 1 negative study; any replicate has both classes,
        // and its size is always 4 (two patients drawn), never a mix of single studies.
        let samples = [ScoredSample(key: "a1", group: "A", isPositive: true, score: 0.9),
                       ScoredSample(key: "a2", group: "A", isPositive: false, score: 0.2),
                       ScoredSample(key: "b1", group: "B", isPositive: true, score: 0.4),
                       ScoredSample(key: "b2", group: "B", isPositive: false, score: 0.6)]
        var sizes = Set<Int>()
        var aucs = Set<Double>()
        let summary = try PatientBootstrap(replicates: 50, seed: 3).forEachReplicate(samples) { o in
            sizes.insert(o.count); aucs.insert(ROC.auc(o))
        }
        XCTAssertEqual(sizes, [4])
        XCTAssertEqual(summary.skipped, 0)
        // AA: 1, BB: 0, AB: ¾ (a1 > a2, b2; b1 > a2, b1 < b2) — only patient-level mixtures occur.
        XCTAssertEqual(aucs, [1, 0, 0.75])
    }

    // MARK: SplitMix64 known answer (seed 0: first output 0xE220A8397B1DCDAF, Vigna's reference C code)
    func testSplitMix64KnownAnswer() {
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        var h = SplitMix64(seed: 1)
        for _ in 0..<1000 { XCTAssertLessThan(h.uniform(below: 7), 7) }
    }

    // MARK: Brier of the constant prevalence π is π(1 - π); ECE of a perfectly calibrated binned set is 0
    func testCalibrationByHand() throws {
        let labels = [true, false, false, false]
        let o = try BinaryOutcomes(labels: labels, scores: [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(try Calibration.brierScore(o), 0.25 * 0.75, accuracy: 1e-15)
        XCTAssertEqual(try Calibration.expectedCalibrationError(o), 0, accuracy: 1e-15)
        let bins = try Calibration.reliabilityBins(o, binCount: 15)
        XCTAssertEqual(bins.count, 15)
        XCTAssertEqual(bins.reduce(0) { $0 + $1.count }, 4)
        XCTAssertEqual(bins.filter { $0.count > 0 }.count, 1)
        XCTAssertNil(bins[0].meanConfidence, "empty bins report no mean")
        // Log loss of p = y exactly is clipped, not zero-divided: finite and tiny.
        let sure = try BinaryOutcomes(labels: [true, false], scores: [1, 0])
        XCTAssertLessThan(try Calibration.logLoss(sure), 1e-15)
        let wrong = try BinaryOutcomes(labels: [true, false], scores: [0, 1])
        XCTAssertEqual(try Calibration.logLoss(wrong), -log(Double.ulpOfOne), accuracy: 1e-9)
    }

    // MARK: MCC: symmetric in the classes; undefined (nil) for a constant decision
    func testMatthewsCorrelationSymmetryAndUndefinedCase() throws {
        let c = ConfusionCounts(truePositives: 7, falsePositives: 3, trueNegatives: 11, falseNegatives: 2)
        let swapped = ConfusionCounts(truePositives: 11, falsePositives: 2, trueNegatives: 7, falseNegatives: 3)
        let m = try ThresholdMetrics(c, threshold: 0.5), s = try ThresholdMetrics(swapped, threshold: 0.5)
        XCTAssertEqual(m.matthewsCorrelation!, s.matthewsCorrelation!, accuracy: 1e-15)
        XCTAssertEqual(m.balancedAccuracy, s.balancedAccuracy, accuracy: 1e-15)
        let constant = try ThresholdMetrics(ConfusionCounts(truePositives: 4, falsePositives: 6, trueNegatives: 0, falseNegatives: 0), threshold: 0)
        XCTAssertNil(constant.matthewsCorrelation)
        XCTAssertNil(constant.negativePredictiveValue)
        XCTAssertEqual(constant.balancedAccuracy, 0.5)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let f = pow(10, Double(places))
        return (self * f).rounded() / f
    }
}

final class ROCBandSweepTests: XCTestCase {
    // MARK: The one-sweep TPR*(x) = max{TPR : FPR <= x} equals the plain per-point definition
    func testSweepEqualsPlainDefinition() throws {
        var g = SplitMix64(seed: 21)
        for _ in 0..<10 {
            let labels = (0..<50).map { i in i < 2 ? i == 0 : g.uniform(below: 2) == 0 }
            let o = try BinaryOutcomes(labels: labels, scores: labels.map { _ in Double(g.uniform(below: 20)) / 20 })
            let curve = ROC.curve(o)
            let grid = stride(from: 0.0, through: 1.0, by: 0.01).map { $0 }
            let plain = grid.map { x in curve.filter { $0.falsePositiveRate <= x + 1e-12 }.map(\.truePositiveRate).max() ?? 0 }
            XCTAssertEqual(ROC.truePositiveRates(atFalsePositiveRates: grid, curve: curve), plain)
        }
    }
}

final class WeightedBootstrapTests: XCTestCase {
    // MARK: The multiplicity fast path equals materialising every replicate (same draws, same AUCs, same band)
    func testFastPathEqualsMaterialisedReplicates() throws {
        let samples = SampleData.frames(split: "test", seed: 9).map(\.sample)
        let bootstrap = PatientBootstrap(replicates: 150, seed: 4)
        let fast = try bootstrap.aucInterval(samples)
        let plain = try bootstrap.interval(samples, statistic: ROC.auc)
        XCTAssertEqual(fast.summary, plain.summary)
        XCTAssertEqual(fast.interval.lower, plain.interval.lower, accuracy: 1e-12)
        XCTAssertEqual(fast.interval.upper, plain.interval.upper, accuracy: 1e-12)
        let grid = stride(from: 0.0, through: 1.0, by: 0.05).map { $0 }
        var columns = [[Double]](repeating: [], count: grid.count)
        _ = try bootstrap.forEachReplicate(samples) { o in
            for (k, r) in ROC.truePositiveRates(atFalsePositiveRates: grid, curve: ROC.curve(o)).enumerated() { columns[k].append(r) }
        }
        let band = try bootstrap.rocBand(samples, grid: grid).band
        for k in grid.indices {
            let ci = bootstrap.percentileInterval(columns[k])
            XCTAssertEqual(band[k].lowerTruePositiveRate, ci.lower, accuracy: 1e-12)
            XCTAssertEqual(band[k].upperTruePositiveRate, ci.upper, accuracy: 1e-12)
        }
    }
}
