import DICOM
import Foundation
import Imaging
@testable import Preprocess
import SonoKitCore

/// Synthetic ultrasound pictures for the crop and pipeline tests: a speckled fan-shaped sector on
/// black, with burned-in text and a depth ruler that never move.
struct SyntheticUltrasound {
    let width: Int
    let height: Int
    /// Apex of the fan and its radii.
    var apex: (x: Double, y: Double) { (Double(width) / 2, Double(height) * 0.1) }
    var innerRadius: Double { Double(height) * 0.05 }
    var outerRadius: Double { Double(height) * 0.8 }
    let halfAngle = 0.6  // radians

    /// Static overlay rectangles (text lines, ruler), in picture coordinates.
    var textLine: PixelRect { PixelRect(x: 4, y: 4, width: width / 4, height: 8) }
    var ruler: PixelRect { PixelRect(x: width - 8, y: height / 8, width: 3, height: height * 3 / 4) }
    /// A caption that touches the sector (single-frame heuristics cannot separate it; motion can).
    var touchingLabel: PixelRect {
        let y = Int(apex.y + outerRadius * cos(halfAngle)) - 6
        let x = Int(apex.x - outerRadius * sin(halfAngle)) - 30
        return PixelRect(x: x, y: y, width: 34, height: 10)
    }

    func isInSector(_ x: Int, _ y: Int) -> Bool {
        let dx = Double(x) + 0.5 - apex.x, dy = Double(y) + 0.5 - apex.y
        let r = (dx * dx + dy * dy).squareRoot()
        return dy > 0 && r >= innerRadius && r <= outerRadius && abs(atan2(dx, dy)) <= halfAngle
    }

    /// The true bounding box of the sector pixels.
    var sectorBox: PixelRect {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height { for x in 0..<width where isInSector(x, y) {
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        } }
        return PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }

    /// Frame `index`: new speckle in the sector every frame, the same overlays every frame.
    func frame(_ index: Int, withTouchingLabel: Bool = false) -> RGBImage {
        var rng = SplitMix(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        var image = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width where isInSector(x, y) {
            let v = UInt8(40 + Int(rng.next() % 180))
            image[x, y] = (v, v, v)
        } }
        var overlays = [textLine, ruler]
        if withTouchingLabel { overlays.append(touchingLabel) }
        for rect in overlays {
            for y in rect.y..<rect.maxY { for x in rect.x..<rect.maxX where (x + y) % 3 != 0 {
                image[x, y] = (230, 230, 60)
            } }
        }
        return image
    }
}

/// A tiny deterministic generator (SplitMix64) so the pictures are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func region(_ box: PixelRect, dataType: Int = 1, delta: Double? = 0.02) -> UltrasoundRegion {
    UltrasoundRegion(spatialFormat: 1, dataType: dataType, flags: 0, minX0: box.x, minY0: box.y,
                     maxX1: box.maxX - 1, maxY1: box.maxY - 1, physicalUnitsX: 3, physicalUnitsY: 3,
                     physicalDeltaX: delta, physicalDeltaY: delta)
}
