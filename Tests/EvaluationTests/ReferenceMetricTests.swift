import Foundation
import XCTest
@testable import Evaluation
import SonoKitCore

/// Every metric against the committed reference fixtures (scikit-learn 1.9, statsmodels, scipy,
/// the roc_comparison DeLong algorithm, a bootstrap replayed in Python). Regenerate the fixtures
/// with scripts/fixtures/evaluation/make_metric_fixtures.py. Tolerances are 1e-12 for quantities
/// computed by the same formula (rounding only), larger only where stated.
final class ReferenceMetricTests: XCTestCase {
    static let fixtures = Result { try MetricFixtures.load() }
    let tight = 1e-12

    func cases() throws -> [MetricFixtures.Case] {
        let cases = try Self.fixtures.get().cases
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        return cases
    }

    // MARK: AUC = (1/PN) Σ ψ(s⁺, s⁻), ties ½ — sklearn roc_auc_score; ROC points — sklearn roc_curve
    func testAUCAndROCCurveMatchScikitLearn() throws {
        let ledger = DifferenceLedger()
        for c in try cases() {
            let o = try c.outcomes()
            ledger.check("auc", ROC.auc(o), c.auc, tolerance: tight, c.name)
            let curve = ROC.curve(o)
            XCTAssertEqual(curve.count, c.roc.fpr!.count, "\(c.name): ROC point count")
            for (k, point) in curve.enumerated() where k < c.roc.fpr!.count {
                XCTAssertEqual(point.threshold, c.roc.thresholds[k], "\(c.name): ROC threshold \(k)")
                ledger.check("roc fpr", point.falsePositiveRate, c.roc.fpr![k], tolerance: tight, c.name)
                ledger.check("roc tpr", point.truePositiveRate, c.roc.tpr![k], tolerance: tight, c.name)
            }
        }
        ledger.report("AUC/ROC vs scikit-learn")
    }

    // MARK: PR curve and AP = Σ (R_k - R_{k-1}) P_k — sklearn precision_recall_curve / average_precision_score
    func testPrecisionRecallAndAveragePrecisionMatchScikitLearn() throws {
        let ledger = DifferenceLedger()
        for c in try cases() {
            let o = try c.outcomes()
            ledger.check("average precision", PrecisionRecall.averagePrecision(o), c.averagePrecision, tolerance: tight, c.name)
            let curve = PrecisionRecall.curve(o)
            XCTAssertEqual(curve.count, c.pr.precision!.count, "\(c.name): PR point count")
            for (k, point) in curve.enumerated() where k < c.pr.precision!.count {
                XCTAssertEqual(point.threshold, c.pr.thresholds[k], "\(c.name): PR threshold \(k)")
                ledger.check("pr precision", point.precision, c.pr.precision![k], tolerance: tight, c.name)
                ledger.check("pr recall", point.recall, c.pr.recall![k], tolerance: tight, c.name)
            }
        }
        ledger.report("PR/AP vs scikit-learn")
    }

    // MARK: DeLong Var = S₁₀/P + S₀₁/N — roc_comparison fastDeLong; intervals with scipy's z
    func testDeLongVarianceAndIntervalsMatchTheReference() throws {
        let ledger = DifferenceLedger()
        ledger.check("z(0.975)", try criticalValue(confidenceLevel: 0.95), try cases()[0].delong.z, tolerance: 1e-15, "normal quantile")
        for c in try cases() {
            let o = try c.outcomes()
            ledger.check("delong variance", try DeLong.variance(o), c.delong.variance, tolerance: tight, c.name)
            let wald = try DeLong.interval(o, scale: .wald).interval
            ledger.check("delong wald lower", wald.lower, c.delong.wald[0], tolerance: tight, c.name)
            ledger.check("delong wald upper", wald.upper, c.delong.wald[1], tolerance: tight, c.name)
            let logit = try DeLong.interval(o).interval
            XCTAssertEqual(logit.method, "delong-logit")
            ledger.check("delong logit lower", logit.lower, c.delong.logit[0], tolerance: tight, c.name)
            ledger.check("delong logit upper", logit.upper, c.delong.logit[1], tolerance: tight, c.name)
        }
        ledger.report("DeLong vs roc_comparison + scipy")
    }

