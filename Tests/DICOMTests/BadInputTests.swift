import DICOM
import Foundation
import SonoKitTestSupport
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

    /// A compressed frame lives in fragments of its own (PS3.5 A.4): a header claiming more frames
    /// than there are fragments has lost frames, and the file is refused when opened (as native
    /// pixel data that is too short is), not indexed as sound to fail frame by frame later.
    func testMoreFramesThanCompressedFragmentsIsTruncated() throws {
        let source = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reader/cine-jpeg-baseline.dcm")
        XCTAssertEqual(try DicomFile(path: source.path).metadata.numberOfFrames, 4)
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("frames-\(UUID().uuidString).dcm")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: source, to: copy)
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-m", "(0028,0008)=5", copy.path])
        do {
            _ = try DicomFile(path: copy.path)
            XCTFail("5 frames over 4 fragments opened")
        } catch let error as DicomError {
            XCTAssertEqual(error.kind, "truncated")
            XCTAssertTrue(error.description.hasPrefix(copy.path), error.description)
            XCTAssertTrue(error.description.contains("(0028,0008) is 5 but the compressed Pixel Data (7FE0,0010) holds 4 fragment(s)"), error.description)
        }
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-m", "(0028,0008)=3", copy.path])
        XCTAssertEqual(try DicomFile(path: copy.path).metadata.numberOfFrames, 3, "fewer frames than fragments is not this check's business")
    }

    func testEveryMessageNamesTheFile() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.folder.path) where name.hasSuffix(".dcm") {
            let e = try XCTUnwrap(error(opening: name, decodeFrame: true), name)
            XCTAssertTrue(e.description.hasPrefix(path(name)), e.description)
        }
    }
}
