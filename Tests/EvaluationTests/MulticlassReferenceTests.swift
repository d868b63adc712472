import Foundation
import SonoKitCore
import XCTest
@testable import Evaluation

/// The reference values written by scripts/fixtures/evaluation/make_multiclass_fixtures.py
/// (scikit-learn 1.9, statsmodels, the numpy DeLong/Obuchowski re-implementations, a replayed
/// bootstrap).
struct MulticlassFixtures: Decodable {
    struct Proportion: Decodable { var numerator: Int; var denominator: Int; var value: Double; var interval: [Double] }
    struct Curve: Decodable { var thresholds: [Double?]; var fpr: [Double]; var tpr: [Double] }
    struct Reliability: Decodable {
        var bins: Int; var counts: [Int]; var meanConfidence: [Double?]; var observedFrequency: [Double?]; var ece: Double
    }
    struct PerClass: Decodable {
        var auc: Double
        var delongVariance: Double
        var delongInterval: [Double]
        var delongMethod: String
        var sensitivity: Proportion
        var specificity: Proportion
        var ppv: Proportion?
        var f1: Double
        var roc: Curve
        var brier: Double
        var calibration: Reliability
    }
    struct Bootstrap: Decodable {
        var seed: UInt64; var replicates: Int; var used: Int; var skipped: Int; var macroInterval: [Double]; var weightedInterval: [Double]
    }
    struct ThresholdMoving: Decodable {
        var thresholds: [Double]; var decided: [Int]; var confusion: [[Int]]; var accuracy: Double; var balancedAccuracy: Double
        var f1Macro: Double; var kappa: Double; var kappaQuadratic: Double
    }
    struct Case: Decodable {
        var name: String
        var thresholdMoving: ThresholdMoving?
        var classes: Int
        var ordinal: Bool
        var labels: [Int]
        var probabilities: [[Double]]
        var groups: [String]
        var aucMacro: Double
        var aucWeighted: Double
        var confusion: [[Int]]
        var confusionNormalized: [[Double]]
        var accuracy: Double
        var accuracyWilson: Proportion
        var balancedAccuracy: Double
        var f1Macro: Double
        var kappa: Double
        var kappaQuadratic: Double
        var logLoss: Double
        var brier: Double
        var perClass: [PerClass]
        var top2Accuracy: Double?
        var top2Wilson: Proportion?
        var bootstrap: Bootstrap?

        var classNames: [String] { (0..<classes).map { "c\($0)" } }
        func samples() -> [MulticlassSample] {
            labels.indices.map { MulticlassSample(key: "\(name)-\($0)", group: groups[$0], trueClass: labels[$0], probabilities: probabilities[$0]) }
        }
        func outcomes() throws -> MulticlassOutcomes { try MulticlassOutcomes(samples(), classCount: classes, what: name) }
    }
    struct Aggregation: Decodable {
        struct Frame: Decodable { var study: String; var probabilities: [Double] }
        struct Study: Decodable { var study: String; var mean: [Double]; var max: [Double]; var vote: [Double] }
        var frames: [Frame]
        var studies: [Study]
    }
    var versions: [String: String]
    var cases: [Case]
    var aggregation: Aggregation

    static func load() throws -> MulticlassFixtures {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(MulticlassFixtures.self, from: Data(contentsOf: fixtureURL("multiclass_cases.json")))
    }
}

final class MulticlassReferenceTests: XCTestCase {
    let tolerance = 1e-12

    func settings(replicates: Int = 0, seed: UInt64 = 1) -> MulticlassEvaluationSettings {
        MulticlassEvaluationSettings(bootstrapReplicates: replicates, bootstrapSeed: seed)
    }

    func level(_ c: MulticlassFixtures.Case, replicates: Int = 0, seed: UInt64 = 1) throws -> MulticlassLevelResult {
        try MulticlassEvaluator(settings(replicates: replicates, seed: seed))
            .evaluate(c.samples(), classes: c.classNames, ordinal: c.ordinal, level: .study, split: "test")
    }

    func assertProportion(_ p: Proportion?, _ r: MulticlassFixtures.Proportion?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let r else { XCTAssertNil(p, "\(what): scikit-learn/statsmodels say undefined", file: file, line: line); return }
        guard let p else { XCTFail("\(what): nil, reference \(r.value)", file: file, line: line); return }
        XCTAssertEqual(p.numerator, r.numerator, what, file: file, line: line)
        XCTAssertEqual(p.denominator, r.denominator, what, file: file, line: line)
        XCTAssertEqual(p.interval.lower, r.interval[0], accuracy: 1e-12, "\(what) Wilson lower", file: file, line: line)
        XCTAssertEqual(p.interval.upper, r.interval[1], accuracy: 1e-12, "\(what) Wilson upper", file: file, line: line)
    }

