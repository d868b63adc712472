import DICOM
import Foundation
import XCTest
@testable import Reports

/// `--class-codes FILE`: parsed, validated, and every refusal names the file, line and column.
final class ClassCodeMapTests: XCTestCase {
    let classes = ["benign", "malignant", "cyst"]
    let header = "class,code_value,coding_scheme_designator,code_meaning\n"

    func parse(_ text: String) throws -> ClassCodeMap { try ClassCodeMap.parse(text, path: "codes.csv", classes: classes) }

    /// The error of `text`, as a user reads it.
    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ClassCodeMapError? {
        do { _ = try parse(text); XCTFail("accepted:\n\(text)", file: file, line: line); return nil } catch let e as ClassCodeMapError {
            return e
        } catch { XCTFail("\(error)", file: file, line: line); return nil }
    }

    // MARK: A valid file: quoted meanings with commas, a version column, comments, a BOM, CRLF

    func testAValidFileGivesEachClassItsCodeAndListsTheUnmappedOnes() throws {
        let text = "\u{FEFF}# codes for the thyroid model\r\nclass,code_value,coding_scheme_designator,code_meaning,coding_scheme_version\r\n"
            + "malignant,86049000,SCT,\"Malignant neoplasm, primary\",\r\n"
            + "\r\n"
            + "benign, 3898006 ,SCT,Neoplasm benign,2024-09\r\n"
        let map = try parse(text)
        XCTAssertEqual(map.code(for: "malignant"), CodedConcept("86049000", "SCT", "Malignant neoplasm, primary"))
        XCTAssertEqual(map.code(for: "benign"), CodedConcept("3898006", "SCT", "Neoplasm benign", version: "2024-09"),
                       "fields are trimmed; the version is kept")
        XCTAssertNil(map.code(for: "cyst"))
        XCTAssertEqual(map.unmapped(classes), ["cyst"])
        XCTAssertEqual(map.path, "codes.csv")
    }

    func testLoadReadsAFileAndNamesAMissingOne() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("codes-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data((header + "cyst,399294002,SCT,Cyst\n").utf8).write(to: url)
        XCTAssertEqual(try ClassCodeMap.load(path: url.path, classes: classes).code(for: "cyst")?.value, "399294002")
        XCTAssertThrowsError(try ClassCodeMap.load(path: url.path + ".none", classes: classes)) {
            XCTAssertTrue("\($0)".hasPrefix(url.path + ".none: cannot read"), "\($0)")
        }
    }

    // MARK: Refusals: file:line column X: what is wrong and what to write

    func testAnUnknownClassIsRefusedWithTheModelsClasses() {
        let e = error(header + "benign,3898006,SCT,Neoplasm benign\nmalignent,86049000,SCT,Malignant neoplasm\n")
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, "class")
        XCTAssertEqual(e?.description, "codes.csv:3 column class: unknown class 'malignent'; the model's classes are benign, malignant, cyst")
    }

    func testADuplicateClassNamesBothLines() {
        let e = error(header + "benign,3898006,SCT,Neoplasm benign\n# comment\nbenign,1,99LOCAL,Other\n")
        XCTAssertEqual(e?.line, 4)
        XCTAssertTrue(e?.description.contains("already coded on line 2") == true, e?.description ?? "")
    }

    func testAnEmptyFieldNamesItsColumn() {
        let e = error(header + "benign,,SCT,Neoplasm benign\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.column, "code_value")
        XCTAssertTrue(e?.problem.hasPrefix("empty") == true)
        XCTAssertEqual(error(header + "benign,3898006,SCT,  \n")?.column, "code_meaning", "blank is empty")
    }

    func testBadDesignatorsAreRefusedWithTheRightOne() {
        for (designator, expected) in [("SNOMED", "write SCT"), ("snomed-ct", "write SCT"), ("LOINC", "write LN"), ("RadLex", "write RADLEX"),
                                       ("99SONOKIT", "SonoKit's own private scheme"), ("A\\B", "backslash"),
                                       ("ABCDEFGHIJKLMNOPQ", "at most 16")] {
            let e = error(header + "benign,3898006,\(designator),Neoplasm benign\n")
            XCTAssertEqual(e?.column, "coding_scheme_designator", designator)
            XCTAssertTrue(e?.problem.contains(expected) == true, "\(designator): \(e?.problem ?? "")")
        }
        XCTAssertNoThrow(try parse(header + "benign,B-1,99MYHOSP,Benign lesion\ncyst,C0010709,UMLS,Cyst\nmalignant,C9305,NCIt,Malignant Neoplasm\n"),
                         "private and other registered designators are accepted")
    }

    func testCodeValuesAndMeaningsFollowTheirDICOMLimits() {
        let long = String(repeating: "x", count: 65)
        XCTAssertEqual(error(header + "benign,\(long),SCT,Neoplasm benign\n")?.column, "code_value")
        XCTAssertEqual(error(header + "benign,3898006,SCT,\(long)\n")?.column, "code_meaning")
        XCTAssertNoThrow(try parse(header + "benign,123456789012345678,SCT,Benign\n"), "an 18-digit SNOMED CT id (a Long Code Value) is fine")
    }

    func testHeaderProblems() {
        XCTAssertEqual(error("class,code,coding_scheme_designator,code_meaning\n")?.column, "code", "unknown column")
        XCTAssertEqual(error("class,code_value,code_meaning\n")?.column, "coding_scheme_designator", "missing column")
        XCTAssertTrue(error("# only a comment\n")?.description.hasPrefix("codes.csv: no header") == true)
        let e = error(header + "benign,3898006,SCT,Malignant neoplasm, primary\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue(e?.problem.contains("quote fields that contain a comma") == true, e?.problem ?? "")
        XCTAssertTrue(error(header + "benign,3898006,SCT,\"open\n")?.problem.contains("not closed") == true)
    }
}
