import Foundation
import SonoKitTestSupport
import XCTest
@testable import Evaluation

/// The evaluator assembles the metrics; each number must equal the metric computed directly.
final class EvaluatorTests: XCTestCase {
    // MARK: Study level = metrics of the aggregated studies; threshold fitted on validation studies
    func testSplitEvaluationIsConsistentWithTheMetrics() throws {
        let test = SampleData.frames(split: "test", seed: 1), validation = SampleData.frames(split: "validation", seed: 2)
        let settings = SampleData.settings(replicates: 50)
        let result = try Evaluator.evaluate(frames: test, split: "test", validationFrames: validation, validationSplit: "validation",
                                            rule: .targetSensitivity(0.9), settings: settings)
        let studies = try BinaryOutcomes(StudyAggregation.mean.aggregate(test).map(\.sample))
        let validationStudies = try BinaryOutcomes(StudyAggregation.mean.aggregate(validation).map(\.sample))
        XCTAssertEqual(result.study.auc.estimate, ROC.auc(studies))
        // Patients have one or two studies: the DeLong interval is the cluster-aware one over patients.
        let patients = try StudyAggregation.mean.aggregate(test).map(\.patientKey)
        XCTAssertLessThan(Set(patients).count, patients.count)
        XCTAssertEqual(result.study.auc.delong?.variance, try DeLong.clusteredVariance(studies, clusters: patients))
        XCTAssertEqual(result.study.auc.delong?.interval.method, "delong-clustered-logit")
        XCTAssertEqual(result.study.threshold.choice.value,
                       try ThresholdChoice.fit(.targetSensitivity(0.9), on: validationStudies, split: "validation", level: .study).value)
        XCTAssertGreaterThanOrEqual(result.study.threshold.choice.fittedOn!.sensitivity, 0.9)
        XCTAssertEqual(result.study.atThreshold, try ThresholdMetrics(studies, threshold: result.study.threshold.choice.value))
        XCTAssertEqual(result.study.calibration.brierScore, try Calibration.brierScore(studies))
        XCTAssertEqual(result.study.averagePrecision, PrecisionRecall.averagePrecision(studies))
        XCTAssertEqual(result.study.counts.samples, studies.count)
        XCTAssertEqual(result.study.counts.patients, Set(test.map(\.patientKey)).count)
        XCTAssertEqual(result.study.auc.bootstrap?.used, 50)
        XCTAssertEqual(result.study.rocBand?.count, 11)
        // Frame level: all frames, its own threshold fitted on validation frames.
        XCTAssertEqual(result.frame.counts.samples, test.count)
        XCTAssertEqual(result.frame.threshold.choice.fittedOn?.level, .frame)
        XCTAssertEqual(result.frame.auc.estimate, ROC.auc(try BinaryOutcomes(test.map(\.sample))))
        XCTAssertEqual(Set(result.subgroups.map(\.attribute)), ["site", "manufacturer"])
        XCTAssertEqual(result.studies.map(\.framesUsed).reduce(0, +), test.count)
    }

    // MARK: Small sets degrade with notes instead of failing: one positive ⇒ no DeLong, no bootstrap
    func testTinySplitGetsNotesNotNaN() throws {
        let samples = [ScoredSample(key: "a", group: "A", isPositive: true, score: 0.9),
                       ScoredSample(key: "b", group: "B", isPositive: false, score: 0.2),
                       ScoredSample(key: "c", group: "C", isPositive: false, score: 0.4)]
        let r = try Evaluator.evaluate(samples, level: .study, split: "test", threshold: .fixed(0.5), settings: SampleData.settings(replicates: 100))
        XCTAssertEqual(r.auc.estimate, 1)
        XCTAssertNil(r.auc.delong)
        XCTAssertNil(r.auc.bootstrap)
        XCTAssertTrue(r.notes.contains { $0.hasPrefix("No DeLong interval: the DeLong variance needs at least 2 positive") }, "\(r.notes)")
        XCTAssertTrue(r.notes.contains { $0.hasPrefix("No bootstrap interval:") }, "\(r.notes)")
        XCTAssertThrowsError(try Evaluator.evaluate(Array(samples.dropFirst()), level: .study, split: "test", threshold: .fixed(0.5),
                                                    settings: SampleData.settings())) { error in
            XCTAssertEqual(error as? EvaluationError, .singleClass(what: "test split (study level)", positives: 0, negatives: 2))
        }
    }
}

final class EvaluationSettingsTests: XCTestCase {
    // MARK: Settings outside their domain are refused before any work, naming the setting
    func testInvalidSettings() throws {
        let samples = SampleData.frames(split: "test", seed: 1).map(\.sample)
        var bad: [(EvaluationSettings, String)] = []
        var s = SampleData.settings(); s.rocBandStep = 0; bad.append((s, "ROC band step"))
        s = SampleData.settings(); s.confidenceLevel = 95; bad.append((s, "confidence level"))
        s = SampleData.settings(); s.bootstrapReplicates = -1; bad.append((s, "bootstrap replicates"))
        s = SampleData.settings(); s.calibrationBins = 0; bad.append((s, "calibration bin count"))
        s = SampleData.settings(); s.aggregation = .vote(frameThreshold: 2); bad.append((s, "vote frame threshold"))
        for (settings, name) in bad {
            XCTAssertThrowsError(try Evaluator.evaluate(samples, level: .frame, split: "test", threshold: .fixed(0.5), settings: settings)) { error in
                XCTAssertTrue("\(error)".contains("Invalid \(name)"), "\(error)")
            }
        }
    }

    // MARK: The report is written atomically and reads back equal
    func testReportWriteReadsBack() throws {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sonokit-eval-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let report = try SampleData.report()
        try report.write(to: url)
        XCTAssertEqual(try EvaluationReport.jsonDecoder().decode(EvaluationReport.self, from: Data(contentsOf: url)), report)
    }
}