    // MARK: Confusion-table metrics — sklearn; Wilson intervals — statsmodels proportion_confint(method="wilson")
    func testThresholdMetricsMatchScikitLearnAndStatsmodels() throws {
        let ledger = DifferenceLedger()
        for c in try cases() {
            let o = try c.outcomes()
            for ref in c.atThreshold {
                let context = "\(c.name) at \(ref.threshold)"
                let m = try ThresholdMetrics(o, threshold: ref.threshold)
                XCTAssertEqual(m.confusion, ConfusionCounts(truePositives: ref.confusion.tp, falsePositives: ref.confusion.fp,
                                                            trueNegatives: ref.confusion.tn, falseNegatives: ref.confusion.fn), context)
                func compare(_ name: String, _ mine: Proportion?, _ theirs: MetricFixtures.Proportion?) {
                    XCTAssertEqual(mine == nil, theirs == nil, "\(context): \(name) defined?")
                    guard let mine, let theirs else { return }
                    XCTAssertEqual(mine.numerator, theirs.numerator, "\(context): \(name) numerator")
                    XCTAssertEqual(mine.denominator, theirs.denominator, "\(context): \(name) denominator")
                    ledger.check("proportion value", mine.value, theirs.value, tolerance: tight, "\(context) \(name)")
                    ledger.check("wilson lower", mine.interval.lower, theirs.interval[0], tolerance: tight, "\(context) \(name)")
                    ledger.check("wilson upper", mine.interval.upper, theirs.interval[1], tolerance: tight, "\(context) \(name)")
                }
                compare("sensitivity", m.sensitivity, ref.sensitivity)
                compare("specificity", m.specificity, ref.specificity)
                compare("ppv", m.positivePredictiveValue, ref.ppv)
                compare("npv", m.negativePredictiveValue, ref.npv)
                compare("accuracy", m.accuracy, ref.accuracy)
                ledger.check("accuracy (sklearn)", m.accuracy.value, ref.accuracySklearn, tolerance: tight, context)
                ledger.check("balanced accuracy", m.balancedAccuracy, ref.balancedAccuracy, tolerance: tight, context)
                ledger.check("f1", m.f1, ref.f1, tolerance: tight, context)
                ledger.check("mcc", m.matthewsCorrelation, ref.mcc, tolerance: tight, context)
            }
        }
        ledger.report("Threshold metrics vs scikit-learn/statsmodels")
    }

    // MARK: Brier = mean (p - y)², log loss (clipped at ε), reliability bins and ECE — sklearn
    func testCalibrationMatchesScikitLearn() throws {
        let ledger = DifferenceLedger()
        for c in try cases() {
            let o = try c.outcomes()
            ledger.check("brier", try Calibration.brierScore(o), c.brier, tolerance: tight, c.name)
            ledger.check("log loss", try Calibration.logLoss(o), c.logLoss, tolerance: 1e-12, c.name)
            for ref in c.calibration ?? [] {
                let bins = try Calibration.reliabilityBins(o, binCount: ref.bins)
                XCTAssertEqual(bins.map(\.count), ref.counts, "\(c.name): counts in \(ref.bins) bins")
                for (k, bin) in bins.enumerated() {
                    ledger.check("bin mean confidence", bin.meanConfidence, ref.meanConfidence[k], tolerance: tight, "\(c.name) bin \(k)/\(ref.bins)")
                    ledger.check("bin observed frequency", bin.observedFrequency, ref.observedFrequency[k], tolerance: tight, "\(c.name) bin \(k)/\(ref.bins)")
                }
                ledger.check("ece", Calibration.expectedCalibrationError(bins: bins), ref.ece, tolerance: tight, "\(c.name) \(ref.bins) bins")
            }
        }
        ledger.report("Calibration vs scikit-learn")
    }

    // MARK: Threshold rules — brute force over every candidate in the script
    func testThresholdRulesMatchBruteForce() throws {
        func reference(_ c: MetricFixtures.Case, _ key: String) -> Double? {
            c.thresholds[key] ?? c.thresholds[key.replacingOccurrences(of: "_", with: "")]
        }
        for c in try cases() {
            let o = try c.outcomes()
            let rules: [(String, ThresholdRule)] = [("youden", .youden), ("sensitivity_0.9", .targetSensitivity(0.9)),
                                                    ("sensitivity_0.8", .targetSensitivity(0.8)),
                                                    ("specificity_0.9", .targetSpecificity(0.9)),
                                                    ("specificity_1.0", .targetSpecificity(1.0))]
            for (key, rule) in rules {
                let choice = try ThresholdChoice.fit(rule, on: o, split: "validation", level: .study)
                XCTAssertEqual(choice.value, reference(c, key), "\(c.name): \(key)")
            }
        }
    }

    // MARK: Patient bootstrap replayed draw for draw (SplitMix64 + Lemire, sklearn AUC, numpy percentile)
    func testPatientBootstrapMatchesTheReplayedReference() throws {
        let ledger = DifferenceLedger()
        var checked = 0
        for c in try cases() {
            guard let ref = c.bootstrap else { continue }
            checked += 1
            let bootstrap = PatientBootstrap(replicates: ref.replicates, seed: ref.seed)
            let (interval, summary) = try bootstrap.aucInterval(c.samples())
            XCTAssertEqual(summary.used, ref.used, c.name)
            XCTAssertEqual(summary.skipped, ref.skipped, c.name)
            ledger.check("bootstrap auc lower", interval.lower, ref.aucInterval[0], tolerance: tight, c.name)
            ledger.check("bootstrap auc upper", interval.upper, ref.aucInterval[1], tolerance: tight, c.name)
            if let grid = ref.bandGrid {
                let (band, _) = try bootstrap.rocBand(c.samples(), grid: grid)
                for (k, point) in band.enumerated() {
                    ledger.check("roc band lower", point.lowerTruePositiveRate, ref.bandLower![k], tolerance: tight, "\(c.name) fpr \(grid[k])")
                    ledger.check("roc band upper", point.upperTruePositiveRate, ref.bandUpper![k], tolerance: tight, "\(c.name) fpr \(grid[k])")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 3)
        ledger.report("Patient bootstrap vs Python replay")
    }
}
