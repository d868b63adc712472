import Foundation
import XCTest
@testable import Manifest
import SonoKitCore

/// Validation: every problem is reported, each at the line (and column) of the row that causes it,
/// and nothing a message says contains a patient id.
final class ManifestValidatorTests: XCTestCase {

    /// Patients SECRET-A..D, one study each (SA..SD) of two ultrasound images, plus:
    /// study SA also holds an SR (not an image) and a non-ultrasound secondary capture;
    /// study SR-ONLY holds only an SR; study CT-ONLY only non-ultrasound images.
    /// Study SA has accession ACC-A.
    func makeResolver() -> InMemoryResolver {
        var r = InMemoryResolver()
        for p in ["A", "B", "C", "D", "E", "F"] {
            r.add("\(p)1", series: "SE\(p)", study: "S\(p)", patient: "SECRET-\(p)", frames: 10)
            r.add("\(p)2", series: "SE\(p)", study: "S\(p)", patient: "SECRET-\(p)")
        }
        r.add("A-SR", series: "SEA-SR", study: "SA", patient: "SECRET-A", isImage: false, isUltrasound: false)
        r.add("A-SC", series: "SEA-SC", study: "SA", patient: "SECRET-A", isUltrasound: false)
        r.add("SR1", series: "SE-SR", study: "SR-ONLY", patient: "SECRET-E", isImage: false, isUltrasound: false)
        r.add("CT1", series: "SE-CT", study: "CT-ONLY", patient: "SECRET-E", isUltrasound: false)
        r.accessionOfStudy = ["SA": "ACC-A", "SB": "ACC-B"]
        return r
    }

    func validate(_ text: String, hasher: PixelHashing? = TablePixelHasher(), splits: SplitAssignment? = nil,
                  minimumStudies: Int = 1, file: StaticString = #filePath, line: UInt = #line) throws -> ValidationResult {
        let manifest = try parse(text)
        let result = ManifestValidator.validate(manifest, resolver: makeResolver(), pixelHasher: hasher, splits: splits,
                                                options: ValidationOptions(minimumStudiesPerClass: minimumStudies))
        for issue in result.report.issues {
            XCTAssertFalse(issue.message.contains("SECRET"), "a message names a patient: \(issue.message)", file: file, line: line)
        }
        return result
    }

    // MARK: - A clean manifest, and resolution by every key kind

    func testCleanManifestResolvesEveryKeyKind() throws {
        let r = try validate("""
            path,sop_uid,series_uid,study_uid,accession,label,patient_id
            /data/A1.dcm,,,,,benign,SECRET-A
            ,B1,,,,malignant,SECRET-B
            ,,SEC,,,benign,SECRET-C
            ,,,SD,,malignant,SECRET-D
            ,,,,ACC-A,benign,SECRET-A
            """)
        XCTAssertEqual(r.report.issues.filter { $0.severity == .error }, [])
        XCTAssertTrue(r.report.isValid)
        // path -> A1; sop -> B1; series SEC -> C1,C2; study SD -> D1,D2; accession ACC-A -> study SA's
        // ultrasound images A1 (already named on line 2: overlap warning) and A2; SR and SC skipped.
        XCTAssertEqual(r.resolved.images.map(\.instance.sopInstanceUID), ["A1", "B1", "C1", "C2", "D1", "D2", "A2"])
        XCTAssertEqual(r.resolved.images.map(\.line), [2, 3, 4, 4, 5, 5, 6])
        XCTAssertEqual(r.report.codesAndLines, ["overlapping_rows@6"])
        XCTAssertEqual(r.report.summary.patients, 4)
        XCTAssertEqual(r.report.summary.studies, 4)
        XCTAssertEqual(r.report.summary.frames, 10 + 10 + 10 + 1 + 10 + 1 + 1)
        XCTAssertEqual(r.report.summary.studiesPerClass.map(\.studies), [2, 2])
        XCTAssertEqual(r.resolved.images.first?.isPositive, false)
        XCTAssertEqual(r.resolved.images[1].isPositive, true)
    }

