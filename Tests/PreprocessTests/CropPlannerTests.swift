import DICOM
import Foundation
import XCTest
import Imaging
@testable import Preprocess

final class CropPlannerTests: XCTestCase {
    let us = SyntheticUltrasound(width: 240, height: 160)

    // MARK: Regions: union of tissue regions (RegionDataType 1); bounds are DICOM-inclusive
    func testTissueRegionsAreUnitedAndOtherTypesIgnored() {
        let left = PixelRect(x: 10, y: 20, width: 80, height: 100)
        let right = PixelRect(x: 100, y: 30, width: 80, height: 100)
        let colourBar = PixelRect(x: 185, y: 0, width: 10, height: 150)
        let decision = CropPlanner.decide(mode: .regions, regions: [region(left), region(colourBar, dataType: 0x0E), region(right)],
                                          width: 200, height: 160, analysisFrames: { XCTFail("must not decode"); return [] })
        XCTAssertEqual(decision.source, .regions)
        XCTAssertEqual(decision.box, PixelRect(x: 10, y: 20, width: 170, height: 110))
        XCTAssertTrue(decision.warnings.isEmpty)
    }

    // MARK: Regions with different physical spacing are never mixed
    // Two tissue regions at 0.02 cm/px and one zoomed inset at 0.01 cm/px: the larger group wins,
    // the inset is named in a warning.
    func testRegionsWithDifferentSpacingAreNotMixed() {
        let a = PixelRect(x: 0, y: 0, width: 50, height: 50), b = PixelRect(x: 60, y: 0, width: 50, height: 50)
        let inset = PixelRect(x: 120, y: 100, width: 70, height: 50)
        let decision = CropPlanner.decide(mode: .regions, regions: [region(inset, delta: 0.01), region(a), region(b)],
                                          width: 200, height: 160, analysisFrames: { [] })
        XCTAssertEqual(decision.box, PixelRect(x: 0, y: 0, width: 110, height: 50))
        XCTAssertEqual(decision.warnings.count, 1)
        XCTAssertTrue(decision.warnings[0].contains("#1"), decision.warnings[0])
        XCTAssertTrue(decision.warnings[0].contains("spacing"))
    }

    // MARK: A region that overhangs the image is not trusted
    // Regions written for a larger acquisition matrix than the stored image: clamping them (the
    // old behaviour) silently crops the wrong part of the picture. The planner must instead fall
    // back to `auto`, name the region and its bounds, and give the box auto finds.
    func testARegionOutsideTheImageIsDistrustedAndAutoIsUsed() {
        let frames = (0..<4).map { us.frame($0) }
        let expected = CropPlanner.decide(mode: .auto, regions: [], width: us.width, height: us.height, analysisFrames: { frames })
        let fits = region(PixelRect(x: 10, y: 10, width: 100, height: 100))
        let overhangs = region(PixelRect(x: 150, y: 100, width: 100, height: 100))  // columns 150...249 of 240
        var decoded = false
        let d = CropPlanner.decide(mode: .regions, regions: [fits, overhangs], width: us.width, height: us.height,
                                   analysisFrames: { decoded = true; return frames })
        XCTAssertTrue(decoded)
        XCTAssertEqual(d.source, .auto)
        XCTAssertEqual(d.box, expected.box)
        XCTAssertNotEqual(d.box, PixelRect(x: 10, y: 10, width: 230, height: 150), "the clamped union must not be used")
        let warning = try? XCTUnwrap(d.warnings.first)
        XCTAssertEqual(d.warnings.filter { $0.contains("does not fit") }.count, 1, "\(d.warnings)")
        XCTAssertTrue(warning?.contains("#2") ?? false, warning ?? "")
        XCTAssertTrue(warning?.contains("columns 150...249") ?? false, warning ?? "")
        XCTAssertTrue(warning?.contains("240 x 160") ?? false, warning ?? "")
        XCTAssertTrue(warning?.contains("auto") ?? false, warning ?? "")
        XCTAssertEqual(d.warnings.filter(CropPlanner.isUntrustedRegionWarning), [warning ?? ""])
    }

