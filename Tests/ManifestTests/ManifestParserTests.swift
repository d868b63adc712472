import Foundation
import XCTest
@testable import Manifest
import SonoKitCore

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

    // MARK: - The task: positive -> binary; none and N > 2 -> multi-class; N == 2 and none -> ambiguous

    func testTaskFollowsThePositiveClassOrIsExplicit() throws {
        let binary = try ClassDeclaration(commaSeparatedClasses: "normal,cyst,solid", positive: "solid")
        XCTAssertEqual(binary.task, .binary, "a positive class keeps the binary task, also with three classes")
        XCTAssertTrue(binary.isPositive("solid"))
        XCTAssertFalse(binary.isPositive("cyst"))
        let multi = try ClassDeclaration(commaSeparatedClasses: "normal, cyst ,solid", positive: nil)
        XCTAssertEqual(multi.task, .multiclass)
        XCTAssertNil(multi.positive)
        XCTAssertEqual(multi.classes, ["normal", "cyst", "solid"])
        XCTAssertEqual(multi.classIndex(of: "cyst"), 1)
        XCTAssertNil(multi.classIndex(of: "Cyst"))
        XCTAssertFalse(multi.isPositive("solid"), "no class of a multi-class task is positive")
        XCTAssertFalse(multi.ordinal)
        let two = try ClassDeclaration(commaSeparatedClasses: "a,b", positive: nil, task: .multiclass)
        XCTAssertEqual(two.task, .multiclass, "--task multiclass makes two classes a softmax task")
        XCTAssertEqual(try ClassDeclaration(commaSeparatedClasses: "a,b,c", positive: "b", task: .binary).task, .binary)
    }

    func testAmbiguousAndContradictoryDeclarationsSayWhatToWrite() {
        func message(_ body: () throws -> ClassDeclaration) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let ambiguous = message { try ClassDeclaration(commaSeparatedClasses: "benign,malignant", positive: nil) }
        XCTAssertTrue(ambiguous.contains("--positive NAME") && ambiguous.contains("--task multiclass"), ambiguous)
        let ambiguousComment = message { try ClassDeclaration.fromComment(" classes: benign,malignant")! }
        XCTAssertTrue(ambiguousComment.contains("'positive: NAME'") && ambiguousComment.contains("'task: multiclass'"), ambiguousComment)
        let binaryWithout = message { try ClassDeclaration(commaSeparatedClasses: "a,b,c", positive: nil, task: .binary) }
        XCTAssertTrue(binaryWithout.contains("needs a positive class") && binaryWithout.contains("--positive"), binaryWithout)
        let multiWith = message { try ClassDeclaration(commaSeparatedClasses: "a,b,c", positive: "c", task: .multiclass) }
        XCTAssertTrue(multiWith.contains("drop the positive class"), multiWith)
        let ordinalBinary = message { try ClassDeclaration(commaSeparatedClasses: "a,b,c", positive: "c", task: nil, ordinal: true) }
        XCTAssertTrue(ordinalBinary.contains("--ordinal"), ordinalBinary)
        XCTAssertThrowsError(try ClassDeclaration.fromComment(" classes: a,b,c; task: softmax"))
        XCTAssertThrowsError(try ClassDeclaration.fromComment(" classes: a,b,c; ordinal: maybe"))
    }

    func testMulticlassCommentRoundTripsWithItsOrder() throws {
        let text = "# classes: birads2,birads3,birads4,birads5; task: multiclass; ordinal: yes\npath,label,patient_id\na.dcm,birads3,P1\n"
        let m = try parse(text, classes: nil)
        XCTAssertEqual(m.classes.task, .multiclass)
        XCTAssertTrue(m.classes.ordinal)
        XCTAssertEqual(m.classes.commentText, "classes: birads2,birads3,birads4,birads5; task: multiclass; ordinal: yes")
        XCTAssertEqual(try ClassDeclaration.fromComment(m.classes.commentText), m.classes)
        XCTAssertEqual(try ClassDeclaration.fromComment(" classes: a,b,c")?.task, .multiclass, "three classes without positive")
        XCTAssertEqual(benignMalignant.commentText, "classes: benign,malignant; positive: malignant", "binary: written as always")
        // The command line must agree with the comment, order flag included.
        let unordered = try ClassDeclaration(commaSeparatedClasses: "birads2,birads3,birads4,birads5", positive: nil)
        XCTAssertThrowsError(try parse(text, classes: unordered))
        // Codable: a declaration written before the task existed decodes as binary.
        let old = try JSONDecoder().decode(ClassDeclaration.self, from: Data(#"{"classes":["benign","malignant"],"positive":"malignant"}"#.utf8))
        XCTAssertEqual(old, benignMalignant)
        XCTAssertEqual(try JSONDecoder().decode(ClassDeclaration.self, from: try JSONEncoder().encode(m.classes)), m.classes)
    }
}
