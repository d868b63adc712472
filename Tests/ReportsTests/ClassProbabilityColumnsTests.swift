import Evaluation
import Foundation
import SonoKitCore
import SonoKitTestSupport
import XCTest
@testable import Reports

/// The one naming function of the per-class probability columns (evaluate's studies.csv and
/// frames.csv, predict's predictions.csv): safe identifiers, distinct also where case is ignored,
/// in class order, never a fixed column's name; SQLite (Python's sqlite3) takes the headers unquoted.
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

    // MARK: SQLite (Python's sqlite3) creates a table from each header unquoted and reads a class's column by name
    // Guards: a name SQL cannot take unquoted, two names that are one column where case is ignored
    // (SQLite: "duplicate column name"), values under another class's column.

    func testSQLiteTakesEveryHeaderUnquoted() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-columns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let classes = ["Benign", "benign", "small mass", "small-mass", "BI-RADS 4", "é"]
        let study = MulticlassStudy(studyKey: "s1", patientKey: "p1", trueClass: 2, probabilities: [0.05, 0.15, 0.4, 0.2, 0.1, 0.1], framesUsed: 1)
        let frame = MulticlassFrame(studyKey: "s1", patientKey: "p1", frame: FrameReference(path: "/a.dcm", instanceKey: "i1", frameIndex: 0),
                                    trueClass: 2, probabilities: [0.05, 0.15, 0.4, 0.2, 0.1, 0.1])
        let files = [("studies.csv", MulticlassEvaluationTables.studiesCSV([study], classes: classes)),
                     ("frames.csv", MulticlassEvaluationTables.framesCSV([frame], classes: classes)),
                     ("predictions.csv", PredictionCSV.multiclassText(reports: [], failed: [PredictionStudyFailure(studyKey: "s2", reasons: ["x"])],
                                                                      classes: classes))]
        for (name, text) in files { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
        let script = """
        import csv, sqlite3, sys
        db = sqlite3.connect(":memory:")
        for i, path in enumerate(sys.argv[1:]):
            rows = list(csv.reader(open(path, newline="")))
            bad = [n for n in rows[0] if not n.isidentifier()]
            if bad: sys.exit(path + ": not identifiers: " + repr(bad))
            db.execute("CREATE TABLE t%d (%s)" % (i, ", ".join(rows[0])))
            db.executemany("INSERT INTO t%d VALUES (%s)" % (i, ", ".join("?" * len(rows[0]))), rows[1:])
        for t in ("t0", "t1"):
            print(db.execute("SELECT task, probability_Benign, probability_benign_2, probability_small_mass, probability_small_mass_2, probability_BI_RADS_4, probability__ FROM " + t).fetchall())
        print(db.execute("SELECT task, study_key FROM t2").fetchall())
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + files.map { folder.appendingPathComponent($0.0).path }
        let output = try ChildProcess.run(process, timeout: 120)
        XCTAssertEqual(output.status, 0, output.stderr)
        XCTAssertEqual(output.stdout.split(separator: "\n"), Array(repeating: "[('multiclass', '0.05', '0.15', '0.4', '0.2', '0.1', '0.1')]", count: 2)
            + ["[('multiclass', 's2')]"], output.stderr)
    }
}
