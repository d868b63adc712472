import DICOM
import Foundation
import XCTest
import Imaging
import SonoKitTestSupport
import Catalog
@testable import Preprocess

/// Crops on the real SampleStudies files (made by scripts/samples/make_sample_studies.py and
/// decoded by the DCMTK reader).
final class SampleStudiesCropTests: XCTestCase {
    /// Every decodable image of SampleStudies, found by content (not by file name, so the tests
    /// survive a regeneration of the samples).
    static let images: [DicomFile] = {
        let paths = (try? ExportWalker.files(under: [RepositoryPaths.sampleStudies.path]).map(\.path)) ?? []
        return paths.filter(DicomFile.looksLikeDICOM(path:)).compactMap { try? DicomFile(path: $0) }
            .filter { $0.metadata.isImage && !$0.isDICOMDIR }
    }()

    func images(_ where: (DicomFile) -> Bool, atLeast minimum: Int = 1, _ what: String) -> [DicomFile] {
        let found = Self.images.filter(`where`)
        XCTAssertGreaterThanOrEqual(found.count, minimum, "SampleStudies should hold \(what)")
        return found
    }

    /// Intersection over union of two boxes.
    func iou(_ a: PixelRect, _ b: PixelRect) -> Double {
        let i = a.intersection(b)
        let inter = Double(i.width * i.height)
        return inter / (Double(a.width * a.height) + Double(b.width * b.height) - inter)
    }

    // MARK: With regions: the crop is the tissue region's bounds (inclusive -> width = X1 - X0 + 1)
    func testFilesWithOneTissueRegionAreCroppedToIt() throws {
        for f in images({ $0.metadata.regions.filter(\.isTissue).count == 1 }, atLeast: 10, "files with one tissue region") {
            let result = try FramePreprocessor(config: PreprocessConfig(frames: .first)).process(f)
            let tissue = try XCTUnwrap(f.metadata.regions.first { $0.isTissue })
            XCTAssertEqual(result.crop, CropDecision(box: tissue.bounds, source: .regions), f.path)
            XCTAssertEqual(result.frames.count, 1)
        }
    }

    // MARK: The reader's colour and VOI decisions travel with each frame, through the cache too
    func testDecodeRecordsAreKeptAndCached() throws {
        let ybr = try XCTUnwrap(Self.images.first { $0.metadata.photometricInterpretation == "YBR_FULL_422" })
        let grey = try XCTUnwrap(Self.images.first { $0.metadata.photometricInterpretation == "MONOCHROME2" })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pre = FramePreprocessor(config: PreprocessConfig(frames: .first), cache: FrameCache(directory: folder))
        for f in [ybr, grey] {
            let first = try XCTUnwrap(try pre.process(f).frames.first)
            let again = try XCTUnwrap(try pre.process(f).frames.first)
            XCTAssertTrue(again.fromCache)
            XCTAssertEqual(first.decode, again.decode)
            let record = try XCTUnwrap(first.decode)
            XCTAssertEqual(record.photometricBefore, f.metadata.photometricInterpretation)
            if f === ybr {
                XCTAssertEqual(record.photometricAfter, "RGB")
                XCTAssertEqual(record.voi.source, .notApplicable)
            } else {
                XCTAssertEqual(record.photometricAfter, "MONOCHROME2")
                XCTAssertNotEqual(record.voi.source, .notApplicable)
            }
        }
    }

    // MARK: Two tissue regions with different spacing: one kept, the other named in a warning
    func testRegionsWithDifferentSpacingAreNotMixed() throws {
        let mixed = images({ f in
            let t = f.metadata.regions.filter(\.isTissue)
            return t.count == 2 && t[0].physicalDeltaX != t[1].physicalDeltaX
        }, "a file with two tissue regions of different spacing")
        for f in mixed {
            let tissue = f.metadata.regions.filter(\.isTissue)
            let crop = try FramePreprocessor(config: PreprocessConfig(frames: .first)).process(f).crop
            XCTAssertEqual(crop?.source, .regions)
            XCTAssertTrue(crop?.box == tissue[0].bounds || crop?.box == tissue[1].bounds, "\(f.path): \(String(describing: crop))")
            XCTAssertEqual(crop?.warnings.count, 1)
            XCTAssertTrue(crop?.warnings.first?.contains("spacing") ?? false)
        }
    }