    // MARK: The fixture covers what it claims: 3 and 4 classes, 2 classes, ties, a never-decided class, perfect, ordinal, bootstrap
    func testFixtureCoverage() throws {
        let f = try MulticlassFixtures.load()
        XCTAssertEqual(f.versions["scikit-learn"], "1.9.1")
        XCTAssertEqual(Set(f.cases.map(\.classes)), [2, 3, 4])
        XCTAssertTrue(f.cases.contains { c in c.confusion.indices.contains { k in c.confusion.allSatisfy { $0[k] == 0 } } }, "a class never decided")
        XCTAssertTrue(f.cases.contains { $0.aucMacro == 1 })
        XCTAssertTrue(f.cases.contains { $0.ordinal })
        XCTAssertGreaterThanOrEqual(f.cases.filter { $0.bootstrap != nil }.count, 3)
        XCTAssertTrue(f.cases.contains { $0.perClass.contains { $0.delongMethod == "delong-clustered-logit" } })
    }

    // MARK: Per-class one-vs-rest AUC, macro and weighted AUC = roc_auc_score(multi_class="ovr", average=None/"macro"/"weighted")
    func testAUCsMatchScikitLearn() throws {
        for c in try MulticlassFixtures.load().cases {
            let r = try level(c)
            for (k, ref) in c.perClass.enumerated() {
                XCTAssertEqual(r.perClass[k].auc.estimate, ref.auc, accuracy: tolerance, "\(c.name) class \(k) AUC")
                XCTAssertEqual(r.perClass[k].rocCurve.map(\.falsePositiveRate), ref.roc.fpr, "\(c.name) class \(k) ROC fpr")
                XCTAssertEqual(r.perClass[k].rocCurve.map(\.truePositiveRate), ref.roc.tpr, "\(c.name) class \(k) ROC tpr")
                XCTAssertEqual(r.perClass[k].rocCurve.map(\.threshold), ref.roc.thresholds, "\(c.name) class \(k) ROC thresholds")
            }
            XCTAssertEqual(r.macroAUC.estimate, c.aucMacro, accuracy: tolerance, "\(c.name) macro AUC")
            XCTAssertEqual(r.weightedAUC.estimate, c.aucWeighted, accuracy: tolerance, "\(c.name) weighted AUC")
        }
    }

    // MARK: Per-class DeLong (Obuchowski when a patient has several samples), logit interval, as the numpy references
    func testPerClassDeLongMatchesReference() throws {
        for c in try MulticlassFixtures.load().cases {
            let r = try level(c)
            for (k, ref) in c.perClass.enumerated() {
                let d = try XCTUnwrap(r.perClass[k].auc.delong, "\(c.name) class \(k)")
                XCTAssertEqual(d.interval.method, ref.delongMethod, "\(c.name) class \(k)")
                XCTAssertEqual(d.variance, ref.delongVariance, accuracy: 1e-12, "\(c.name) class \(k) variance")
                XCTAssertEqual(d.interval.lower, ref.delongInterval[0], accuracy: 1e-9, "\(c.name) class \(k) lower")
                XCTAssertEqual(d.interval.upper, ref.delongInterval[1], accuracy: 1e-9, "\(c.name) class \(k) upper")
            }
        }
    }