    func testStudyIDAndWeightAndSiteAreCarried() throws {
        let r = try validate("""
            sop_uid,label,patient_id,study_id,weight,site
            A1,benign,SECRET-A,visit-1,2,north
            B1,malignant,SECRET-B,,,
            """)
        XCTAssertTrue(r.report.isValid)
        XCTAssertEqual(r.resolved.images[0].studyID, "visit-1")
        XCTAssertEqual(r.resolved.images[0].weight, 2)
        XCTAssertEqual(r.resolved.images[0].site, "north")
        XCTAssertEqual(r.resolved.images[1].studyID, "SB", "without study_id the Study Instance UID is the study")
        XCTAssertEqual(r.resolved.images[1].weight, 1)
    }

    // MARK: - Row errors, each at its line

    func testUnknownAndMissingLabel() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,Malignant,SECRET-B\nC1,,SECRET-C\nD1,malignant,SECRET-D\n")
        XCTAssertEqual(r.report.codesAndLines, ["unknown_label@3", "missing_label@4"])
        XCTAssertEqual(r.report.issues.map(\.column), ["label", "label"])
        XCTAssertFalse(r.report.isValid)
    }

    func testMissingPatientID() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,\n")
        XCTAssertEqual(r.report.codesAndLines.first, "missing_patient_id@3")
        XCTAssertEqual(r.report.issues.first?.column, "patient_id")
    }

    func testRowWithoutReference() throws {
        let r = try validate("path,sop_uid,label,patient_id\n,A1,benign,SECRET-A\n,,malignant,SECRET-B\n")
        XCTAssertTrue(r.report.codesAndLines.contains("missing_reference@3"))
        XCTAssertEqual(r.report.issues.first { $0.code == .missingReference }?.column, "path/sop_uid")
    }

    func testReferencesThatResolveToNothing() throws {
        let r = try validate("""
            path,sop_uid,series_uid,study_uid,accession,label,patient_id
            missing.dcm,,,,,benign,SECRET-A
            ,NOPE,,,,benign,SECRET-A
            ,,NOPE,,,benign,SECRET-A
            ,,,NOPE,,benign,SECRET-A
            ,,,,NOPE,benign,SECRET-A
            ,B1,,,,malignant,SECRET-B
            """)
        XCTAssertEqual(Array(r.report.codesAndLines.prefix(5)), ["unresolved_reference@2", "unresolved_reference@3", "unresolved_reference@4", "unresolved_reference@5", "unresolved_reference@6"])
        XCTAssertEqual(Array(r.report.issues.prefix(5).map(\.column)), ["path", "sop_uid", "series_uid", "study_uid", "accession"])
    }

    func testReferencesToNonImageObjects() throws {
        let r = try validate("""
            sop_uid,study_uid,label,patient_id
            A-SR,,benign,SECRET-A
            ,SR-ONLY,benign,SECRET-E
            ,CT-ONLY,benign,SECRET-E
            A-SC,,benign,SECRET-A
            B1,,malignant,SECRET-B
            """)
        XCTAssertEqual(r.report.codesAndLines, ["not_an_image@2", "not_an_image@3", "no_ultrasound_image@4", "not_ultrasound@5"])
        XCTAssertEqual(r.report.issues.map(\.severity), [.error, .error, .error, .warning])
    }

    func testReferencesOfOneRowMustAgree() throws {
        let r = try validate("sop_uid,study_uid,label,patient_id\nA1,SA,benign,SECRET-A\nB1,SA,malignant,SECRET-B\n")
        XCTAssertEqual(r.report.codesAndLines.first, "reference_mismatch@3")
        XCTAssertEqual(r.report.issues.first?.column, "study_uid")
    }

    func testPatientIDDisagreeingWithDICOMIsAWarning() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-X\n")
        XCTAssertEqual(r.report.codesAndLines, ["patient_id_mismatch@3"])
        XCTAssertTrue(r.report.isValid, "a warning does not fail validation")
    }

    // MARK: - Rows against rows

    func testOneImageWithTwoLabels() throws {
        // Study row labels A1 and A2 benign; line 3 labels A2 malignant.
        let r = try validate("study_uid,sop_uid,label,patient_id\nSA,,benign,SECRET-A\n,A2,malignant,SECRET-A\n,B1,malignant,SECRET-B\n")
        XCTAssertEqual(r.report.codesAndLines, ["conflicting_labels@3"])
        XCTAssertTrue(r.report.issues[0].message.contains("line 2"))
    }

    func testDuplicateRows() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\nA1,benign,SECRET-A\n")
        XCTAssertEqual(r.report.codesAndLines, ["duplicate_row@4"])
        XCTAssertTrue(r.report.issues[0].message.contains("line 2"))
        XCTAssertEqual(r.resolved.images.count, 2, "the duplicate adds nothing")
    }

    func testOneImageUnderTwoPatientsAndInTwoSplits() throws {
        let r = try validate("sop_uid,label,patient_id,split\nA1,benign,SECRET-A,train\nB1,malignant,SECRET-B,train\nA1,benign,SECRET-Z,test\nC1,benign,SECRET-C,test\nD1,malignant,SECRET-D,test\n")
        XCTAssertEqual(r.report.codesAndLines, ["patient_id_mismatch@4", "conflicting_patients@4", "conflicting_splits@4"])
    }

    func testPatientInTwoSplits() throws {
        let r = try validate("""
            sop_uid,label,patient_id,split
            A1,benign,SECRET-A,train
            B1,malignant,SECRET-B,train
            A2,benign,SECRET-A,test
            C1,benign,SECRET-C,test
            D1,malignant,SECRET-D,test
            """)
        XCTAssertEqual(r.report.codesAndLines, ["patient_in_two_splits@4"])
        XCTAssertEqual(r.report.issues[0].column, "split")
        XCTAssertTrue(r.report.issues[0].message.contains("line 2"))
    }

    func testMissingSplitWhenOthersHaveOne() throws {
        let r = try validate("sop_uid,label,patient_id,split\nA1,benign,SECRET-A,train\nB1,malignant,SECRET-B,train\nC1,benign,SECRET-C,\n")
        XCTAssertEqual(r.report.codesAndLines.first, "missing_split@4")
    }

    // MARK: - Same pixels

    func testSamePixelsUnderTwoPatients() throws {
        var hasher = TablePixelHasher()
        hasher.hashes = ["A1": ["h1"], "C1": ["x", "h1"]]   // C1's second frame is A1's picture
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\nC1,benign,SECRET-C\n", hasher: hasher)
        XCTAssertEqual(r.report.codesAndLines, ["same_pixels_two_patients@4"])
        XCTAssertTrue(r.report.issues[0].message.contains("line 2"))
    }

    func testSamePixelsInTwoSplitsForOnePatientAndTwiceInOneSplit() throws {
        var hasher = TablePixelHasher()
        hasher.hashes = ["A1": ["h1"], "A2": ["h1"], "B1": ["h2"], "B2": ["h2"]]
        let r = try validate("""
            sop_uid,label,patient_id,split
            A1,benign,SECRET-A,train
            B1,malignant,SECRET-B,train
            B2,malignant,SECRET-B,train
            C1,benign,SECRET-C,test
            D1,malignant,SECRET-D,test
            A2,benign,SECRET-A,test
            """, hasher: hasher)
        // Line 7 also puts patient A in a second split; the pixel check reports the leak as well.
        XCTAssertEqual(r.report.codesAndLines, ["same_pixels_twice@4", "patient_in_two_splits@7", "same_pixels_two_splits@7"])
        XCTAssertEqual(r.report.issues[0].severity, .warning)
    }

    func testRepeatedFramesInsideOneCineAreNotDuplicates() throws {
        var hasher = TablePixelHasher()
        hasher.hashes = ["A1": ["h", "h", "h"]]
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\n", hasher: hasher)
        XCTAssertEqual(r.report.issues, [])
    }

    func testUndecodableImageIsAnError() throws {
        var hasher = TablePixelHasher()
        hasher.failing = ["B1"]
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\n", hasher: hasher)
        XCTAssertEqual(r.report.codesAndLines, ["undecodable_image@3"])
    }

    func testPixelProgressCountsEveryImageOnce() throws {
        final class Calls: @unchecked Sendable { var seen: [Int] = []; var totals = Set<Int>() }
        let calls = Calls()
        let manifest = try parse("sop_uid,study_uid,label,patient_id\nA1,,benign,SECRET-A\n,SB,malignant,SECRET-B\n,SC,benign,SECRET-C\n")
        _ = ManifestValidator.validate(manifest, resolver: makeResolver(), pixelHasher: TablePixelHasher(),
                                       options: ValidationOptions(minimumStudiesPerClass: 1, pixelProgress: { done, total in
                                           calls.seen.append(done); calls.totals.insert(total) }))
        XCTAssertEqual(calls.seen, [1, 2, 3, 4, 5], "A1, B1, B2, C1, C2, each reported once, counts never interleaved")
        XCTAssertEqual(calls.totals, [5])
    }

    func testWithoutHasherThePixelCheckIsSkipped() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\n", hasher: nil)
        XCTAssertTrue(r.report.isValid)
    }

    // MARK: - Classes and splits as a whole

    func testSplitWithoutPositiveOrNegative() throws {
        let r = try validate("""
            sop_uid,label,patient_id,split
            A1,benign,SECRET-A,train
            B1,malignant,SECRET-B,train
            C1,benign,SECRET-C,test
            D1,malignant,SECRET-D,validation
            """)
        XCTAssertEqual(r.report.codesAndLines, ["split_without_positive@-", "split_without_negative@-"])
        XCTAssertTrue(r.report.issues[0].message.contains("'test'"))
        XCTAssertTrue(r.report.issues[1].message.contains("'validation'"))
    }

    // MARK: Multi-class splits: fewer than two classes in a split is an error; a class missing
    // from a split, or with fewer than max(2, minimum / splits) studies there, a warning naming both.

    func testMulticlassSplitChecksAndPerClassCounts() throws {
        let manifest = try parse("""
            # classes: normal,cyst,solid
            study_uid,label,patient_id,split
            SA,normal,SECRET-A,train
            SB,cyst,SECRET-B,train
            SC,solid,SECRET-C,train
            SD,normal,SECRET-D,test
            SE,cyst,SECRET-E,test
            SF,normal,SECRET-F,validation
            """, classes: nil)
        XCTAssertEqual(manifest.classes.task, .multiclass)
        let r = ManifestValidator.validate(manifest, resolver: makeResolver(), pixelHasher: nil,
                                           options: ValidationOptions(minimumStudiesPerClass: 1))
        let issues = r.report.issues
        XCTAssertFalse(issues.contains { $0.code == .splitWithoutPositive || $0.code == .splitWithoutNegative },
                       "the binary positive/negative checks do not apply")
        let oneClass = issues.filter { $0.code == .splitWithOneClass }
        XCTAssertEqual(oneClass.count, 1)
        XCTAssertEqual(oneClass.first?.severity, .error)
        XCTAssertTrue(oneClass.first?.message.contains("'validation'") ?? false)
        let missing = issues.filter { $0.code == .classMissingFromSplit }
        XCTAssertEqual(missing.map(\.severity), [.warning])
        XCTAssertTrue(missing[0].message.contains("'test'") && missing[0].message.contains("'solid'"), missing[0].message)
        XCTAssertEqual(issues.filter { $0.code == .smallClassInSplit }.count, 5, "train: 3 classes with 1 study; test: 2")
        XCTAssertFalse(r.report.isValid)
        XCTAssertFalse(issues.contains { $0.message.contains("SECRET") })
        // Per class: studies, images (2 ultrasound images per study), patients; per split too.
        let s = r.report.summary
        XCTAssertEqual(s.task, .multiclass)
        XCTAssertNil(s.positiveClass)
        XCTAssertEqual(s.ordinal, false)
        XCTAssertEqual(s.studiesPerClass.map(\.label), ["normal", "cyst", "solid"])
        XCTAssertEqual(s.studiesPerClass.map(\.studies), [3, 2, 1])
        XCTAssertEqual(s.studiesPerClass.map(\.images), [6, 4, 2])
        XCTAssertEqual(s.studiesPerClass.map(\.patients), [3, 2, 1])
        XCTAssertEqual(s.splits.map(\.name), ["train", "test", "validation"])
        XCTAssertEqual(s.splits[1].studiesPerClass, [1, 1, 0])
        XCTAssertEqual(s.splits[1].imagesPerClass, [2, 2, 0])
        XCTAssertEqual(s.splits[1].patientsPerClass, [1, 1, 0])
        XCTAssertEqual(r.resolved.images.map(\.classIndex), [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 0, 0])
        XCTAssertFalse(r.resolved.images.contains(where: \.isPositive))
        let json = String(decoding: try JSONEncoder().encode(r.report), as: UTF8.self)
        XCTAssertTrue(json.contains("\"task\":\"multiclass\"") && !json.contains("positive_class"), json)
    }

    func testSmallAndEmptyClasses() throws {
        let small = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,malignant,SECRET-B\nC1,malignant,SECRET-C\n", minimumStudies: 2)
        XCTAssertEqual(small.report.codesAndLines, ["small_class@-"])
        XCTAssertEqual(small.report.issues[0].severity, .warning)
        XCTAssertTrue(small.report.isValid)
        let empty = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\n")
        XCTAssertEqual(empty.report.codesAndLines, ["empty_class@-"])
        XCTAssertFalse(empty.report.isValid)
    }

    func testUnconventionalSplitNameIsAWarningOnce() throws {
        let r = try validate("sop_uid,label,patient_id,split\nA1,benign,SECRET-A,tset\nB1,malignant,SECRET-B,tset\n")
        XCTAssertEqual(r.report.codesAndLines, ["unknown_split_name@2"])
    }

    // MARK: - A splits file decides the splits

    func testSplitsFileOverridesTheSplitColumn() throws {
        let splits = SplitAssignment(splitNames: ["train", "test"],
                                     splitOfPatient: ["SECRET-A": "train", "SECRET-B": "train", "SECRET-C": "test", "SECRET-D": "test"])
        let r = try validate("sop_uid,label,patient_id,split\nA1,benign,SECRET-A,test\nB1,malignant,SECRET-B,\nC1,benign,SECRET-C,\nD1,malignant,SECRET-D,\nE1,benign,SECRET-E,\n", splits: splits)
        XCTAssertEqual(r.report.codesAndLines, ["missing_split@6"])
        XCTAssertEqual(r.resolved.images.map(\.split), ["train", "train", "test", "test", nil], "the manifest column (test on line 2) is ignored")
        // Per-split counts in the report, in the splits file's order.
        XCTAssertEqual(r.report.summary.splits.map(\.name), ["train", "test"])
        XCTAssertEqual(r.report.summary.splits.map(\.patients), [2, 2])
        XCTAssertEqual(r.report.summary.splits.map(\.frames), [20, 20])
        XCTAssertEqual(r.report.summary.splits.map(\.studiesPerClass), [[1, 1], [1, 1]])
    }

    // MARK: - Every problem at once, in line order

    func testAllProblemsAreReportedNotJustTheFirst() throws {
        let r = try validate("""
            sop_uid,label,patient_id,colour
            A1,cat,SECRET-A,x
            NOPE,benign,SECRET-A,x
            B1,malignant,,x
            C1,benign,SECRET-C,x
            C1,benign,SECRET-C,x
            """)
        XCTAssertEqual(r.report.codesAndLines, ["unknown_column@1", "unknown_label@2", "unresolved_reference@3", "missing_patient_id@4", "duplicate_row@6", "empty_class@-"])
        XCTAssertEqual(r.report.errors.count, 5)
        XCTAssertEqual(r.report.warnings.count, 1)
    }

    func testReportJSONHasCountsAndNoPatientIDs() throws {
        let r = try validate("sop_uid,label,patient_id\nA1,benign,SECRET-A\nB1,dog,SECRET-B\n")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(r.report), as: UTF8.self)
        XCTAssertTrue(json.contains("\"error_count\":2"), json)
        XCTAssertTrue(json.contains("\"valid\":false"))
        XCTAssertTrue(json.contains("\"code\":\"unknown_label\""))
        XCTAssertFalse(json.contains("SECRET"))
        let decoded = try JSONDecoder().decode(ValidationReport.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.issues, r.report.issues)
    }

    func testFormattedIssueReadsLikeACompilerMessage() {
        let issue = ValidationIssue(.error, .unknownLabel, line: 12, column: "label", "label 'x' is not a declared class")
        XCTAssertEqual(issue.formatted(file: "labels.csv"), "labels.csv:12: error [unknown_label] column label: label 'x' is not a declared class")
    }
}
