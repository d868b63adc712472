import DICOM
import Foundation
import XCTest

/// Damaged files (Tests/DICOMTests/Fixtures/bad, made by scripts/samples/make_bad_inputs.py):
/// each gives its typed error naming the file, and nothing crashes.
final class BadInputTests: XCTestCase {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/bad")

    func error(opening name: String, decodeFrame: Bool = false) -> DicomError? {
        let path = Self.folder.appendingPathComponent(name).path
        do {
            let file = try DicomFile(path: path)
            if decodeFrame { _ = try file.decodeFrame(0) }
            return nil
        } catch {
            return error as? DicomError
        }
    }

    func path(_ name: String) -> String { Self.folder.appendingPathComponent(name).path }

    func testTruncatedInsidePixelData() {
        XCTAssertEqual(error(opening: "truncated.dcm")?.kind, "truncated")
    }

    func testTruncatedInsideTheHeader() {
        XCTAssertEqual(error(opening: "truncated-header.dcm")?.kind, "truncated")
    }

    func testTruncatedInsideACompressedFragment() {
        XCTAssertEqual(error(opening: "truncated-jpeg.dcm", decodeFrame: true)?.kind, "truncated")
    }

    func testATextFileNamedDcmIsNotDICOM() {
        XCTAssertEqual(error(opening: "not-dicom.dcm"), .notDICOM(path: path("not-dicom.dcm")))
    }

    func testAnImageWithoutPixelData() {
        XCTAssertEqual(error(opening: "no-pixel-data.dcm"), .noPixelData(path: path("no-pixel-data.dcm")))
    }

    func testJPEG2000IsAnUnsupportedSyntaxNamedInTheError() throws {
        let e = try XCTUnwrap(error(opening: "jpeg2000.dcm"))
        guard case let .unsupportedTransferSyntax(p, uid, name) = e else { return XCTFail("\(e)") }
        XCTAssertEqual(p, path("jpeg2000.dcm"))
        XCTAssertEqual(uid, "1.2.840.10008.1.2.4.90")
        XCTAssertTrue(name.contains("JPEG 2000"), name)
        XCTAssertTrue(e.description.contains("1.2.840.10008.1.2.4.90"))
    }

    func testPixelDataShorterThanTheAttributesSay() {
        XCTAssertEqual(error(opening: "short-pixel-data.dcm"),
                       .pixelDataTooShort(path: path("short-pixel-data.dcm"), expected: 57600, actual: 28800))
    }

    func testZeroRows() {
        XCTAssertEqual(error(opening: "zero-rows.dcm"), .zeroDimension(path: path("zero-rows.dcm"), tag: .rows))
    }

    func testZeroFrames() {
        XCTAssertEqual(error(opening: "zero-frames.dcm"), .zeroDimension(path: path("zero-frames.dcm"), tag: .numberOfFrames))
    }

    func testEveryMessageNamesTheFile() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.folder.path) where name.hasSuffix(".dcm") {
            let e = try XCTUnwrap(error(opening: name, decodeFrame: true), name)
            XCTAssertTrue(e.description.hasPrefix(path(name)), e.description)
        }
    }
}
