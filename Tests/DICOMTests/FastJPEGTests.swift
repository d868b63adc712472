import DICOM
import Foundation
import Imaging
import SonoKitTestSupport
import XCTest

/// The libjpeg-turbo fast path for JPEG baseline colour frames (CDCMTK/FastJPEG.cpp): it runs where
/// it gives DCMTK's RGB, and hands every other case to DCMTK. Fixtures in Fixtures/fastjpeg/ are
/// made by scripts/fixtures/dicom/make_fastjpeg_fixtures.py (DCMTK's dcmcjpeg/dcmodify/dcmj2pnm).
final class FastJPEGTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fastjpeg")
    static let readerFixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reader")
    static let jpegBaseline = "1.2.840.10008.1.2.4.50"

    /// JPEG baseline 8-bit colour files the fast path is for: YBR_FULL_422 / YBR_FULL / RGB.
    static func isFastPathCandidate(_ m: DicomMetadata) -> Bool {
        m.transferSyntaxUID == jpegBaseline && m.samplesPerPixel == 3 && m.bitsAllocated == 8
            && ["YBR_FULL_422", "YBR_FULL", "RGB"].contains(m.photometricInterpretation ?? "")
    }

    func sampleStudiesCandidates() throws -> [String] {
        let root = RepositoryPaths.sampleStudies.path
        let names = try XCTUnwrap(FileManager.default.subpaths(atPath: root))
        return names.map { root + "/" + $0 }.filter { DicomFile.looksLikeDICOM(path: $0) }.sorted().filter { path in
            guard let file = try? DicomFile(path: path) else { return false }
            return file.metadata.isImage && Self.isFastPathCandidate(file.metadata)
        }
    }

    /// Decodes every frame of `path` twice, libjpeg-turbo allowed and DCMTK forced, and returns
    /// the pairs.
    func decodeBothWays(_ path: String) throws -> [(fast: DecodedFrame, dcmtk: DecodedFrame)] {
        let fast = try DicomFile(path: path)
        let reference = try DicomFile(path: path)
        reference.allowsLibjpegTurbo = false
        return try (0..<fast.metadata.numberOfFrames).map { (try fast.decodeFrame($0), try reference.decodeFrame($0)) }
    }

    // MARK: The fast path runs on every JPEG baseline colour file of SampleStudies and the fixtures
    // and gives DCMTK's pixels: max |fast - dcmtk| <= 1 on every frame (measured: 0), with the same
    // photometric and colour-conversion record (codec for YBR, none for RGB).
    func testFastPathRunsOnEveryJPEGBaselineColourFileAndEqualsDCMTK() throws {
        let fixtures = ["rgb-jpeg-baseline.dcm", "cine-jpeg-baseline.dcm"].map { Self.readerFixtures.appendingPathComponent($0).path }
        let samples = try sampleStudiesCandidates()
        XCTAssertGreaterThanOrEqual(samples.count, 20, "SampleStudies should hold many JPEG baseline colour files")
        var stored = Set<String>()
        var frames = 0
        for path in fixtures + samples {
            for (fast, dcmtk) in try decodeBothWays(path) {
                XCTAssertEqual(fast.decoder, .libjpegTurbo, "\(path) frame \(fast.index): \(fast.decoderFallback ?? "")")
                XCTAssertNil(fast.decoderFallback, path)
                XCTAssertEqual(dcmtk.decoder, .dcmtk, path)
                let difference = try XCTUnwrap(fast.image.maxAbsoluteDifference(to: dcmtk.image), path)
                XCTAssertLessThanOrEqual(difference, 1, "\(path) frame \(fast.index)")
                XCTAssertEqual(fast.photometricAfter, dcmtk.photometricAfter, path)
                XCTAssertEqual(fast.colorConversion, dcmtk.colorConversion, path)
                XCTAssertEqual(fast.colorConversion, fast.photometricBefore == "RGB" ? .none : .codec, path)
                XCTAssertEqual(fast.voi.source, .notApplicable, path)
                stored.insert(fast.photometricBefore)
                frames += 1
            }
        }
        // SampleStudies spreads over the three colour models (one file is dcmcjpeg +cr, PI RGB).
        XCTAssertEqual(stored, ["YBR_FULL_422", "YBR_FULL", "RGB"])
        XCTAssertGreaterThan(frames, 30)
    }

    // MARK: Files the fast path decodes, against DCMTK's dcmj2pnm: several fragments per frame
    // located through the Basic Offset Table, one frame in several fragments, 4:4:4, 4:2:0
    // (DCMTK's and Pillow's encoders) and an RGB-coded JPEG under PI RGB (no conversion anywhere).
    func testFastPathDecodesFragmentsSamplingsAndRGBCodedJPEGLikeDcmj2pnm() throws {
        let cases: [(String, ColorConversion)] = [
            ("cine-fragments-offset-table", .codec), ("single-frame-fragments", .codec),
            ("ybr-full-444", .codec), ("ybr-full-420", .codec), ("ybr-420-pillow", .codec), ("rgb-coded", .none),
        ]
        for (stem, conversion) in cases {
            let file = try DicomFile(path: Self.fixtures.appendingPathComponent("\(stem).dcm").path)
            for f in 0..<file.metadata.numberOfFrames {
                let frame = try file.decodeFrame(f)
                XCTAssertEqual(frame.decoder, .libjpegTurbo, "\(stem): \(frame.decoderFallback ?? "")")
                XCTAssertEqual(frame.colorConversion, conversion, stem)
                let reference = try PNGFile.read(Self.fixtures.appendingPathComponent("\(stem).frame\(f).png").path)
                let difference = try XCTUnwrap(frame.image.maxAbsoluteDifference(to: reference), stem)
                XCTAssertLessThanOrEqual(difference, 1, "\(stem) frame \(f)")
            }
        }
    }

    // MARK: Every case outside the fast path's contract goes to DCMTK, with the reason recorded
    // (in the frame, or in DCMTK's error when DCMTK cannot decode it either), and then gives
    // exactly what DCMTK alone gives.
    func testEachUnusualJPEGBaselineFileFallsBackToDCMTKWithItsReason() throws {
        let cases: [(String, String)] = [
            ("cine-fragments-no-offset-table.dcm", "no usable Basic Offset Table"),
            ("ybr-440.dcm", "chroma subsampling other than 4:4:4, 4:2:2, 4:2:0"),
            ("rgb-pi-ycbcr-stream.dcm", "the JPEG markers say YCbCr, the Photometric Interpretation says RGB"),
            ("ybr-pi-rgb-stream.dcm", "the JPEG markers say RGB, the Photometric Interpretation says YBR_FULL_422"),
            ("gray-stream-color-attributes.dcm", "1 JPEG components with 3 samples per pixel"),
            ("wrong-rows.dcm", "JPEG is 64x48, the file says 64x40"),
            ("damaged-stream.dcm", "TurboJPEG:"),
            ("twelve-bit-as-baseline.dcm", "12-bit JPEG data"),
        ]
        for (name, reason) in cases {
            let path = Self.fixtures.appendingPathComponent(name).path
            let file = try DicomFile(path: path)
            XCTAssertEqual(file.metadata.transferSyntaxUID, Self.jpegBaseline, name)
            let reference = try DicomFile(path: path)
            reference.allowsLibjpegTurbo = false
            for f in 0..<file.metadata.numberOfFrames {
                do {
                    let frame = try file.decodeFrame(f)
                    XCTAssertEqual(frame.decoder, .dcmtk, name)
                    XCTAssertTrue(frame.decoderFallback?.contains(reason) == true, "\(name): \(frame.decoderFallback ?? "nil")")
                    XCTAssertEqual(frame.image, try reference.decodeFrame(f).image, name)
                    let png = Self.fixtures.appendingPathComponent("\(name.dropLast(4)).frame\(f).png").path
                    if FileManager.default.fileExists(atPath: png) {
                        let difference = try XCTUnwrap(frame.image.maxAbsoluteDifference(to: try PNGFile.read(png)))
                        XCTAssertLessThanOrEqual(difference, 1, "\(name) frame \(f) against dcmj2pnm")
                    }
                } catch DicomError.decodeFailed(_, _, let detail) {
                    // DCMTK cannot decode it either (e.g. frames past the first without an offset
                    // table): its error carries the fast path's reason.
                    XCTAssertTrue(detail.contains("(libjpeg-turbo declined: ") && detail.contains(reason), "\(name): \(detail)")
                    XCTAssertThrowsError(try reference.decodeFrame(f), name)
                }
            }
        }
    }

    func testGrayscaleJPEGBaselineKeepsDCMTKsVOIPipeline() throws {
        let frame = try DicomFile(path: Self.readerFixtures.appendingPathComponent("mono8-jpeg-baseline.dcm").path).decodeFrame(0)
        XCTAssertEqual(frame.decoder, .dcmtk)
        XCTAssertEqual(frame.decoderFallback, "grayscale keeps DCMTK's Modality LUT/VOI pipeline")
        XCTAssertEqual(frame.voi.source, .fileWindow)
    }

    func testOtherTransferSyntaxesAreDCMTKsWithoutAFallbackReason() throws {
        // 12-bit extended, lossless, JPEG-LS, RLE, palette, native: the fast path does not apply.
        for name in ["rgb-jpeg-extended.dcm", "mono16-jpeg-lossless.dcm", "rgb-jpeg-lossless-sv1.dcm",
                     "rgb-jpegls-lossless.dcm", "rgb-rle.dcm", "palette.dcm", "rgb.dcm"] {
            let frame = try DicomFile(path: Self.readerFixtures.appendingPathComponent(name).path).decodeFrame(0)
            XCTAssertEqual(frame.decoder, .dcmtk, name)
            XCTAssertNil(frame.decoderFallback, name)
        }
    }

    // MARK: Users see the decoder in the inspect JSON (Schemas/inspect.schema.json)
    func testInspectReportNamesTheDecoderAndTheFallbackReason() throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let cases: [(URL, String, String?)] = [
            (Self.readerFixtures.appendingPathComponent("rgb-jpeg-baseline.dcm"), "libjpeg-turbo", nil),
            (Self.fixtures.appendingPathComponent("ybr-440.dcm"), "dcmtk", "chroma subsampling other than 4:4:4, 4:2:2, 4:2:0"),
            (Self.readerFixtures.appendingPathComponent("rgb-rle.dcm"), "dcmtk", nil),
        ]
        for (url, decoder, fallback) in cases {
            let file = try DicomFile(path: url.path)
            let data = try encoder.encode(InspectReport(file: file, decodedFrame: try file.decodeFrame(0), includeIdentifiers: false))
            try SchemaValidator.validate(data, against: "inspect.schema.json")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(json["decoder"] as? String, decoder, url.lastPathComponent)
            XCTAssertEqual(json["decoder_fallback"] as? String, fallback, url.lastPathComponent)
        }
    }

    // MARK: One TurboJPEG handle per file: files decoded on several threads at once give the
    // pixels one thread gives.
    func testConcurrentDecodingOfDistinctFilesIsDeterministic() throws {
        let path = Self.readerFixtures.appendingPathComponent("cine-jpeg-baseline.dcm").path
        let expected = try (0..<4).map { try DicomFile(path: path).decodeFrame($0).image }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let file = try? DicomFile(path: path)
            results[i] = (0..<20).allSatisfy { k in (try? file?.decodeFrame(k % 4).image) == expected[k % 4] }
        }
        XCTAssertTrue(results.allSatisfy { $0 })
    }
}
