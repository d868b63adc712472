import Foundation
import SonoKitCore
import SonoKitTestSupport
import XCTest
@testable import Evaluation

/// The multi-class evaluator on hand-computable cases, properties, errors and the report.
final class MulticlassEvaluatorTests: XCTestCase {
    func sample(_ i: Int, _ y: Int, _ p: [Double], group: String? = nil) -> MulticlassSample {
        MulticlassSample(key: "s\(i)", group: group ?? "p\(i)", trueClass: y, probabilities: p)
    }

    // MARK: Hand-computed: 3 classes, 6 samples
    // argmax decisions: 0,0 | 1,0 | 2,1 -> counts [[2,0,0],[1,1,0],[0,1,1]], accuracy 4/6,
    // balanced accuracy (1 + 1/2 + 1/2)/3 = 2/3, F1 = 2*2/(2+3), 2*1/(2+2), 2*1/(2+1) -> macro (0.8 + 0.5 + 2/3)/3.
    // Unweighted kappa: po = 4/6, pe = (2*3 + 2*2 + 2*1)/36 = 1/3, kappa = (2/3 - 1/3)/(1 - 1/3) = 0.5.
    func testHandComputedThreeClasses() throws {
        let samples = [sample(0, 0, [0.7, 0.2, 0.1]), sample(1, 0, [0.5, 0.3, 0.2]), sample(2, 1, [0.2, 0.6, 0.2]),
                       sample(3, 1, [0.5, 0.4, 0.1]), sample(4, 2, [0.1, 0.2, 0.7]), sample(5, 2, [0.3, 0.4, 0.3])]
        let r = try MulticlassEvaluator(MulticlassEvaluationSettings(bootstrapReplicates: 0, bootstrapSeed: 1))
            .evaluate(samples, classes: ["a", "b", "c"], ordinal: false, level: .study, split: "test")
        XCTAssertEqual(r.confusionMatrix.counts, [[2, 0, 0], [1, 1, 0], [0, 1, 1]])
        XCTAssertEqual(r.confusionMatrix.rowNormalized[1], [0.5, 0.5, 0])
        XCTAssertEqual(r.accuracy.numerator, 4)
        XCTAssertEqual(r.balancedAccuracy, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(r.macroF1, (0.8 + 0.5 + 2.0 / 3) / 3, accuracy: 1e-15)
        XCTAssertEqual(r.kappa.value!, 0.5, accuracy: 1e-15)
        XCTAssertEqual(r.kappa.weighting, .none)
        // Class a against the rest: positives 0.7, 0.5; negatives 0.2, 0.5, 0.1, 0.3 -> (4 + 3.5)/8.
        XCTAssertEqual(r.perClass[0].auc.estimate, 7.5 / 8, accuracy: 1e-15)
        XCTAssertEqual(r.perClass[1].specificity.numerator, 3)  // not b and not decided b: samples 0, 1, 4
        XCTAssertEqual(r.perClass[1].specificity.denominator, 4)
        XCTAssertEqual(r.perClass[0].positivePredictiveValue?.numerator, 2)
        XCTAssertEqual(r.perClass[0].positivePredictiveValue?.denominator, 3)
        // Top-2: sample 5 (true c, 0.3 tied with a's 0.3: the higher index c ranks above a) is a hit; all six are hits.
        XCTAssertEqual(r.topTwoAccuracy?.numerator, 6)
        // Brier of sample 0: 0.3^2 + 0.2^2 + 0.1^2 = 0.14 (not divided by the class count).
        // Per sample: 0.14, 0.38, 0.24, 0.62, 0.14, 0.74.
        XCTAssertEqual(r.brierScore, 2.26 / 6, accuracy: 1e-15)
        XCTAssertEqual(r.logLoss, -[0.7, 0.5, 0.6, 0.4, 0.7, 0.3].map(log).reduce(0, +) / 6, accuracy: 1e-15)
        XCTAssertEqual(r.notes, ["Bootstrap turned off (0 replicates)."] + r.notes.dropFirst().map { $0 })
        XCTAssertTrue(r.notes.allSatisfy { $0.hasPrefix("Bootstrap") || $0.hasPrefix("Class ") }, "\(r.notes)")
    }

    // MARK: Quadratic kappa punishes a far mistake more than a near one; unweighted does not tell them apart
    func testQuadraticKappaWeighsDistance() throws {
        func kappa(_ decided: [Int], _ w: KappaWeighting) throws -> Double {
            let truth = [0, 0, 1, 1, 2, 2, 3, 3]
            let outcomes = try MulticlassOutcomes(labels: truth, probabilities: decided.map { k in (0..<4).map { $0 == k ? 1.0 : 0 } }, classCount: 4)
            return MulticlassMetrics.cohenKappa(MulticlassConfusionMatrix(outcomes), weighting: w).value!
        }
        let near = [0, 1, 1, 1, 2, 2, 3, 3], far = [0, 3, 1, 1, 2, 2, 3, 3]
        XCTAssertEqual(try kappa(near, .none), try kappa(far, .none), accuracy: 1e-12)
        XCTAssertGreaterThan(try kappa(near, .quadratic), try kappa(far, .quadratic) + 0.1)
        XCTAssertEqual(try kappa([0, 0, 1, 1, 2, 2, 3, 3], .quadratic), 1, accuracy: 1e-15)
    }

    // MARK: Properties: permuting the samples changes nothing; relabelling the classes permutes the per-class results
    func testInvariantUnderSampleOrderAndClassPermutation() throws {
        let evaluation = try MulticlassSampleData.makeEvaluation(replicates: 0)
        let samples = evaluation.studies.map(\.sample)
        let evaluator = MulticlassEvaluator(MulticlassSampleData.settings(replicates: 0))
        let classes = MulticlassSampleData.classes
        let base = try evaluator.evaluate(samples, classes: classes, ordinal: false, level: .study, split: "test")
        let shuffled = try evaluator.evaluate(samples.reversed(), classes: classes, ordinal: false, level: .study, split: "test")
        XCTAssertEqual(base.macroAUC, shuffled.macroAUC)
        XCTAssertEqual(base.confusionMatrix, shuffled.confusionMatrix)
        for (a, b) in zip(base.perClass, shuffled.perClass) {
            XCTAssertEqual(a.auc.estimate, b.auc.estimate)
            XCTAssertEqual(a.auc.delong!.variance, b.auc.delong!.variance, accuracy: 1e-15)  // summation order only
        }
        // Reverse the class order (vectors and labels); ties are broken by index, and the sample
        // vectors are continuous, so nothing but the order changes.
        let permuted = samples.map { MulticlassSample(key: $0.key, group: $0.group, trueClass: 3 - $0.trueClass, probabilities: $0.probabilities.reversed()) }
        let p = try evaluator.evaluate(permuted, classes: classes.reversed(), ordinal: false, level: .study, split: "test")
        XCTAssertEqual(p.macroAUC.estimate, base.macroAUC.estimate, accuracy: 1e-12)
        XCTAssertEqual(p.perClass.map(\.auc.estimate), base.perClass.reversed().map(\.auc.estimate))
        XCTAssertEqual(p.kappa.value!, base.kappa.value!, accuracy: 1e-12)
        XCTAssertEqual(p.accuracy, base.accuracy)
    }

    // MARK: Several studies per patient: per-class DeLong is the cluster-aware one; notes say what the coverage study found
    func testClusteredDeLongAndNotes() throws {
        let r = try MulticlassSampleData.evaluation().report
        XCTAssertTrue(r.study.perClass.allSatisfy { $0.auc.delong?.interval.method == "delong-clustered-logit" })
        // The Wilson note is about the level: said once, not per class.
        XCTAssertEqual(r.study.notes.filter { $0.contains("Wilson intervals") }.count, 1, "\(r.study.notes)")
        XCTAssertFalse(r.study.notes.first { $0.contains("Wilson intervals") }!.hasPrefix("Class "))
        // Class malignant (about 10%) has fewer than 10 patients: its own note, prefixed.
        XCTAssertTrue(r.study.notes.contains { $0.hasPrefix("Class malignant against the rest: ") }, "\(r.study.notes)")
        XCTAssertNotNil(r.study.macroAUC.bootstrap)
        XCTAssertEqual(r.study.macroAUC.bootstrap?.used, r.study.weightedAUC.bootstrap?.used)
        XCTAssertTrue(r.study.macroAUC.bootstrap!.interval.contains(r.study.macroAUC.estimate))
    }

    // MARK: Degrading, not failing: a class of one sample has no DeLong interval and makes the bootstrap degenerate; both said in notes
    func testDegenerateIntervalsBecomeNotes() throws {
        var samples = (0..<20).map { i in sample(i, i % 2, i % 2 == 0 ? [0.6, 0.3, 0.1] : [0.3, 0.6, 0.1]) }
        samples.append(sample(20, 2, [0.2, 0.2, 0.6]))
        let r = try MulticlassEvaluator(MulticlassEvaluationSettings(bootstrapReplicates: 100, bootstrapSeed: 3))
            .evaluate(samples, classes: ["a", "b", "c"], ordinal: false, level: .study, split: "test")
        XCTAssertNil(r.perClass[2].auc.delong)
        XCTAssertNotNil(r.perClass[0].auc.delong)
        XCTAssertTrue(r.notes.contains { $0.hasPrefix("Class c against the rest: No DeLong interval: the DeLong variance needs at least 2 positive") }, "\(r.notes)")
        XCTAssertNil(r.macroAUC.bootstrap)
        XCTAssertNil(r.weightedAUC.bootstrap)
        XCTAssertTrue(r.notes.contains { $0.hasPrefix("No bootstrap interval for the macro and weighted AUC: ") && $0.contains("of 100 bootstrap replicates") },
                      "\(r.notes)")
        XCTAssertEqual(r.perClass[2].auc.estimate, 1)
    }

    // MARK: Per-class thresholds: p_k / t_k decides; fitted one-vs-rest exactly as the binary rule; flagged on their own fitting split
    func testPerClassThresholds() throws {
        let t = PerClassThresholds([0.6, 0.2, 0.3].map { ThresholdChoice.fixed($0) })
        XCTAssertEqual(t.decide([0.5, 0.3, 0.2]), 1)  // ratios 0.83, 1.5, 0.67: class 1, although class 0 is the most probable
        XCTAssertEqual(t.decide([0.7, 0.2, 0.1]), 0)  // 1.17, 1.0, 0.33
        XCTAssertEqual(PerClassThresholds([0.5, 0.5, 0.5].map { ThresholdChoice.fixed($0) }).decide([0.4, 0.4, 0.2]), 0, "equal thresholds: argmax, ties low")
        XCTAssertEqual(PerClassThresholds([0.5, 0, 0.5].map { ThresholdChoice.fixed($0) }).decide([0.9, 0.01, 0.09]), 1, "t = 0: decided whenever p > 0")

        let validation = MulticlassSampleData.frames(split: "validation", seed: 21)
        let studies = try MulticlassAggregation.mean.aggregate(validation, classCount: 4).map(\.sample)
        let fitted = try PerClassThresholds.fit(.youden, on: studies, classCount: 4, split: "validation", level: .study)
        let outcomes = try MulticlassOutcomes(studies, classCount: 4)
        for k in 0..<4 {
            XCTAssertEqual(fitted.thresholds[k], try ThresholdChoice.fit(.youden, on: outcomes.oneVsRest(k), split: "validation", level: .study))
        }

        let test = MulticlassSampleData.frames(split: "test", seed: 11)
        let evaluator = MulticlassEvaluator(MulticlassSampleData.settings(replicates: 0))
        let e = try evaluator.evaluate(frames: test, classes: MulticlassSampleData.classes, ordinal: true, split: "test", run: MulticlassSampleData.run,
                                       thresholds: (.youden, validation, "validation"))
        XCTAssertEqual(e.report.study.decision, .perClassThresholds(fitted))
        guard case .perClassThresholds(let frameThresholds) = e.report.frame!.decision else { return XCTFail("frame level decision") }
        XCTAssertEqual(frameThresholds.thresholds.map { $0.fittedOn?.level }, Array(repeating: .frame, count: 4))
        XCTAssertEqual(e.report.warnings, [])
        let decided = e.studies.map { fitted.decide($0.probabilities) }
        XCTAssertEqual(e.report.study.accuracy.numerator, zip(decided, e.studies).filter { $0 == $1.trueClass }.count)
        let misclassified = Set(zip(decided, e.studies).filter { $0 != $1.trueClass }.map(\.1.studyKey))
        XCTAssertEqual(e.report.worstConfusions.count, min(10, misclassified.count))
        XCTAssertTrue(Set(e.report.worstConfusions.map(\.studyKey)).isSubset(of: misclassified))
        for w in e.report.worstConfusions {
            let s = e.studies.first { $0.studyKey == w.studyKey }!
            XCTAssertEqual(w.predictedClass, MulticlassSampleData.classes[fitted.decide(s.probabilities)])
            XCTAssertNotEqual(w.predictedClass, w.trueClass)
        }
        // Fitted on the evaluated split: warned in the report and noted at each level.
        let onItself = try evaluator.evaluate(frames: test, classes: MulticlassSampleData.classes, ordinal: true, split: "test",
                                              run: MulticlassSampleData.run, thresholds: (.youden, test, "test"))
        XCTAssertEqual(onItself.report.warnings.count, 1)
        XCTAssertTrue(onItself.report.study.notes.contains { $0.hasPrefix("The per-class thresholds were fitted on this split") })
        // The report round-trips with the thresholds and their provenance.
        let back = try MulticlassEvaluationReport.jsonDecoder().decode(MulticlassEvaluationReport.self, from: e.report.jsonData())
        XCTAssertEqual(back, e.report)
    }

    // MARK: Errors name what is wrong
    func testErrors() throws {
        let three = ["a", "b", "c"]
        let evaluator = MulticlassEvaluator(MulticlassEvaluationSettings(bootstrapReplicates: 0, bootstrapSeed: 1))
        XCTAssertThrowsError(try evaluator.evaluate([sample(0, 0, [0.5, 0.5, 0]), sample(1, 1, [0.2, 0.8, 0])], classes: three, ordinal: false,
                                                    level: .study, split: "test")) { error in
            XCTAssertEqual(error as? MulticlassEvaluationError, .classAbsent(what: "test split (study level)", classIndex: 2, support: [1, 1, 0]))
            XCTAssertTrue("\(error)".contains("Evaluate on a split that contains every class"))
        }
        XCTAssertThrowsError(try MulticlassOutcomes(labels: [0, 1], probabilities: [[0.5, 0.75], [0.5, 0.5]], classCount: 2, keys: ["S1", "S2"])) {
            XCTAssertEqual($0 as? MulticlassEvaluationError, .notAProbabilityVector(index: 0, key: "S1", sum: 1.25))
            XCTAssertTrue("\($0)".contains("softmax"))
        }
        XCTAssertThrowsError(try MulticlassOutcomes(labels: [0, 3], probabilities: [[0.5, 0.5], [0.5, 0.5]], classCount: 2)) {
            XCTAssertEqual($0 as? MulticlassEvaluationError, .classOutOfRange(index: 1, key: nil, value: 3, classCount: 2))
        }
        XCTAssertThrowsError(try MulticlassOutcomes(labels: [0, 1], probabilities: [[1.0], [0.5, 0.5]], classCount: 2)) {
            XCTAssertEqual($0 as? MulticlassEvaluationError, .wrongVectorLength(index: 0, key: nil, length: 1, classCount: 2))
        }
        XCTAssertThrowsError(try MulticlassOutcomes(labels: [0, 1], probabilities: [[1.2, -0.2], [0.5, 0.5]], classCount: 2)) {
            XCTAssertEqual($0 as? EvaluationError, .probabilityOutOfRange(index: 0, key: nil, value: 1.2))
        }
        // Frames of one study with different true classes.
        let frames = [0, 1].map { y in
            MulticlassFrame(studyKey: "S", patientKey: "P", frame: FrameReference(path: "/x", instanceKey: "I", frameIndex: y), trueClass: y,
                            probabilities: [0.5, 0.5])
        }
        XCTAssertThrowsError(try MulticlassAggregation.mean.aggregate(frames, classCount: 2)) {
            XCTAssertEqual($0 as? EvaluationError, .inconsistentStudy(studyKey: "S", field: "true class", values: ["0", "1"]))
        }
        XCTAssertThrowsError(try MulticlassEvaluator(MulticlassSampleData.settings()).evaluate(
            frames: MulticlassSampleData.frames(split: "t", seed: 1, patients: 8), classes: ["a", "b", "c"], ordinal: false, split: "t",
            run: MulticlassSampleData.run)) {
            XCTAssertEqual($0 as? MulticlassEvaluationError, .classNamesMismatch(names: ["a", "b", "c"], classCount: 4))
        }
        XCTAssertThrowsError(try MulticlassAggregation(parsing: "vote=0.4")) { XCTAssertTrue("\($0)".contains("no frame threshold") || "\($0)".contains("takes no frame threshold")) }
        XCTAssertEqual(try MulticlassAggregation(parsing: "MAX"), .max)
        XCTAssertEqual(try MulticlassAggregation(StudyAggregation.majorityVote), .vote)
        XCTAssertThrowsError(try MulticlassEvaluationSettings(EvaluationSettings(aggregation: .vote(frameThreshold: 0.3), bootstrapSeed: 1)))
    }

    // MARK: Worst confusions: misclassified studies only, the highest wrong-class probability first
    func testWorstConfusions() throws {
        let studies = [
            MulticlassStudy(studyKey: "A", patientKey: "1", trueClass: 0, probabilities: [0.2, 0.7, 0.1], framesUsed: 2),
            MulticlassStudy(studyKey: "B", patientKey: "2", trueClass: 1, probabilities: [0.1, 0.5, 0.4], framesUsed: 1),  // correct
            MulticlassStudy(studyKey: "C", patientKey: "3", trueClass: 2, probabilities: [0.9, 0.05, 0.05], framesUsed: 3),
            MulticlassStudy(studyKey: "D", patientKey: "4", trueClass: 1, probabilities: [0.45, 0.1, 0.45], framesUsed: 1),
        ]
        let list = WorstConfusion.list(studies, classes: ["x", "y", "z"], limit: 10)
        XCTAssertEqual(list.map(\.studyKey), ["C", "A", "D"])
        XCTAssertEqual(list[0].predictedClass, "x")
        XCTAssertEqual(list[0].trueClass, "z")
        XCTAssertEqual(list[0].wrongProbability, 0.9)
        XCTAssertEqual(list[0].trueProbability, 0.05)
        XCTAssertEqual(list[2].predictedClass, "x")  // tie 0.45/0.45 goes to the lowest index
        XCTAssertEqual(WorstConfusion.list(studies, classes: ["x", "y", "z"], limit: 1).map(\.studyKey), ["C"])
    }

    // MARK: The report: task multiclass, round trip, task probe, frame paths never written
    func testReportEncoding() throws {
        let evaluation = try MulticlassSampleData.evaluation()
        let data = try evaluation.report.jsonData()
        let back = try MulticlassEvaluationReport.jsonDecoder().decode(MulticlassEvaluationReport.self, from: data)
        XCTAssertEqual(back, evaluation.report)
        XCTAssertEqual(try MulticlassEvaluationReport.task(ofReport: data), .multiclass)
        XCTAssertEqual(try MulticlassEvaluationReport.task(ofReport: SampleData.report().jsonData()), .binary)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"task\" : \"multiclass\""))
        XCTAssertFalse(text.contains(MulticlassSampleData.nameInPaths))
        XCTAssertFalse(text.contains("/export/"))
        XCTAssertEqual(evaluation.report.dataCounts.map(\.split), ["train", "test"])
        XCTAssertEqual(evaluation.report.dataCounts[1].perClass.map(\.className), MulticlassSampleData.classes)
        XCTAssertEqual(evaluation.report.dataCounts[1].frames, evaluation.frames.count)
        XCTAssertEqual(evaluation.report.study.counts.samples, evaluation.studies.count)
        XCTAssertEqual(evaluation.report.frame?.counts.samples, evaluation.frames.count)
        XCTAssertEqual(evaluation.report.study.kappa.weighting, .quadratic)
    }
}