    func testOnlyRegionsInsideTheImageFit() {
        // Inclusive bounds: MaxX1 = Columns - 1 fits, MaxX1 = Columns does not; nor does a
        // negative origin or an inverted (MinX0 > MaxX1) region.
        func r(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> UltrasoundRegion {
            UltrasoundRegion(spatialFormat: 1, dataType: 1, flags: 0, minX0: x0, minY0: y0, maxX1: x1, maxY1: y1,
                             physicalUnitsX: 3, physicalUnitsY: 3, physicalDeltaX: 0.02, physicalDeltaY: 0.02)
        }
        let regions = [r(0, 0, 199, 159), r(0, 0, 200, 159), r(0, 0, 199, 160), r(-1, 0, 10, 10), r(20, 0, 10, 10)]
        XCTAssertEqual(CropPlanner.regionsOutside(regions, width: 200, height: 160).map(\.index), [1, 2, 3, 4])
    }

    // MARK: No regions: falls back to auto and says so
    func testNoRegionsFallsBackToAutoWithAWarning() {
        let frames = (0..<4).map { us.frame($0) }
        let d = CropPlanner.decide(mode: .regions, regions: [], width: us.width, height: us.height, analysisFrames: { frames })
        XCTAssertEqual(d.source, .auto)
        XCTAssertTrue(d.warnings.first?.contains("0018,6011") ?? false)
        let colourOnly = CropPlanner.decide(mode: .regions, regions: [region(PixelRect(x: 0, y: 0, width: 5, height: 5), dataType: 2)],
                                            width: us.width, height: us.height, analysisFrames: { frames })
        XCTAssertEqual(colourOnly.source, .auto)
    }

    // MARK: Auto on a cine loop: moving pixels only, static burned-in text and ruler drop out
    // The caption touches the sector, so only motion separates it; the box must be the sector's
    // own bounding box (within the 12-level speckle threshold: a couple of pixels at the rim).
    func testCineCropKeepsTheMovingSectorAndDropsStaticText() {
        let frames = (0..<8).map { us.frame($0, withTouchingLabel: true) }
        let d = CropPlanner.decide(mode: .auto, regions: [], width: us.width, height: us.height, analysisFrames: { frames })
        let truth = us.sectorBox
        XCTAssertEqual(d.source, .auto)
        XCTAssertTrue(d.warnings.isEmpty, "\(d.warnings)")
        XCTAssertLessThanOrEqual(abs(d.box.x - truth.x), 2); XCTAssertLessThanOrEqual(abs(d.box.maxX - truth.maxX), 2)
        XCTAssertLessThanOrEqual(abs(d.box.y - truth.y), 2); XCTAssertLessThanOrEqual(abs(d.box.maxY - truth.maxY), 2)
        XCTAssertTrue(d.box.intersection(us.textLine).isEmpty)
        XCTAssertTrue(d.box.intersection(us.ruler).isEmpty)
        XCTAssertTrue(d.box.intersection(us.touchingLabel).width < us.touchingLabel.width,
                      "the static caption must not widen the box: \(d.box) vs \(us.touchingLabel)")
    }

    // MARK: Auto on one frame: largest part; text far from the image is left out
    func testSingleFrameCropLeavesOutSeparateTextAndRuler() {
        let d = CropPlanner.automatic(frames: [us.frame(0)], width: us.width, height: us.height)
        XCTAssertEqual(d.box, us.sectorBox)
        // A caption touching the sector's rim: the rim blocks are too sparse to be "on", so the
        // caption forms its own small part and is left out, but for the strip of it that lies
        // in the rim blocks next to the sector (at most one 8-pixel block).
        let touching = CropPlanner.automatic(frames: [us.frame(0, withTouchingLabel: true)], width: us.width, height: us.height)
        XCTAssertEqual(touching.box.union(us.sectorBox), touching.box)
        XCTAssertLessThanOrEqual(touching.box.intersection(us.touchingLabel).width - us.sectorBox.intersection(us.touchingLabel).width, 8)
        // An overlay drawn over dense tissue cannot be told apart on one frame: the box keeps
        // the whole sector (the documented limit of the single-frame heuristic; motion solves it).
        var overlaid = us.frame(0)
        for x in 100..<140 { for y in 60..<70 { overlaid[x, y] = (255, 255, 255) } }
        XCTAssertEqual(CropPlanner.automatic(frames: [overlaid], width: us.width, height: us.height).box, us.sectorBox)
    }

    // MARK: Frozen loop and empty picture
    func testFrozenLoopFallsBackToSignalAndBlackGivesTheWholeFrameWithWarnings() {
        let frozen = CropPlanner.automatic(frames: [us.frame(0), us.frame(0), us.frame(0)], width: us.width, height: us.height)
        XCTAssertEqual(frozen.box, us.sectorBox)
        XCTAssertEqual(frozen.warnings.count, 1)
        let black = CropPlanner.automatic(frames: [RGBImage(width: 30, height: 20)], width: 30, height: 20)
        XCTAssertEqual(black.box, PixelRect(x: 0, y: 0, width: 30, height: 20))
        XCTAssertEqual(black.warnings.count, 1)
    }

    func testNoneIsTheWholeFrame() {
        let d = CropPlanner.decide(mode: .none, regions: [region(PixelRect(x: 1, y: 1, width: 5, height: 5))],
                                   width: 64, height: 48, analysisFrames: { [] })
        XCTAssertEqual(d, CropDecision(box: PixelRect(x: 0, y: 0, width: 64, height: 48), source: .none))
    }
}
