import Foundation
import XCTest
@testable import Evaluation

/// The reference values written by scripts/fixtures/evaluation/make_metric_fixtures.py
/// (scikit-learn, statsmodels, scipy, the roc_comparison DeLong algorithm, a replayed bootstrap).
struct MetricFixtures: Decodable {
    struct Proportion: Decodable { var numerator: Int; var denominator: Int; var value: Double; var interval: [Double] }
    struct Confusion: Decodable { var tp: Int; var fp: Int; var tn: Int; var fn: Int }
    struct AtThreshold: Decodable {
        var threshold: Double
        var confusion: Confusion
        var sensitivity: Proportion
        var specificity: Proportion
        var ppv: Proportion?
        var npv: Proportion?
        var accuracy: Proportion
        var accuracySklearn: Double
        var balancedAccuracy: Double
        var f1: Double
        var mcc: Double?
    }
    struct Curve: Decodable { var thresholds: [Double?]; var fpr: [Double]?; var tpr: [Double]?; var precision: [Double]?; var recall: [Double]? }
    struct DeLongReference: Decodable { var auc: Double; var variance: Double; var z: Double; var wald: [Double]; var logit: [Double] }
    struct Reliability: Decodable {
        var bins: Int; var counts: [Int]; var meanConfidence: [Double?]; var observedFrequency: [Double?]; var ece: Double
    }
    struct Bootstrap: Decodable {
        var seed: UInt64; var replicates: Int; var used: Int; var skipped: Int; var aucInterval: [Double]
        var bandGrid: [Double]?; var bandLower: [Double]?; var bandUpper: [Double]?
    }
    struct Case: Decodable {
        var name: String
        var labels: [Int]
        var scores: [Double]
        var auc: Double
        var roc: Curve
        var pr: Curve
        var averagePrecision: Double
        var delong: DeLongReference
        var atThreshold: [AtThreshold]
        var thresholds: [String: Double]
        var brier: Double?
        var logLoss: Double?
        var calibration: [Reliability]?
        var groups: [String]?
        var bootstrap: Bootstrap?

        func outcomes() throws -> BinaryOutcomes { try BinaryOutcomes(labels01: labels, scores: scores, what: name) }

        func samples() -> [ScoredSample] {
            labels.indices.map { ScoredSample(key: "\(name)-\($0)", group: groups?[$0] ?? "\($0)", isPositive: labels[$0] != 0, score: scores[$0]) }
        }
    }
    var versions: [String: String]
    var cases: [Case]

    static func load() throws -> MetricFixtures {
        let decoder = JSONDecoder()
        // Keys like "sensitivity_0.9" in `thresholds` are dictionary keys and are converted too; they
        // have no underscore-letter pairs that change, so the lookup below uses the converted form.
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(MetricFixtures.self, from: Data(contentsOf: fixtureURL("metric_cases.json")))
    }
}

/// A file in Tests/EvaluationTests/Fixtures (read from the source tree: `swift test` needs no Python).
func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}


/// Tracks the largest absolute difference seen per quantity, and fails beyond the tolerance.
final class DifferenceLedger {
    private(set) var maxima: [String: Double] = [:]

    func check(_ quantity: String, _ actual: Double?, _ expected: Double?, tolerance: Double, _ context: String,
               file: StaticString = #filePath, line: UInt = #line) {
        switch (actual, expected) {
        case (nil, nil): return
        case let (a?, e?):
            let d = abs(a - e)
            maxima[quantity] = max(maxima[quantity] ?? 0, d)
            XCTAssertLessThanOrEqual(d, tolerance, "\(context): \(quantity) = \(a), reference \(e)", file: file, line: line)
        default:
            XCTFail("\(context): \(quantity) = \(String(describing: actual)), reference \(String(describing: expected))", file: file, line: line)
        }
    }

    func report(_ title: String) {
        print("\(title) — largest |SonoKit - reference|:")
        for (k, v) in maxima.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
    }
}
