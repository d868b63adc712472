@testable import Evaluation
import XCTest

/// The evaluation says in words when its test split cannot answer its question.
final class SampleSizeWarningTests: XCTestCase {
    private func auc(_ lower: Double, _ upper: Double) -> AUCResult {
        AUCResult(estimate: (lower + upper) / 2,
                  delong: .init(variance: 0.01, interval: ConfidenceInterval(lower: lower, upper: upper, level: 0.95, method: "delong-logit")),
                  bootstrap: nil)
    }

    func testAnIntervalReachingChanceIsSaidInWords() {
        let notes = SampleSizeWarning.notes(positives: 4, negatives: 4, auc: auc(0.345, 0.989), level: .study)
        XCTAssertEqual(notes.first, "The AUC interval is [0.345, 0.989] (delong-logit); this test set cannot tell this model from chance.")
        XCTAssertTrue(notes.last!.hasPrefix("Only 4 positive and 4 negative studies: fewer than 10 of a class"), "\(notes)")
    }

    func testALargeClearSplitGetsNoWarning() {
        XCTAssertEqual(SampleSizeWarning.notes(positives: 40, negatives: 60, auc: auc(0.81, 0.93), level: .study), [])
    }

    func testEachConditionAlone() {
        let fewFrames = SampleSizeWarning.notes(positives: 9, negatives: 200, auc: auc(0.7, 0.95), level: .frame)
        XCTAssertEqual(fewFrames.count, 1)
        XCTAssertTrue(fewFrames[0].contains("9 positive and 200 negative frames"), fewFrames[0])
        let chance = SampleSizeWarning.notes(positives: 30, negatives: 30, auc: auc(0.50, 0.70), level: .study)
        XCTAssertEqual(chance.count, 1)
        XCTAssertTrue(chance[0].contains("cannot tell this model from chance"))
    }

    /// Without a DeLong interval the bootstrap's is used.
    func testBootstrapIntervalWhenDeLongIsMissing() {
        var result = auc(0.2, 0.9)
        result.delong = nil
        result.bootstrap = .init(interval: ConfidenceInterval(lower: 0.45, upper: 0.9, level: 0.95, method: "bootstrap-percentile"),
                                 replicates: 100, used: 100, skipped: 0, seed: 1, resamplingUnit: "patient")
        XCTAssertEqual(SampleSizeWarning.notes(positives: 20, negatives: 20, auc: result, level: .study),
                       ["The AUC interval is [0.450, 0.900] (bootstrap-percentile); this test set cannot tell this model from chance."])
    }
}
