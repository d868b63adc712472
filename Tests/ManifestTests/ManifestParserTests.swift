import Foundation
import XCTest
@testable import Manifest

/// Reading manifests: the CSV dialects users' spreadsheets produce, and line numbers that match
/// what an editor shows (line 1 = first physical line of the file, comments included).
final class ManifestParserTests: XCTestCase {

    // MARK: - Basic shape

    func testHeaderAndRowsWithLineNumbers() throws {
        let m = try parse("path,label,patient_id\na.dcm,benign,P1\nb.dcm,malignant,P2\n")
        XCTAssertEqual(m.headerLine, 1)
        XCTAssertEqual(m.header, ["path", "label", "patient_id"])
        XCTAssertEqual(m.rows.map(\.line), [2, 3])
        XCTAssertEqual(m.rows[0].reference, .path("/data/a.dcm"))
        XCTAssertEqual(m.rows[1].label, "malignant")
        XCTAssertEqual(m.rows[1].patientID, "P2")
        XCTAssertTrue(m.parseIssues.isEmpty, "\(m.parseIssues)")
    }

    func testPathsResolveAgainstTheManifestFolderAndAbsolutePathsStay() throws {
        let m = try parse("path,label,patient_id\nsub/../x/a.dcm,benign,P1\n/abs/b.dcm,benign,P2\n", directory: "/work/export")
        XCTAssertEqual(m.rows[0].reference, .path("/work/export/x/a.dcm"))
        XCTAssertEqual(m.rows[1].reference, .path("/abs/b.dcm"))
    }

    // MARK: - Encodings and line ends

    func testUTF8ByteOrderMarkIsDropped() throws {
        // Excel's "CSV UTF-8" starts with EF BB BF; without stripping it, the first column would be
        // named "\u{FEFF}path" and be unknown.
        let m = try parse(bytes: [0xEF, 0xBB, 0xBF] + Array("path,label,patient_id\na.dcm,benign,P1\n".utf8))
        XCTAssertEqual(m.header.first, "path")
        XCTAssertEqual(m.rows.count, 1)
        XCTAssertTrue(m.parseIssues.isEmpty)
    }

    func testCRLFLineEnds() throws {
        let m = try parse("path,label,patient_id\r\na.dcm,benign,P1\r\nb.dcm,malignant,P2\r\n")
        XCTAssertEqual(m.rows.map(\.line), [2, 3])
        XCTAssertEqual(m.rows[1].patientID, "P2", "a CR must not stick to the last field")
    }

    func testOldMacCRLineEnds() throws {
        // A lone CR ends a line too (classic Mac OS exports), in the CSV reader and in our line count.
        let m = try parse("path,label,patient_id\ra.dcm,benign,P1\r\rb.dcm,malignant,\"P\r2\"\rc.dcm,benign,P3")
        XCTAssertEqual(m.rows.map(\.line), [2, 4, 6])
        XCTAssertEqual(m.rows[1].patientID, "P\r2")
    }

    func testNonUTF8BytesNameTheLine() {
        // Latin-1 "é" (0xE9) on line 3, as written by an old spreadsheet.
        let bytes = Array("path,label,patient_id\na.dcm,benign,P1\n".utf8) + [0x62, 0xE9, 0x2C] + Array("benign,P2\n".utf8)
        XCTAssertThrowsError(try parse(bytes: bytes)) { error in
            XCTAssertEqual(error as? ManifestError, .notUTF8(file: "labels.csv", line: 3))
            XCTAssertTrue("\(error)".contains("line 3"))
        }
    }

    func testNonUTF8AfterCRLFLinesCountsLinesOnce() {
        let bytes = Array("path,label,patient_id\r\na.dcm,benign,P1\r\n\r\n".utf8) + [0xFF] + Array(",benign,P2\r\n".utf8)
        XCTAssertThrowsError(try parse(bytes: bytes)) { error in
            XCTAssertEqual(error as? ManifestError, .notUTF8(file: "labels.csv", line: 4))
        }
    }

    // MARK: - Quoting

