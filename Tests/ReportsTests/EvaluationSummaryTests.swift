import Evaluation
import Foundation
@testable import Reports
import SonoKitTestSupport
import XCTest

final class EvaluationSummaryTests: XCTestCase {
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
