import Foundation
import XCTest
@testable import Evaluation

final class FailureAnalysisAndSummaryTests: XCTestCase {
    func study(_ key: String, _ positive: Bool, _ p: Double) -> AggregatedStudy {
        AggregatedStudy(studyKey: key, patientKey: "P-\(key)", isPositive: positive, probability: p, framesUsed: 2, attributes: ["site": "A"])
    }

    // MARK: Worst false positives = highest p among negatives with p >= t; worst false negatives = lowest p among positives with p < t
    func testWorstErrorsAreOrderedAndLimited() {
        let studies = [study("n1", false, 0.95), study("n2", false, 0.6), study("n3", false, 0.2), study("n4", false, 0.6),
                       study("p1", true, 0.05), study("p2", true, 0.45), study("p3", true, 0.9), study("p4", true, 0.5)]
        let f = FailureAnalysis(studies, threshold: 0.5, limit: 2)
        XCTAssertEqual(f.falsePositives.map(\.studyKey), ["n1", "n2"], "0.95 first; n2 before n4 on the tie by key")
        XCTAssertEqual(f.falseNegatives.map(\.studyKey), ["p1", "p2"], "p4 at exactly the threshold is a positive call")
        XCTAssertEqual(f.falsePositives[0].attributes, [NamedValue("site", "A")])
        XCTAssertEqual(FailureAnalysis(studies, threshold: 0.5, limit: 10).falsePositives.count, 3)
    }

    // MARK: The terminal summary states counts, each metric with its interval, and the threshold's provenance
    func testSummaryText() throws {
        let report = try SampleData.report()
        let text = EvaluationSummary.text(report)
        let s = report.study
        XCTAssertTrue(text.contains("Study level (primary): \(s.counts.samples) studies (\(s.counts.positives) positive, \(s.counts.negatives) negative) from \(s.counts.patients) patients"), text)
        XCTAssertTrue(text.contains("Frame level (secondary): \(report.frame!.counts.samples) frames"))
        func row(_ name: String) -> String { "  \(name)".padding(toLength: 22, withPad: " ", startingAt: 0) }
        XCTAssertTrue(text.contains(row("AUC") + "\(fixed(s.auc.estimate, 3))  DeLong [\(fixed(s.auc.delong!.interval.lower, 3)), \(fixed(s.auc.delong!.interval.upper, 3))]"), text)
        XCTAssertTrue(text.contains("youden, fitted on validation at study level"))
        let sens = s.atThreshold.sensitivity
        XCTAssertTrue(text.contains(row("Sensitivity") + "\(fixed(sens.value, 3))  [\(fixed(sens.interval.lower, 3)), \(fixed(sens.interval.upper, 3))]  (\(sens.numerator)/\(sens.denominator))"), text)
        XCTAssertTrue(text.contains("manufacturer=Vendor Two"))
        XCTAssertTrue(text.contains("too small for metrics"))
        XCTAssertFalse(text.contains("WARNING"))
    }
}