    func testQuotedFieldsWithDelimitersQuotesAndNewlines() throws {
        // Line 2 holds a quoted path with a comma, line 3 starts a quoted note spanning lines 3-4,
        // so the next row starts on line 5.
        let text = "path,label,patient_id,note\n\"dir,1/a.dcm\",benign,P1,x\n\"b.dcm\",malignant,P2,\"two\nlines, \"\"quoted\"\"\"\nc.dcm,benign,P3,\n"
        let m = try parse(text)
        XCTAssertEqual(m.rows.map(\.line), [2, 3, 5])
        XCTAssertEqual(m.rows[0].reference, .path("/data/dir,1/a.dcm"))
        XCTAssertEqual(m.rows[1].reference, .path("/data/b.dcm"))
        XCTAssertEqual(m.rows[2].patientID, "P3")
    }

    func testQuotedNewlineWithCRLFCountsAsOneLine() throws {
        let text = "path,label,patient_id,note\r\na.dcm,benign,P1,\"x\r\ny\r\nz\"\r\nb.dcm,benign,P2,\r\n"
        let m = try parse(text)
        XCTAssertEqual(m.rows.map(\.line), [2, 5])
    }

    func testUnclosedQuoteNamesTheLineWhereItOpens() {
        let text = "path,label,patient_id\na.dcm,benign,P1\n\"b.dcm,benign,P2\nc.dcm,benign,P3\n"
        XCTAssertThrowsError(try parse(text)) { error in
            XCTAssertEqual(error as? ManifestError, .unbalancedQuote(file: "labels.csv", line: 3))
        }
    }

    // MARK: - Empty lines, trailing delimiters, delimiters

    func testEmptyLinesAreSkippedButCounted() throws {
        let m = try parse("path,label,patient_id\n\na.dcm,benign,P1\n,,\n\nb.dcm,benign,P2\n\n")
        XCTAssertEqual(m.rows.map(\.line), [3, 6])
    }

    func testTrailingDelimiterIsTolerated() throws {
        let m = try parse("path,label,patient_id,\na.dcm,benign,P1,\nb.dcm,benign,P2\n")
        XCTAssertEqual(m.header, ["path", "label", "patient_id"])
        XCTAssertEqual(m.rows.count, 2)
        XCTAssertTrue(m.parseIssues.isEmpty, "\(m.parseIssues)")
    }

    func testExtraFieldsAreAnErrorOnTheirLine() throws {
        let m = try parse("path,label,patient_id\na.dcm,benign,P1,extra,more\n")
        XCTAssertEqual(m.parseIssues.map(\.code), [.extraFields])
        XCTAssertEqual(m.parseIssues.first?.line, 2)
    }

    func testSemicolonAndTabAreDetectedFromTheHeader() throws {
        let semicolon = try parse("path;label;patient_id\n\"a;1.dcm\";benign;P1\n")
        XCTAssertEqual(semicolon.delimiter, .semicolon)
        XCTAssertEqual(semicolon.rows[0].reference, .path("/data/a;1.dcm"))
        let tab = try parse("path\tlabel\tpatient_id\na b.dcm\tbenign\tP1\n")
        XCTAssertEqual(tab.delimiter, .tab)
        XCTAssertEqual(tab.rows[0].reference, .path("/data/a b.dcm"))
        // A comma inside a semicolon file is data, when the delimiter is forced.
        let forced = try parse("path;label;patient_id\na,1.dcm;benign;P1\n", delimiter: .semicolon)
        XCTAssertEqual(forced.rows[0].reference, .path("/data/a,1.dcm"))
    }

    func testDelimiterArgument() throws {
        XCTAssertEqual(try ManifestDelimiter(argument: "tab"), .tab)
        XCTAssertEqual(try ManifestDelimiter(argument: "\\t"), .tab)
        XCTAssertEqual(try ManifestDelimiter(argument: ";"), .semicolon)
        XCTAssertEqual(try ManifestDelimiter(argument: "Comma"), .comma)
        XCTAssertThrowsError(try ManifestDelimiter(argument: "|")) { XCTAssertEqual($0 as? ManifestError, .badDelimiter("|")) }
    }

    func testCellsAreTrimmedAndHeaderIsCaseInsensitive() throws {
        let m = try parse("Path , LABEL,Patient_ID\n a.dcm , benign ,  P1 \n")
        XCTAssertEqual(m.rows[0].label, "benign")
        XCTAssertEqual(m.rows[0].patientID, "P1")
    }

    // MARK: - Header problems

