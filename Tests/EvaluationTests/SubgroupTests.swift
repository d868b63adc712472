import XCTest
@testable import Evaluation

final class SubgroupTests: XCTestCase {
    func samples(site: String?, positives: Int, negatives: Int) -> [ScoredSample] {
        (0..<(positives + negatives)).map { i in
            let positive = i < positives
            return ScoredSample(key: "\(site ?? "none")-\(i)", group: "\(site ?? "none")-P\(i)", isPositive: positive,
                                score: positive ? 0.5 + Double(i % 7) / 20 : 0.2 + Double(i % 9) / 20,
                                attributes: site.map { ["site": $0] } ?? [:])
        }
    }

    // MARK: Minimum-size rule: metrics only with >= m positives AND >= m negatives; counts always
    func testMinimumSizeRule() throws {
        let all = samples(site: "A", positives: 10, negatives: 12) + samples(site: "B", positives: 9, negatives: 30) + samples(site: nil, positives: 1, negatives: 1)
        let results = try Subgroups.evaluate(all, attributes: ["site", "manufacturer"], threshold: 0.5, minimumPerClass: 10)
        XCTAssertEqual(results.map(\.value), ["(missing)", "A", "B"], "no manufacturer section: nobody has one")
        let a = results[1], b = results[2]
        XCTAssertNotNil(a.metrics)
        XCTAssertNil(a.omittedBecause)
        XCTAssertEqual(a.counts, SampleCounts(samples(site: "A", positives: 10, negatives: 12)))
        XCTAssertNil(b.metrics)
        XCTAssertEqual(b.omittedBecause, "9 positive and 30 negative samples; metrics need at least 10 of each")
        XCTAssertEqual(b.counts.samples, 39)
        // Subgroup metrics equal the metrics computed on the subgroup alone, at the overall threshold.
        let aOnly = try BinaryOutcomes(samples(site: "A", positives: 10, negatives: 12))
        XCTAssertEqual(a.metrics!.auc, ROC.auc(aOnly))
        XCTAssertEqual(a.metrics!.sensitivity, try ThresholdMetrics(aOnly, threshold: 0.5).sensitivity)
        XCTAssertThrowsError(try Subgroups.evaluate(all, attributes: ["site"], threshold: 0.5, minimumPerClass: 1))
    }
}
