import Foundation
import XCTest
@testable import Evaluation

final class StudyAggregationTests: XCTestCase {
    func frames(_ probabilities: [Double], study: String = "S1", patient: String = "P1", positive: Bool = true) -> [FramePrediction] {
        probabilities.enumerated().map { FramePrediction(studyKey: study, patientKey: patient, frameIndex: $0.offset, isPositive: positive, probability: $0.element) }
    }

    // MARK: mean = Σp/m, max = max p, vote = #{p >= τ}/m — frames 0.2, 0.4, 0.6, 0.9
    func testRulesByHand() {
        let p = [0.2, 0.4, 0.6, 0.9]
        XCTAssertEqual(StudyAggregation.mean.aggregate(p), 0.525, accuracy: 1e-15)
        XCTAssertEqual(StudyAggregation.max.aggregate(p), 0.9)
        XCTAssertEqual(StudyAggregation.majorityVote.aggregate(p), 0.5)
        XCTAssertEqual(StudyAggregation.vote(frameThreshold: 0.3).aggregate(p), 0.75)
        XCTAssertEqual(StudyAggregation.vote(frameThreshold: 0.95).aggregate(p), 0)
    }

    // MARK: Vote tie rule: exactly half the frames positive ⇒ v = ½ ⇒ positive at the majority threshold ½
    func testVoteTieGoesToThePositiveClass() throws {
        let studies = try StudyAggregation.majorityVote.aggregate(frames([0.7, 0.3]) + frames([0.1, 0.2], study: "S2", patient: "P2", positive: false))
        XCTAssertEqual(studies[0].probability, 0.5)
        let counts = ConfusionCounts(try BinaryOutcomes(studies.map(\.sample)), threshold: 0.5)
        XCTAssertEqual(counts.truePositives, 1, "a tied vote is a positive call")
        XCTAssertEqual(counts.trueNegatives, 1)
    }

    // MARK: Grouping: studies sorted by key, frames counted, label/patient/attributes carried
    func testGroupsFramesIntoStudies() throws {
        let input = frames([0.9, 0.7], study: "S2", patient: "P9") + frames([0.1], study: "S1", patient: "P1", positive: false) + frames([0.5], study: "S2", patient: "P9")
        let studies = try StudyAggregation.max.aggregate(input)
        XCTAssertEqual(studies.map(\.studyKey), ["S1", "S2"])
        XCTAssertEqual(studies.map(\.framesUsed), [1, 3])
        XCTAssertEqual(studies.map(\.probability), [0.1, 0.9])
        XCTAssertEqual(studies[1].sample.group, "P9")
    }

    // MARK: Inconsistent studies and bad probabilities are errors naming the study and frame
    func testInconsistentStudiesAreErrors() {
        let mixed = frames([0.5]) + frames([0.5], positive: false)
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate(mixed)) { error in
            XCTAssertEqual(error as? EvaluationError, .inconsistentStudy(studyKey: "S1", field: "label", values: ["negative", "positive"]))
        }
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate(frames([0.5]) + frames([0.5], patient: "P2"))) { error in
            XCTAssertTrue("\(error)".contains("study S1 have different patient"))
        }
        var site = frames([0.5, 0.6])
        site[0].attributes = ["site": "A"]; site[1].attributes = ["site": "B"]
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate(site)) { error in
            XCTAssertEqual(error as? EvaluationError, .inconsistentStudy(studyKey: "S1", field: "site", values: ["A", "B"]))
        }
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate(frames([0.5, 1.2]))) { error in
            XCTAssertEqual(error as? EvaluationError, .probabilityOutOfRange(index: 1, key: "study S1 frame 1", value: 1.2))
        }
        XCTAssertThrowsError(try StudyAggregation.mean.aggregate(frames([.nan])))
    }

    // MARK: Parsing the command-line spelling
    func testParsing() throws {
        XCTAssertEqual(try StudyAggregation(parsing: "mean"), .mean)
        XCTAssertEqual(try StudyAggregation(parsing: "MAX"), .max)
        XCTAssertEqual(try StudyAggregation(parsing: "vote"), .vote(frameThreshold: 0.5))
        XCTAssertEqual(try StudyAggregation(parsing: "vote=0.4"), .vote(frameThreshold: 0.4))
        for bad in ["median", "vote=", "vote=1.5", "vote=x", ""] {
            XCTAssertThrowsError(try StudyAggregation(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("mean, max, vote"))
            }
        }
        XCTAssertEqual(StudyAggregation.vote(frameThreshold: 0.4).description, "vote=0.4")
        XCTAssertEqual(try StudyAggregation(parsing: StudyAggregation.majorityVote.description), .majorityVote)
    }

    // MARK: Codable: {"rule": "vote", "frame_threshold": 0.4}
    func testCodable() throws {
        let encoder = EvaluationReport.jsonEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(String(decoding: try encoder.encode(StudyAggregation.vote(frameThreshold: 0.4)), as: UTF8.self), #"{"frame_threshold":0.4,"rule":"vote"}"#)
        XCTAssertEqual(String(decoding: try encoder.encode(StudyAggregation.mean), as: UTF8.self), #"{"rule":"mean"}"#)
        for rule in [StudyAggregation.mean, .max, .vote(frameThreshold: 0.25)] {
            XCTAssertEqual(try EvaluationReport.jsonDecoder().decode(StudyAggregation.self, from: encoder.encode(rule)), rule)
        }
        XCTAssertThrowsError(try EvaluationReport.jsonDecoder().decode(StudyAggregation.self, from: Data(#"{"rule":"median"}"#.utf8)))
    }
}