    func testUnknownColumnIsAWarningAndMissingColumnsAreErrors() throws {
        let m = try parse("path,lable,notes\na.dcm,benign,x\n")
        let byCode = Dictionary(grouping: m.parseIssues, by: \.code)
        XCTAssertEqual(byCode[.unknownColumn]?.count, 2)
        XCTAssertTrue(byCode[.unknownColumn]!.allSatisfy { $0.severity == .warning && $0.line == 1 })
        XCTAssertEqual(Set(byCode[.missingColumn]!.map(\.column)), ["label", "patient_id"])
        XCTAssertTrue(byCode[.missingColumn]!.allSatisfy { $0.severity == .error && $0.line == 1 })
    }

    func testNoReferenceColumnAndDuplicateColumn() throws {
        let m = try parse("label,patient_id,label\nbenign,P1,benign\n")
        XCTAssertEqual(Set(m.parseIssues.map(\.code)), [.noReferenceColumn, .duplicateColumn])
    }

    func testHeaderOnlyIsAnError() throws {
        let m = try parse("path,label,patient_id\n")
        XCTAssertEqual(m.parseIssues.map(\.code), [.emptyManifest])
    }

    func testInvalidWeight() throws {
        let m = try parse("path,label,patient_id,weight\na.dcm,benign,P1,2.5\nb.dcm,benign,P2,heavy\nc.dcm,benign,P3,-1\n")
        XCTAssertEqual(m.rows[0].weight, 2.5)
        XCTAssertEqual(m.parseIssues.map(\.line), [3, 4])
        XCTAssertTrue(m.parseIssues.allSatisfy { $0.code == .invalidWeight && $0.column == "weight" })
    }

    // MARK: - Class declaration

    func testClassCommentBeforeTheHeaderKeepsLineNumbers() throws {
        let text = "# classes: benign, malignant; positive: malignant\n# exported 2026-11-01\npath,label,patient_id\na.dcm,benign,P1\n"
        let m = try parse(text, classes: nil)
        XCTAssertEqual(m.classes, benignMalignant)
        XCTAssertEqual(m.headerLine, 3)
        XCTAssertEqual(m.rows.map(\.line), [4])
    }

    func testClassCommentAfterBOMAndWithCRLF() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("# classes: benign,malignant; positive: malignant\r\npath;label;patient_id\r\na.dcm;benign;P1\r\n".utf8)
        let m = try parse(bytes: bytes, classes: nil)
        XCTAssertEqual(m.classes.positive, "malignant")
        XCTAssertEqual(m.delimiter, .semicolon, "the comma of the class list must not decide the delimiter")
        XCTAssertEqual(m.rows.map(\.line), [3])
    }

    func testClassesAreNeverInferred() {
        XCTAssertThrowsError(try parse("path,label,patient_id\na.dcm,benign,P1\n", classes: nil)) { error in
            XCTAssertEqual(error as? ManifestError, .noClassDeclaration(file: "labels.csv"))
        }
    }

    func testCommentAndCommandLineMustAgree() {
        let other = try! ClassDeclaration(classes: ["benign", "malignant"], positive: "benign")
        XCTAssertThrowsError(try parse("# classes: benign,malignant; positive: malignant\npath,label,patient_id\n", classes: other)) { error in
            XCTAssertEqual(error as? ManifestError, .conflictingClassDeclarations(file: "labels.csv", line: 1))
        }
        XCTAssertNoThrow(try parse("# classes: benign,malignant; positive: malignant\npath,label,patient_id\na.dcm,benign,P1\n"))
    }

    func testBadDeclarations() {
        XCTAssertThrowsError(try ClassDeclaration(commaSeparatedClasses: "benign", positive: "benign"))
        XCTAssertThrowsError(try ClassDeclaration(commaSeparatedClasses: "benign,malignant", positive: "cancer"))
        XCTAssertThrowsError(try ClassDeclaration(commaSeparatedClasses: "a,a", positive: "a"))
        XCTAssertThrowsError(try ClassDeclaration(commaSeparatedClasses: "a,,b", positive: "a"))
        XCTAssertThrowsError(try ClassDeclaration.fromComment(" classes: a,b"))   // no positive
        XCTAssertNil(try ClassDeclaration.fromComment(" just a note"))
    }
}