    // MARK: Without regions: auto, with the fallback recorded
    func testFilesWithoutRegionsFallBackToAuto() throws {
        for f in images({ $0.metadata.regions.isEmpty }, atLeast: 3, "files without regions") {
            let result = try FramePreprocessor(config: .standard).process(f)
            XCTAssertEqual(result.crop?.source, .auto, f.path)
            XCTAssertTrue(result.warnings.contains { $0.contains("0018,6011") })
            let box = try XCTUnwrap(result.crop?.box)
            XCTAssertLessThan(box.width * box.height, f.metadata.columns * f.metadata.rows, "\(f.path): the black frame is cut away")
        }
    }

    // MARK: Cine loop with static burned-in text: auto finds the fan the file's region declares
    // Loops that carry a tissue region (the generator's true fan box): `--crop auto` ignores it
    // and must find nearly the same box from the moving pixels alone, leaving out the static
    // text, ruler and grey bar around it: measured IoU 0.985 to 1 on the 9 loops, so >= 0.98 each.
    func testCineAutoCropMatchesTheDeclaredTissueRegion() throws {
        let loops = images({ $0.metadata.numberOfFrames > 1 && $0.metadata.regions.filter(\.isTissue).count == 1 },
                           atLeast: 3, "cine loops with a tissue region")
        for f in loops {
            let truth = try XCTUnwrap(f.metadata.regions.first { $0.isTissue }).bounds
            let crop = try XCTUnwrap(try FramePreprocessor(config: PreprocessConfig(frames: .first, crop: .auto)).process(f).crop)
            XCTAssertEqual(crop.source, .auto)
            XCTAssertGreaterThanOrEqual(iou(crop.box, truth), 0.98, "\(f.path): auto \(crop.box) vs region \(truth)")
        }
    }

    // MARK: A cine loop without regions: static text outside the moving fan is cut away
    func testCineWithoutRegionsExcludesStaticText() throws {
        for f in images({ $0.metadata.numberOfFrames > 1 && $0.metadata.regions.isEmpty }, "a cine loop without regions") {
            let frames = try (0..<f.metadata.numberOfFrames).map { try f.decodeFrame($0).image }
            let crop = CropPlanner.automatic(frames: frames, width: f.metadata.columns, height: f.metadata.rows)
            let w = f.metadata.columns
            func inside(_ x: Int, _ y: Int) -> Bool { x >= crop.box.x && x < crop.box.maxX && y >= crop.box.y && y < crop.box.maxY }
            // Nearly every moving pixel is inside the box.
            let motion = CropPlanner.motionMask(frames)
            var movingOutside = 0, movingInside = 0
            for y in 0..<f.metadata.rows { for x in 0..<w where motion[y * w + x] {
                if inside(x, y) { movingInside += 1 } else { movingOutside += 1 }
            } }
            XCTAssertLessThan(Double(movingOutside), 0.01 * Double(movingInside), f.path)
            // The static, bright burned-in pixels are mostly outside.
            var staticBrightInside = 0, staticBright = 0
            for y in 0..<f.metadata.rows { for x in 0..<w where !motion[y * w + x] {
                let p = frames[0][x, y]
                guard max(p.r, p.g, p.b) > 120 else { continue }
                staticBright += 1
                if inside(x, y) { staticBrightInside += 1 }
            } }
            XCTAssertGreaterThan(staticBright, 50, "\(f.path): the loop has burned-in text")
            XCTAssertLessThan(Double(staticBrightInside), 0.2 * Double(staticBright),
                              "\(f.path): \(staticBrightInside) of \(staticBright) static bright pixels kept")
        }
    }

    // MARK: Single frames: auto (non-background, largest part) vs the declared tissue region
    // Every SampleStudies image with exactly one tissue region: `--crop auto` must find nearly
    // the region from the pixels alone, burned-in text and rulers left out. README states mean IoU
    // 0.99 (two decimals): measured 0.986 over 47 files, worst 0.941; the bounds sit just below.
    func testAutoCropAgreesWithTheTissueRegionOnEveryFile() throws {
        var checked = 0
        var worst = (1.0, ""), total = 0.0
        for f in Self.images {
            let path = f.path
            let tissue = f.metadata.regions.filter(\.isTissue)
            guard tissue.count == 1 else { continue }
            let crop = try XCTUnwrap(try FramePreprocessor(config: PreprocessConfig(frames: .first, crop: .auto)).process(f).crop)
            let score = iou(crop.box, tissue[0].bounds)
            if score < worst.0 { worst = (score, path) }
            total += score
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 30)
        XCTAssertGreaterThanOrEqual(worst.0, 0.94, "worst: \(worst.1)")
        XCTAssertGreaterThanOrEqual(total / Double(checked), 0.985, "README: mean IoU 0.99")
        print("auto crop vs tissue region on \(checked) files: mean IoU \(total / Double(checked)), worst \(worst.0)")
    }
}
