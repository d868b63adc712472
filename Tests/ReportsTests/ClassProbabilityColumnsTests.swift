import Foundation
import SonoKitCore
import XCTest
@testable import Reports

/// The one naming function of the per-class probability columns (evaluate's studies.csv and
/// frames.csv, predict's predictions.csv): safe identifiers, distinct also where case is ignored,
/// in class order, never a fixed column's name.
final class ClassProbabilityColumnsTests: XCTestCase {
    // MARK: Unsafe characters become `_`; a taken name gets _2, _3, ... in class order

    func testUnsafeCharactersBecomeUnderscoresAndCollisionsGetASuffix() {
        XCTAssertEqual(ClassProbabilityColumns.names(classes: ["a b", "a-b", "BI-RADS 4", "é", "٣"]),
                       ["probability_a_b", "probability_a_b_2", "probability_BI_RADS_4", "probability__", "probability___2"])
        // A class whose own name is a suffixed one takes the next free name, wherever it comes.
        XCTAssertEqual(ClassProbabilityColumns.names(classes: ["a b", "a-b", "a_b_2"]),
                       ["probability_a_b", "probability_a_b_2", "probability_a_b_2_2"])
        XCTAssertEqual(ClassProbabilityColumns.names(classes: ["a_b_2", "a b", "a-b"]),
                       ["probability_a_b_2", "probability_a_b", "probability_a_b_3"])
        XCTAssertEqual(ClassProbabilityColumns.names(classes: ["normal", "cyst", "solid_lesion2"]),
                       ["probability_normal", "probability_cyst", "probability_solid_lesion2"], "safe names are kept as they are")
    }

    // MARK: Names that differ only in case are distinct for SQL too (SQLite compares them case-insensitively)
    // Guards: a case-sensitive collision check, which gives `probability_Benign` and
    // `probability_benign`: one column for SQLite, MySQL, SQL Server and unquoted PostgreSQL.

    func testNamesDifferingOnlyInCaseAreDisambiguated() {
        XCTAssertEqual(ClassProbabilityColumns.names(classes: ["Benign", "benign", "BENIGN", "mass"]),
                       ["probability_Benign", "probability_benign_2", "probability_BENIGN_3", "probability_mass"])
    }

    // MARK: Every name is an identifier ([A-Za-z][A-Za-z0-9_]*), distinct ignoring case, for any class list

    func testEveryNameIsASafeDistinctIdentifier() throws {
        var random = SplitMix64(seed: 17)
        let alphabet = Array("aAbB_- .1é/\"'%ß")
        for _ in 0..<500 {
            let count = 2 + Int(random.next() % 6)
            var classes = Set<String>()
            while classes.count < count {
                classes.insert(String((0..<(1 + Int(random.next() % 4))).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }))
            }
            let names = ClassProbabilityColumns.names(classes: Array(classes))
            XCTAssertEqual(names.count, classes.count)
            XCTAssertEqual(Set(names.map { $0.lowercased() }).count, names.count, "\(classes) -> \(names)")
            for name in names {
                XCTAssertNotNil(name.range(of: "^probability_[A-Za-z0-9_]*$", options: .regularExpression), name)
            }
        }
    }

    // MARK: No fixed column of the three files begins with the prefix, so a class never takes one's name

    func testNoFixedColumnCanBeTaken() {
        let fixed = EvaluationTables.studyColumns + EvaluationTables.frameColumns + PredictionCSV.columns
            + [MulticlassEvaluationTables.taskColumn, "prediction", "predicted_class"]
        for column in fixed { XCTAssertFalse(column.lowercased().hasPrefix(ClassProbabilityColumns.prefix), column) }
        for classes in [["normal", "cyst"], ["", "x"]] {
            for header in [MulticlassEvaluationTables.studyColumns(classes), MulticlassEvaluationTables.frameColumns(classes),
                           PredictionCSV.multiclassColumns(classes: classes)] {
                XCTAssertEqual(Set(header.map { $0.lowercased() }).count, header.count, "\(header)")
            }
        }
    }
}
