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
    func file(_ relative: String) throws -> DicomFile {
        try DicomFile(path: RepositoryPaths.sampleStudies.appendingPathComponent(relative).path)
    }

    /// Intersection over union of two boxes.
    func iou(_ a: PixelRect, _ b: PixelRect) -> Double {
        let i = a.intersection(b)
        let inter = Double(i.width * i.height)
        return inter / (Double(a.width * a.height) + Double(b.width * b.height) - inter)
    }

    // MARK: With regions: the crop is the tissue region's bounds (inclusive -> width = X1 - X0 + 1)
    func testFileWithOneTissueRegionIsCroppedToIt() throws {
        let f = try file("SITEA/P0AFA78/S1/IM000002")
        let result = try FramePreprocessor(config: PreprocessConfig(frames: .first)).process(f)
        let tissue = try XCTUnwrap(f.metadata.regions.first { $0.isTissue })
        XCTAssertEqual(result.crop, CropDecision(box: tissue.bounds, source: .regions))
        XCTAssertEqual(result.frames.count, 1)
    }

    // MARK: Two tissue regions with different spacing: one kept, the other named in a warning
    func testRegionsWithDifferentSpacingAreNotMixed() throws {
        let f = try file("SITEA/P2298BC/S1/IM000001")
        let tissue = f.metadata.regions.filter(\.isTissue)
        XCTAssertEqual(tissue.count, 2)
        XCTAssertNotEqual(tissue[0].physicalDeltaX, tissue[1].physicalDeltaX)
        let crop = try FramePreprocessor(config: PreprocessConfig(frames: .first)).process(f).crop
        XCTAssertEqual(crop?.source, .regions)
        XCTAssertTrue(crop?.box == tissue[0].bounds || crop?.box == tissue[1].bounds, "\(String(describing: crop))")
        XCTAssertEqual(crop?.warnings.count, 1)
        XCTAssertTrue(crop?.warnings.first?.contains("spacing") ?? false)
    }

    // MARK: Without regions: auto, with the fallback recorded
    func testFileWithoutRegionsFallsBackToAuto() throws {
        let f = try file("site-b/anon-b42396/study-2/IMG0001.dcm")
        XCTAssertTrue(f.metadata.regions.isEmpty)
        let result = try FramePreprocessor(config: .standard).process(f)
        XCTAssertEqual(result.crop?.source, .auto)
        XCTAssertTrue(result.warnings.contains { $0.contains("0018,6011") })
        let box = try XCTUnwrap(result.crop?.box)
        XCTAssertLessThan(box.width * box.height, f.metadata.columns * f.metadata.rows, "the black frame is cut away")
    }

    // MARK: Cine loop with static burned-in text: auto finds the fan the file's region declares
    // The loop carries a tissue region (the generator's true fan box); `--crop auto` ignores it
    // and must find nearly the same box from the moving pixels alone, leaving out the static
    // text, ruler and grey bar around it (IoU >= 0.9).
    func testCineAutoCropMatchesTheDeclaredTissueRegion() throws {
        for path in ["SITEA/P6ADDA9/S2/IM000001", "site-b/anon-a24c21/study-1/IMG0003.dcm", "site-b/anon-74468e/study-1/IMG0001.dcm"] {
            let f = try file(path)
            XCTAssertGreaterThan(f.metadata.numberOfFrames, 1)
            let truth = try XCTUnwrap(f.metadata.regions.first { $0.isTissue }).bounds
            let crop = try XCTUnwrap(try FramePreprocessor(config: PreprocessConfig(frames: .first, crop: .auto)).process(f).crop)
            XCTAssertEqual(crop.source, .auto)
            XCTAssertGreaterThanOrEqual(iou(crop.box, truth), 0.9, "\(path): auto \(crop.box) vs region \(truth)")
        }
    }

    // MARK: A cine loop without regions: static text outside the moving fan is cut away
    func testCineWithoutRegionsExcludesStaticText() throws {
        let f = try file("SITEA/P779BD4/S1/IM000001")
        XCTAssertTrue(f.metadata.regions.isEmpty)
        let frames = try (0..<f.metadata.numberOfFrames).map { try f.decodeFrame($0).image }
        let crop = CropPlanner.automatic(frames: frames, width: f.metadata.columns, height: f.metadata.rows)
        // Every pixel outside the box is static across the loop (UI or background).
        let motion = CropPlanner.motionMask(frames)
        var movingOutside = 0, movingInside = 0
        for y in 0..<f.metadata.rows { for x in 0..<f.metadata.columns where motion[y * f.metadata.columns + x] {
            if x >= crop.box.x && x < crop.box.maxX && y >= crop.box.y && y < crop.box.maxY { movingInside += 1 } else { movingOutside += 1 }
        } }
        XCTAssertLessThan(Double(movingOutside), 0.01 * Double(movingInside))
        // And the static, bright burned-in pixels are mostly outside.
        var staticBrightInside = 0, staticBright = 0
        for y in 0..<f.metadata.rows { for x in 0..<f.metadata.columns where !motion[y * f.metadata.columns + x] {
            let p = frames[0][x, y]
            guard max(p.r, p.g, p.b) > 120 else { continue }
            staticBright += 1
            if x >= crop.box.x && x < crop.box.maxX && y >= crop.box.y && y < crop.box.maxY { staticBrightInside += 1 }
        } }
        XCTAssertGreaterThan(staticBright, 50, "the loop has burned-in text")
        XCTAssertLessThan(Double(staticBrightInside), 0.2 * Double(staticBright), "\(staticBrightInside) of \(staticBright) static bright pixels kept")
    }

    // MARK: Single frames: auto (non-background, largest part) vs the declared tissue region
    // Every SampleStudies image with exactly one tissue region: `--crop auto` must find nearly
    // the region from the pixels alone (IoU >= 0.8 on each, >= 0.9 on average), burned-in text and rulers left out.
    func testAutoCropAgreesWithTheTissueRegionOnEveryFile() throws {
        let paths = try ExportWalker.files(under: [RepositoryPaths.sampleStudies.path]).map(\.path).filter(DicomFile.looksLikeDICOM(path:))
        var checked = 0
        var worst = (1.0, ""), total = 0.0
        for path in paths {
            guard let f = try? DicomFile(path: path), f.metadata.isImage, !f.isDICOMDIR else { continue }
            let tissue = f.metadata.regions.filter(\.isTissue)
            guard tissue.count == 1 else { continue }
            let crop = try XCTUnwrap(try FramePreprocessor(config: PreprocessConfig(frames: .first, crop: .auto)).process(f).crop)
            let score = iou(crop.box, tissue[0].bounds)
            if score < worst.0 { worst = (score, path) }
            total += score
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 30)
        XCTAssertGreaterThanOrEqual(worst.0, 0.8, "worst: \(worst.1)")
        XCTAssertGreaterThanOrEqual(total / Double(checked), 0.9)
        print("auto crop vs tissue region on \(checked) files: mean IoU \(total / Double(checked)), worst \(worst.0)")
    }
}
