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
}