    // MARK: Confusion matrix (counts, normalize="true"), accuracy, balanced accuracy, macro F1, kappa, top-2, Brier, log loss
    func testDecisionAndProbabilityMetricsMatchScikitLearn() throws {
        for c in try MulticlassFixtures.load().cases {
            let r = try level(c)
            XCTAssertEqual(r.confusionMatrix.counts, c.confusion, c.name)
            for (row, ref) in zip(r.confusionMatrix.rowNormalized, c.confusionNormalized) {
                for (v, w) in zip(row, ref) { XCTAssertEqual(v, w, accuracy: tolerance, "\(c.name) normalised confusion") }
            }
            XCTAssertEqual(r.accuracy.value, c.accuracy, accuracy: tolerance, c.name)
            assertProportion(r.accuracy, c.accuracyWilson, "\(c.name) accuracy")
            XCTAssertEqual(r.balancedAccuracy, c.balancedAccuracy, accuracy: tolerance, "\(c.name) balanced accuracy")
            XCTAssertEqual(r.macroF1, c.f1Macro, accuracy: tolerance, "\(c.name) macro F1")
            XCTAssertEqual(r.kappa.weighting, c.ordinal ? .quadratic : KappaWeighting.none, c.name)
            XCTAssertEqual(try XCTUnwrap(r.kappa.value), c.ordinal ? c.kappaQuadratic : c.kappa, accuracy: 1e-12, "\(c.name) kappa")
            // Both weightings against scikit-learn, whatever the case's declaration.
            let m = MulticlassConfusionMatrix(try c.outcomes())
            XCTAssertEqual(try XCTUnwrap(MulticlassMetrics.cohenKappa(m, weighting: .none).value), c.kappa, accuracy: 1e-12, "\(c.name) kappa")
            XCTAssertEqual(try XCTUnwrap(MulticlassMetrics.cohenKappa(m, weighting: .quadratic).value), c.kappaQuadratic, accuracy: 1e-12,
                           "\(c.name) quadratic kappa")
            if let top2 = c.top2Accuracy {
                let t = try XCTUnwrap(r.topTwoAccuracy, c.name)
                XCTAssertEqual(t.value, top2, accuracy: tolerance, "\(c.name) top-2")
                assertProportion(t, c.top2Wilson, "\(c.name) top-2")
            } else {
                XCTAssertNil(r.topTwoAccuracy, "\(c.name): two classes, top-2 is always 1 and is not reported")
            }
            XCTAssertEqual(r.brierScore, c.brier, accuracy: tolerance, "\(c.name) Brier")
            XCTAssertEqual(r.logLoss, c.logLoss, accuracy: 1e-10, "\(c.name) log loss")
            for (k, ref) in c.perClass.enumerated() {
                XCTAssertEqual(r.perClass[k].f1, ref.f1, accuracy: tolerance, "\(c.name) class \(k) F1")
            }
        }
    }

    // MARK: Per-class sensitivity, specificity, PPV with Wilson intervals (statsmodels); PPV undefined for a class never decided
    func testPerClassProportionsMatchStatsmodels() throws {
        var sawUndefinedPPV = false
        for c in try MulticlassFixtures.load().cases {
            let r = try level(c)
            for (k, ref) in c.perClass.enumerated() {
                assertProportion(r.perClass[k].sensitivity, ref.sensitivity, "\(c.name) class \(k) sensitivity")
                assertProportion(r.perClass[k].specificity, ref.specificity, "\(c.name) class \(k) specificity")
                assertProportion(r.perClass[k].positivePredictiveValue, ref.ppv, "\(c.name) class \(k) PPV")
                if ref.ppv == nil {
                    sawUndefinedPPV = true
                    XCTAssertTrue(r.notes.contains { $0.contains("Class c\(k) against the rest") && $0.contains("PPV is undefined") }, "\(r.notes)")
                }
            }
        }
        XCTAssertTrue(sawUndefinedPPV)
    }

    // MARK: Class-wise calibration: one-vs-rest reliability bins and ECE = calibration_curve per class; one-vs-rest Brier
    func testClasswiseCalibrationMatchesScikitLearn() throws {
        for c in try MulticlassFixtures.load().cases {
            let r = try level(c)
            for (k, ref) in c.perClass.enumerated() {
                let cal = r.perClass[k].calibration
                XCTAssertEqual(cal.bins.map(\.count), ref.calibration.counts, "\(c.name) class \(k) bin counts")
                for (bin, (mean, observed)) in zip(cal.bins, zip(ref.calibration.meanConfidence, ref.calibration.observedFrequency)) {
                    XCTAssertEqual(bin.meanConfidence == nil, mean == nil)
                    if let a = bin.meanConfidence, let b = mean { XCTAssertEqual(a, b, accuracy: 1e-12) }
                    if let a = bin.observedFrequency, let b = observed { XCTAssertEqual(a, b, accuracy: 1e-12) }
                }
                XCTAssertEqual(cal.expectedCalibrationError, ref.calibration.ece, accuracy: 1e-12, "\(c.name) class \(k) ECE")
                XCTAssertEqual(cal.brierScore, ref.brier, accuracy: 1e-12, "\(c.name) class \(k) one-vs-rest Brier")
            }
        }
    }

