import XCTest
@testable import Evaluation

/// Degenerate inputs are typed errors with a message a user can act on, never NaN.
final class DegenerateInputTests: XCTestCase {
    // MARK: One class only ⇒ singleClass naming the set and the counts
    func testOneClassIsATypedErrorNotNaN() {
        XCTAssertThrowsError(try BinaryOutcomes(labels: [true, true, true], scores: [0.1, 0.5, 0.9], what: "test split (study level)")) { error in
            XCTAssertEqual(error as? EvaluationError, .singleClass(what: "test split (study level)", positives: 3, negatives: 0))
            XCTAssertTrue("\(error)".contains("test split (study level) has 3 positive and 0 negative"))
        }
        XCTAssertThrowsError(try ThresholdMetrics(ConfusionCounts(truePositives: 0, falsePositives: 2, trueNegatives: 3, falseNegatives: 0), threshold: 0.5))
    }

    // MARK: Empty input ⇒ empty
    func testEmptyInputIsAnError() {
        XCTAssertThrowsError(try BinaryOutcomes(labels: [], scores: [], what: "validation split")) { error in
            XCTAssertEqual(error as? EvaluationError, .empty(what: "validation split"))
        }
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate([FramePrediction]())) { error in
            XCTAssertEqual(error as? EvaluationError, .empty(what: "the frame predictions"))
        }
    }

    // MARK: NaN/∞ scores, mismatched lengths, probabilities outside [0, 1]
    func testBadScoresNameTheSample() {
        XCTAssertThrowsError(try BinaryOutcomes(labels: [true, false], scores: [0.5, .nan], keys: ["s1", "s2"])) { error in
            XCTAssertEqual(error as? EvaluationError, .nonFiniteScore(index: 1, key: "s2"))
        }
        XCTAssertThrowsError(try BinaryOutcomes(labels: [true], scores: [0.5, 0.2]))
        let o = try! BinaryOutcomes(labels: [true, false], scores: [1.5, 0.2], keys: ["s1", "s2"])
        XCTAssertThrowsError(try Calibration.brierScore(o)) { error in
            XCTAssertEqual(error as? EvaluationError, .probabilityOutOfRange(index: 0, key: "s1", value: 1.5))
        }
        XCTAssertEqual(ROC.auc(o), 1, "ranking metrics accept any finite score")
    }

    // MARK: DeLong needs two of each class; a bootstrap drawing one class too often refuses
    func testTooFewForVarianceAndDegenerateBootstrap() throws {
        let o = try BinaryOutcomes(labels: [true, false, false], scores: [0.9, 0.2, 0.1])
        XCTAssertThrowsError(try DeLong.variance(o)) { error in
            XCTAssertEqual(error as? EvaluationError, .tooFewForVariance(method: "the DeLong variance", positives: 1, negatives: 2, needed: 2))
        }
        // One positive patient among three: a third of the draws miss it, (2/3)³ ≈ 30% of replicates are one-class.
        let samples = [ScoredSample(key: "a", group: "A", isPositive: true, score: 0.9),
                       ScoredSample(key: "b", group: "B", isPositive: false, score: 0.2),
                       ScoredSample(key: "c", group: "C", isPositive: false, score: 0.1)]
        XCTAssertThrowsError(try PatientBootstrap(replicates: 200, seed: 1).aucInterval(samples)) { error in
            guard case .bootstrapDegenerate(let skipped, 200)? = error as? EvaluationError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(skipped, 20)
        }
    }

    // MARK: Parameters outside their domain
    func testInvalidParameters() throws {
        let o = try BinaryOutcomes(labels: [true, false], scores: [0.9, 0.1])
        XCTAssertThrowsError(try Calibration.reliabilityBins(o, binCount: 0))
        XCTAssertThrowsError(try Wilson.interval(successes: 3, trials: 2))
        XCTAssertThrowsError(try Wilson.interval(successes: 1, trials: 2, confidenceLevel: 1))
        XCTAssertThrowsError(try ThresholdChoice.fit(.targetSensitivity(1.2), on: o, split: "validation", level: .study))
        XCTAssertThrowsError(try PatientBootstrap(replicates: 0, seed: 1).aucInterval([]))
    }
}
