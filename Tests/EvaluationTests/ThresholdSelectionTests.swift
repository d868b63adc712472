import Foundation
import XCTest
@testable import Evaluation

final class ThresholdSelectionTests: XCTestCase {
    // Scores (label): 0.9(+) 0.8(+) 0.7(-) 0.6(+) 0.5(-) 0.4(+) 0.3(-) 0.2(-); P = N = 4.
    let outcomes = try! BinaryOutcomes(labels: [true, true, false, true, false, true, false, false],
                                       scores: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])

    // MARK: Youden J = TPR - FPR: t=0.8 → ½ - 0 = ½; t=0.6 → ¾ - ¼ = ½; t=0.4 → 1 - ½ = ½. Tie ⇒ largest t = 0.8
    func testYoudenTiesGoToTheLargestThreshold() throws {
        let choice = try ThresholdChoice.fit(.youden, on: outcomes, split: "validation", level: .study, aggregation: .mean)
        XCTAssertEqual(choice.value, 0.8)
        XCTAssertEqual(choice.fittedOn?.sensitivity, 0.5)
        XCTAssertEqual(choice.fittedOn?.specificity, 1)
        XCTAssertEqual(choice.fittedOn?.aggregation, .mean)
    }

    // MARK: Target sensitivity: largest t with TPR(t) >= target. ¾ → 0.6 (TPR(0.6) = ¾); 0.76 → 0.4; 1 → 0.4
    func testTargetSensitivity() throws {
        XCTAssertEqual(try ThresholdChoice.fit(.targetSensitivity(0.75), on: outcomes, split: "v", level: .study).value, 0.6)
        XCTAssertEqual(try ThresholdChoice.fit(.targetSensitivity(0.76), on: outcomes, split: "v", level: .study).value, 0.4)
        XCTAssertEqual(try ThresholdChoice.fit(.targetSensitivity(1), on: outcomes, split: "v", level: .study).value, 0.4)
    }

    // MARK: Target specificity: smallest t with #{neg < t}/N >= target. ½ → 0.4 (0.3, 0.2 below); ¾ → 0.6; 1 → 0.8
    func testTargetSpecificity() throws {
        XCTAssertEqual(try ThresholdChoice.fit(.targetSpecificity(0.5), on: outcomes, split: "v", level: .study).value, 0.4)
        XCTAssertEqual(try ThresholdChoice.fit(.targetSpecificity(0.75), on: outcomes, split: "v", level: .study).value, 0.6)
        XCTAssertEqual(try ThresholdChoice.fit(.targetSpecificity(1), on: outcomes, split: "v", level: .study).value, 0.8)
        // When a negative has the highest score, specificity 1 needs a threshold above every score.
        let top = try BinaryOutcomes(labels: [false, true], scores: [0.9, 0.1])
        let above = try ThresholdChoice.fit(.targetSpecificity(1), on: top, split: "v", level: .study)
        XCTAssertEqual(above.value, 0.9.nextUp)
        XCTAssertEqual(above.fittedOn?.sensitivity, 0)
    }

    // MARK: Fixed thresholds carry no fitting provenance; the flag is per split
    func testProvenance() throws {
        let fixed = try ThresholdChoice.fit(.fixed(0.5), on: outcomes, split: "validation", level: .study)
        XCTAssertNil(fixed.fittedOn)
        XCTAssertFalse(fixed.isFitted(on: "validation"))
        let fitted = try ThresholdChoice.fit(.youden, on: outcomes, split: "validation", level: .frame)
        XCTAssertTrue(fitted.isFitted(on: "validation"))
        XCTAssertFalse(fitted.isFitted(on: "test"))
        XCTAssertTrue(ThresholdReport(fitted, evaluatedSplit: "validation").evaluatedOnFittingSplit)
    }

    // MARK: Parsing and Codable of the rule
    func testParsingAndCodable() throws {
        XCTAssertEqual(try ThresholdRule(parsing: "youden"), .youden)
        XCTAssertEqual(try ThresholdRule(parsing: "sensitivity=0.9"), .targetSensitivity(0.9))
        XCTAssertEqual(try ThresholdRule(parsing: "Specificity=0.95"), .targetSpecificity(0.95))
        XCTAssertEqual(try ThresholdRule(parsing: "fixed=0.5"), .fixed(0.5))
        XCTAssertEqual(try ThresholdRule(parsing: "fixed=-2"), .fixed(-2))
        for bad in ["", "youden=1", "sensitivity", "sensitivity=0", "sensitivity=1.1", "specificity=x", "fixed=nan", "f1"] {
            XCTAssertThrowsError(try ThresholdRule(parsing: bad), bad)
        }
        let encoder = EvaluationReport.jsonEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(String(decoding: try encoder.encode(ThresholdRule.targetSensitivity(0.9)), as: UTF8.self),
                       #"{"rule":"target_sensitivity","target":0.9}"#)
        for rule in [ThresholdRule.youden, .targetSensitivity(0.9), .targetSpecificity(0.8), .fixed(0.3)] {
            XCTAssertEqual(try EvaluationReport.jsonDecoder().decode(ThresholdRule.self, from: encoder.encode(rule)), rule)
            XCTAssertEqual(try ThresholdRule(parsing: rule.description), rule)
        }
    }
}
