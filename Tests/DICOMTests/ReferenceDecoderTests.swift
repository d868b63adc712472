import DICOM
import Foundation
import Imaging
import XCTest

/// The reader against DCMTK's own tools, on fixtures made by
/// scripts/fixtures/dicom/make_reader_fixtures.py: every transfer syntax DCMTK writes, every
/// colour model ultrasound uses, grayscale with rescale / window / VOI LUT / MONOCHROME1, cine.
final class ReferenceDecoderTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reader")

    static func fixtureNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".dcm") }.sorted()
    }

    func testThereIsAFixtureForEveryTransferSyntaxDCMTKWrites() throws {
        let syntaxes = Set(try Self.fixtureNames().map { try DicomFile(path: Self.fixtures.appendingPathComponent($0).path).metadata.transferSyntaxUID })
        let expected: Set<String> = [
            "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
            "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
        ]
        XCTAssertEqual(syntaxes, expected)
    }

    // MARK: Pixels: every frame equals dcm2pnm/dcmj2pnm/dcml2pnm within 1 grey level
    func testEveryFrameMatchesDCMTKsRenderer() throws {
        for name in try Self.fixtureNames() {
            let stem = String(name.dropLast(4))
            let file = try DicomFile(path: Self.fixtures.appendingPathComponent(name).path)
            XCTAssertGreaterThan(file.metadata.numberOfFrames, 0, name)
            for f in 0..<file.metadata.numberOfFrames {
                let frame = try file.decodeFrame(f)
                let reference = try PNGFile.read(Self.fixtures.appendingPathComponent("\(stem).frame\(f).png").path)
                let difference = try XCTUnwrap(frame.image.maxAbsoluteDifference(to: reference), "\(name) size")
                XCTAssertLessThanOrEqual(difference, 1, "\(name) frame \(f): max difference \(difference)")
            }
        }
    }

    // MARK: VOI: the precedence explicit > file window > VOI LUT > min/max, never for colour
    func testVOISourceFollowsThePrecedenceAndIsRecorded() throws {
        for name in try Self.fixtureNames() {
            let stem = String(name.dropLast(4))
            let option = try String(contentsOf: Self.fixtures.appendingPathComponent("\(stem).voi.txt"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let expected: VOISource
            switch option {
            case "+Wi 1": expected = .fileWindow
            case "+Wl 1": expected = .voiLUT
            case "+Wm": expected = .minMax
            default: expected = .notApplicable
            }
            let frame = try DicomFile(path: Self.fixtures.appendingPathComponent(name).path).decodeFrame(0)
            XCTAssertEqual(frame.voi.source, expected, name)
        }
    }

    func testAnExplicitWindowOverridesTheFilesWindow() throws {
        let file = try DicomFile(path: Self.fixtures.appendingPathComponent("mono8-window.dcm").path)
        let frame = try file.decodeFrame(0, window: VOIWindow(center: 40, width: 2))
        XCTAssertEqual(frame.voi, VOIDecision(source: .explicit, center: 40, width: 2))
        // A 2-wide window is a threshold at 40: every output sample is 0 or 255.
        XCTAssertEqual(Set(frame.image.pixels), [0, 255])
        XCTAssertEqual(frame.image[0, 0].r, 0)  // stored value 0 is below the window
    }

    // MARK: Colour: converted to RGB exactly once, by the step that is recorded
    func testColorConversionIsRecordedOnce() throws {
        let cases: [(String, String, ColorConversion)] = [
            ("rgb.dcm", "RGB", .none),
            ("rgb-planar.dcm", "RGB", .none),
            ("rgb-jpeg-baseline.dcm", "YBR_FULL_422", .codec),
            ("ybr-full.dcm", "YBR_FULL", .ybrToRGB),
            ("ybr-full-rle.dcm", "YBR_FULL", .ybrToRGB),
            ("ybr-full-422.dcm", "YBR_FULL_422", .ybrToRGB),
            ("ybr-partial-422.dcm", "YBR_PARTIAL_422", .ybrToRGB),
            ("cine-ybr-full-422.dcm", "YBR_FULL_422", .ybrToRGB),
            ("palette.dcm", "PALETTE COLOR", .palette),
            ("mono8-window.dcm", "MONOCHROME2", .none),
        ]
        for (name, stored, conversion) in cases {
            let frame = try DicomFile(path: Self.fixtures.appendingPathComponent(name).path).decodeFrame(0)
            XCTAssertEqual(frame.photometricBefore, stored, name)
            XCTAssertEqual(frame.colorConversion, conversion, name)
        }
    }

    func testYBRFullDecodesToTheRGBItWasMadeFrom() throws {
        // ybr-full.dcm holds the YBR_FULL form of rgb.dcm's pixels, rounded and clipped to 0...255.
        // After exactly one conversion back they agree within that rounding: 0.5 + 1.772 x 0.5
        // for B, plus 0.5 for the inverse's own rounding, plus clipping of saturated Cb/Cr
        // (3 levels). Converting twice, or not at all, is off by tens of levels.
        let rgb = try DicomFile(path: Self.fixtures.appendingPathComponent("rgb.dcm").path).decodeFrame(0).image
        let ybr = try DicomFile(path: Self.fixtures.appendingPathComponent("ybr-full.dcm").path).decodeFrame(0).image
        XCTAssertLessThanOrEqual(try XCTUnwrap(rgb.maxAbsoluteDifference(to: ybr)), 3)
    }

    // MARK: Uncompressed 4:2:2 colour: 2 bytes per pixel for 3 samples (PS3.3 C.7.6.3.1.2)
    func testUncompressedYBR422IsNotRefusedAsShort() throws {
        // 64 x 48 pixels stored as Y1 Y2 Cb Cr per pair: 6144 bytes, not 9216. The reader once
        // required 3 bytes per pixel and called every such file damaged.
        for (name, frames) in [("ybr-full-422.dcm", 1), ("ybr-partial-422.dcm", 1), ("cine-ybr-full-422.dcm", 3)] {
            let m = try DicomFile(path: Self.fixtures.appendingPathComponent(name).path).metadata
            XCTAssertEqual(m.samplesPerPixel, 3, name)
            XCTAssertEqual(m.storedSamplesPerPixel, 2, name)
            XCTAssertEqual(m.expectedNativePixelBytes, 64 * 48 * 2 * frames, name)
        }
    }

    func testYBRFull422DecodesToTheRGBItWasMadeFrom() throws {
        // ybr-full-422-color.dcm is rgb.dcm's pattern with each horizontal pair's chroma averaged.
        // Inside runs of one colour the pair mean is exact, so the pixels agree within the
        // rounding of the forward and inverse transforms (3 levels, as for YBR_FULL); mistaking
        // the sample order (Cb Y Cr Y) or reading 3 bytes per pixel is off by tens of levels.
        let rgb = try DicomFile(path: Self.fixtures.appendingPathComponent("rgb.dcm").path).decodeFrame(0).image
        let ybr = try DicomFile(path: Self.fixtures.appendingPathComponent("ybr-full-422-color.dcm").path).decodeFrame(0).image
        // The yellow box (rows 10..<20, columns 10..<30) is one colour with even edges.
        for y in 11..<19 { for x in 12..<28 {
            let a = rgb[x, y], b = ybr[x, y]
            XCTAssertLessThanOrEqual(max(abs(Int(a.r) - Int(b.r)), abs(Int(a.g) - Int(b.g)), abs(Int(a.b) - Int(b.b))), 3, "(\(x), \(y))")
        } }
        // Everywhere, luminance is full resolution: the mean error stays small.
        var total = 0
        for i in 0..<rgb.pixels.count { total += abs(Int(rgb.pixels[i]) - Int(ybr.pixels[i])) }
        XCTAssertLessThan(Double(total) / Double(rgb.pixels.count), 4)
    }

    func testNativePixelLengthSaturatesInsteadOfTrapping() throws {
        var m = try DicomFile(path: Self.fixtures.appendingPathComponent("rgb.dcm").path).metadata
        XCTAssertEqual(m.expectedNativePixelBytes, 64 * 48 * 3)
        m.rows = 65535
        m.columns = 65535
        m.numberOfFrames = 1 << 31
        m.bitsAllocated = 16
        XCTAssertEqual(m.expectedNativePixelBytes, Int.max)
        m.photometricInterpretation = "YBR_FULL_422"
        m.rows = 1; m.columns = 3; m.numberOfFrames = 1; m.bitsAllocated = 8
        XCTAssertEqual(m.expectedNativePixelBytes, 6)  // 2 bytes per pixel
        m.bitsAllocated = 1; m.photometricInterpretation = "MONOCHROME2"; m.samplesPerPixel = 1
        XCTAssertEqual(m.expectedNativePixelBytes, 1)  // 3 bits round up to a byte
    }

    func testMonochrome1IsInvertedAfterVOI() throws {
        // mono1.dcm stores value 0 at (0,0) with a full-range window: MONOCHROME1 means 0 is white.
        let frame = try DicomFile(path: Self.fixtures.appendingPathComponent("mono1.dcm").path).decodeFrame(0)
        XCTAssertEqual(frame.photometricAfter, "MONOCHROME2")
        XCTAssertGreaterThanOrEqual(frame.image[0, 0].r, 254)
    }

    // MARK: Metadata equals what dcmdump prints
    func testMetadataEqualsDcmdump() throws {
        for name in try Self.fixtureNames() {
            let stem = String(name.dropLast(4))
            let dump = try DcmdumpReference(path: Self.fixtures.appendingPathComponent("\(stem).dump.txt").path)
            let m = try DicomFile(path: Self.fixtures.appendingPathComponent(name).path).metadata
            XCTAssertEqual(m.transferSyntaxUID, dump.string(.transferSyntaxUID), name)
            XCTAssertEqual(m.sopClassUID, dump.string(.sopClassUID), name)
            XCTAssertEqual(m.sopInstanceUID, dump.string(.sopInstanceUID), name)
            XCTAssertEqual(m.studyInstanceUID, dump.string(.studyInstanceUID), name)
            XCTAssertEqual(m.modality, dump.string(.modality), name)
            XCTAssertEqual(m.photometricInterpretation, dump.string(.photometricInterpretation), name)
            XCTAssertEqual(m.rows, dump.int(.rows), name)
            XCTAssertEqual(m.columns, dump.int(.columns), name)
            XCTAssertEqual(m.numberOfFrames, dump.int(.numberOfFrames) ?? 1, name)
            XCTAssertEqual(m.samplesPerPixel, dump.int(.samplesPerPixel), name)
            XCTAssertEqual(m.bitsAllocated, dump.int(.bitsAllocated), name)
            XCTAssertEqual(m.bitsStored, dump.int(.bitsStored), name)
            XCTAssertEqual(m.highBit, dump.int(.highBit), name)
            XCTAssertEqual(m.pixelRepresentation, dump.int(.pixelRepresentation), name)
            XCTAssertEqual(m.planarConfiguration, dump.int(.planarConfiguration), name)
            XCTAssertEqual(m.windowCenters, dump.doubles(.windowCenter), name)
            XCTAssertEqual(m.windowWidths, dump.doubles(.windowWidth), name)
            XCTAssertEqual(m.frameTimeMs, dump.doubles(.frameTime).first, name)
            XCTAssertEqual(m.transferSyntaxName, DicomUIDNames.transferSyntaxName(m.transferSyntaxUID), name)
        }
    }

    func testPatientIdentifiersAreReadButKeptApartFromMetadata() throws {
        let file = try DicomFile(path: Self.fixtures.appendingPathComponent("rgb.dcm").path)
        XCTAssertEqual(file.identifiers.patientID, "FIX-READER-01")
        let json = String(decoding: try JSONEncoder().encode(file.metadata), as: UTF8.self)
        XCTAssertFalse(json.contains("FIX-READER-01"))
        XCTAssertFalse(json.contains("FIXTURE^READER"))
    }

    // MARK: Frames are addressed explicitly
    func testAFramePastTheLastIsATypedError() throws {
        let path = Self.fixtures.appendingPathComponent("cine-rle.dcm").path
        let file = try DicomFile(path: path)
        XCTAssertEqual(file.metadata.numberOfFrames, 4)
        XCTAssertThrowsError(try file.decodeFrame(4)) { error in
            XCTAssertEqual(error as? DicomError, .frameOutOfRange(path: path, frame: 4, frameCount: 4))
        }
    }
}
