@testable import Evaluation
import XCTest

/// Obuchowski's cluster-aware DeLong variance against the formula computed from its definition (full
/// kernel matrix, no mid-ranks) by scripts/fixtures/evaluation/make_clustered_delong_fixtures.py.
final class ClusteredDeLongTests: XCTestCase {
    private struct Case: Decodable {
        var name: String
        var labels: [Int]
        var scores: [Double]
        var groups: [String]
        var auc: Double
        var variance: Double
        var plainDelongVariance: Double
        var s11: Double
        var wald: [Double]
        var logit: [Double]
    }

    private struct Fixtures: Decodable { var cases: [Case] }

    private func cases() throws -> [Case] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Fixtures.self, from: Data(contentsOf: fixtureURL("clustered_delong_cases.json"))).cases
    }

    // MARK: Var = S₁₀/M + S₀₁/N + 2 S₁₁/(MN) over patient clusters
    func testVarianceAndIntervalsMatchTheNumpyFormula() throws {
        let all = try cases()
        XCTAssertEqual(Set(all.map(\.name)), ["imbalanced", "coarse_vote", "continuous", "singletons", "mixed_clusters"])
        for c in all {
            let o = try BinaryOutcomes(labels01: c.labels, scores: c.scores)
            XCTAssertEqual(try DeLong.clusteredVariance(o, clusters: c.groups), c.variance, accuracy: 1e-12 * max(1, c.variance), c.name)
            XCTAssertEqual(try DeLong.variance(o), c.plainDelongVariance, accuracy: 1e-12, c.name)
            let logit = try DeLong.interval(o, clusters: c.groups).interval
            XCTAssertEqual(logit.method, "delong-clustered-logit")
            XCTAssertEqual(logit.lower, c.logit[0], accuracy: 1e-10, c.name)
            XCTAssertEqual(logit.upper, c.logit[1], accuracy: 1e-10, c.name)
            let wald = try DeLong.interval(o, scale: .wald, clusters: c.groups).interval
            XCTAssertEqual(wald.lower, c.wald[0], accuracy: 1e-10, c.name)
            XCTAssertEqual(wald.upper, c.wald[1], accuracy: 1e-10, c.name)
        }
        // The cases exercise what distinguishes the formula: clusters that change the variance,
        // and a cross term S₁₁ from patients with studies of both classes.
        XCTAssertTrue(all.contains { $0.name != "singletons" && abs($0.variance - $0.plainDelongVariance) > 1e-4 })
        XCTAssertTrue(all.contains { abs($0.s11) > 1e-3 })
    }

    /// One sample per cluster is plain DeLong exactly, whatever the cluster keys are called.
    func testSingletonClustersGivePlainDeLong() throws {
        let o = try BinaryOutcomes(labels01: [1, 0, 1, 1, 0, 0, 1, 0], scores: [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.1])
        XCTAssertEqual(try DeLong.clusteredVariance(o, clusters: (0..<8).map { "z\(7 - $0)" }), try DeLong.variance(o), accuracy: 1e-15)
    }

    func testTooFewClustersOfAClassIsRefusedByName() throws {
        let o = try BinaryOutcomes(labels01: [1, 1, 0, 0], scores: [0.9, 0.8, 0.3, 0.2])
        XCTAssertThrowsError(try DeLong.clusteredVariance(o, clusters: ["a", "a", "b", "c"])) { error in
            XCTAssertEqual(error as? EvaluationError, .tooFewPatientsForVariance(method: "the cluster-aware DeLong variance",
                                                                                 positivePatients: 1, negativePatients: 2, needed: 2))
            XCTAssertEqual("\(error)", "the cluster-aware DeLong variance needs at least 2 patients with a positive and 2 with a "
                + "negative sample; there are 1 and 2.")
        }
        XCTAssertThrowsError(try DeLong.clusteredVariance(o, clusters: ["a", "b"]))
    }
}