    // MARK: Macro and weighted AUC bootstrap replayed draw for draw: same replicates used/skipped, same percentiles
    func testBootstrapMatchesReplayedReference() throws {
        for c in try MulticlassFixtures.load().cases {
            guard let ref = c.bootstrap else { continue }
            let r = try level(c, replicates: ref.replicates, seed: ref.seed)
            let macro = try XCTUnwrap(r.macroAUC.bootstrap, c.name), weighted = try XCTUnwrap(r.weightedAUC.bootstrap, c.name)
            XCTAssertEqual(macro.used, ref.used, c.name)
            XCTAssertEqual(macro.skipped, ref.skipped, c.name)
            XCTAssertEqual(macro.seed, ref.seed)
            XCTAssertEqual(macro.resamplingUnit, "patient")
            XCTAssertEqual(macro.interval.method, "bootstrap-percentile")
            XCTAssertEqual(macro.interval.lower, ref.macroInterval[0], accuracy: 1e-12, "\(c.name) macro lower")
            XCTAssertEqual(macro.interval.upper, ref.macroInterval[1], accuracy: 1e-12, "\(c.name) macro upper")
            XCTAssertEqual(weighted.interval.lower, ref.weightedInterval[0], accuracy: 1e-12, "\(c.name) weighted lower")
            XCTAssertEqual(weighted.interval.upper, ref.weightedInterval[1], accuracy: 1e-12, "\(c.name) weighted upper")
        }
    }

    // MARK: Threshold moving (argmax p_k / t_k): decisions and every decision-dependent metric as numpy + scikit-learn
    func testPerClassThresholdDecisionsMatchReference() throws {
        var checked = 0
        for c in try MulticlassFixtures.load().cases {
            guard let ref = c.thresholdMoving else { continue }
            checked += 1
            let rule = MulticlassDecisionRule.perClassThresholds(PerClassThresholds(ref.thresholds.map { ThresholdChoice.fixed($0) }))
            XCTAssertEqual(c.probabilities.map(rule.decide), ref.decided, c.name)
            let r = try MulticlassEvaluator(settings()).evaluate(c.samples(), classes: c.classNames, ordinal: c.ordinal, level: .study,
                                                                 split: "test", decision: rule)
            XCTAssertEqual(r.decision, rule)
            XCTAssertEqual(r.confusionMatrix.counts, ref.confusion, c.name)
            XCTAssertEqual(r.accuracy.value, ref.accuracy, accuracy: tolerance, c.name)
            XCTAssertEqual(r.balancedAccuracy, ref.balancedAccuracy, accuracy: tolerance, c.name)
            XCTAssertEqual(r.macroF1, ref.f1Macro, accuracy: tolerance, c.name)
            XCTAssertEqual(try XCTUnwrap(r.kappa.value), c.ordinal ? ref.kappaQuadratic : ref.kappa, accuracy: 1e-12, c.name)
            XCTAssertEqual(try XCTUnwrap(MulticlassMetrics.cohenKappa(r.confusionMatrix, weighting: .quadratic).value), ref.kappaQuadratic, accuracy: 1e-12)
            // The threshold-free metrics do not change with the decision rule.
            let argmax = try level(c)
            XCTAssertEqual(r.macroAUC, argmax.macroAUC)
            XCTAssertEqual(r.brierScore, argmax.brierScore)
            XCTAssertNotEqual(r.confusionMatrix, argmax.confusionMatrix, "the case must move some decisions")
        }
        XCTAssertEqual(checked, 2)
    }

    // MARK: Study aggregation: mean, max renormalised, vote (argmax ties to the lowest index) as numpy computes them
    func testAggregationMatchesNumpy() throws {
        let a = try MulticlassFixtures.load().aggregation
        let frames = a.frames.enumerated().map { i, f in
            MulticlassFrame(studyKey: f.study, patientKey: "P-" + f.study, frame: FrameReference(path: "/data/\(f.study)/\(i)", instanceKey: "I\(i)", frameIndex: 0),
                            trueClass: 0, probabilities: f.probabilities)
        }
        for rule in MulticlassAggregation.allCases {
            let studies = try rule.aggregate(frames, classCount: 3)
            XCTAssertEqual(studies.map(\.studyKey), a.studies.map(\.study))
            for (s, ref) in zip(studies, a.studies) {
                let expected = rule == .mean ? ref.mean : rule == .max ? ref.max : ref.vote
                for (v, w) in zip(s.probabilities, expected) { XCTAssertEqual(v, w, accuracy: 1e-15, "\(rule) \(s.studyKey)") }
                XCTAssertEqual(s.probabilities.reduce(0, +), 1, accuracy: 1e-12, "\(rule) \(s.studyKey) sums to 1")
            }
        }
        XCTAssertEqual(try MulticlassAggregation.max.aggregate(frames, classCount: 3).map(\.framesUsed), [3, 1, 2, 4])
    }
}
