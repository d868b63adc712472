import Foundation
import XCTest
@testable import Synthesis

final class InstanceRendererTests: XCTestCase {
    static let lesion = LesionLook(semiAxisA: 0.9, semiAxisB: 0.7, irregularity: 0.1, contrast: 0.25, shadow: 0.7, halo: true)

    static func look(width: Int = 200, height: Int = 150, frames: Int = 1, probe: String = "C5-2", lesion: LesionLook? = lesion,
                     dual: Bool = false) -> InstanceLook {
        InstanceLook(width: width, height: height, frames: frames, probe: Probe.catalog[probe]!, lesion: lesion, dualFan: dual,
                     deviceModel: "SK-Sono 200 Pro", cystProbability: 0.25)
    }

    static func render(_ look: InstanceLook, seed: UInt64) -> RenderedInstance {
        var draws = SyntheticDraws(seed: seed, path: [2, 7])
        return InstanceRenderer.render(look, draws: &draws)
    }

    /// The mean grey of a fan's pixels in frame 0 (B-mode: about 60–120).
    static func meanGrey(_ out: RenderedInstance, _ fan: FanGeometry) -> Double {
        let mask = fan.mask(width: out.width, height: out.height)
        let values = mask.indices.filter { mask[$0] }.map { Double(out.grey[0][$0]) }
        return values.reduce(0, +) / Double(max(values.count, 1))
    }

    // MARK: Determinism

    /// The same look and draws give identical bytes (and leave the draws in the same state);
    /// another seed gives other pixels.
    func testSameDrawsGiveIdenticalBytesAndAnotherSeedDiffers() {
        let look = Self.look(frames: 2, probe: "P4-2")
        var d1 = SyntheticDraws(seed: 99), d2 = SyntheticDraws(seed: 99)
        let a = InstanceRenderer.render(look, draws: &d1), b = InstanceRenderer.render(look, draws: &d2)
        XCTAssertEqual(a.rgb, b.rgb)
        XCTAssertEqual(a.grey, b.grey)
        XCTAssertEqual(a.greyBar, b.greyBar)
        XCTAssertEqual(d1.unit(), d2.unit())
        let c = Self.render(look, seed: 100)
        XCTAssertNotEqual(a.rgb[0], c.rgb[0])
        let changed = zip(a.grey[0], c.grey[0]).filter { $0 != $1 }.count
        XCTAssertGreaterThan(changed, a.width * a.height / 10)
    }

    // MARK: Layout and annotations

    /// Every pixel outside the fans is either black (0 in both outputs) or an annotation pixel:
    /// one of the five annotation colours or a grey-bar grey inside the bar's box, its grey value
    /// being its luminance; every annotation colour occurs outside the fans; B-mode pixels are
    /// grey (R = G = B = grey rounded half to even).
    func testOutsideTheFanIsBlackOrAnnotationAndAnnotationsCarryTheirColours() throws {
        let out = Self.render(Self.look(width: 320, height: 240), seed: 5)
        let w = out.width, h = out.height
        let fan = out.fans[0].mask(width: w, height: h)
        let palette: [RGBColour] = [.white, .green, .yellow, .cyan, .grey]
        var seen = Set<RGBColour>()
        var bmodeInFan = 0
        for p in 0..<(w * h) {
            let c = RGBColour(out.rgb[0][3 * p], out.rgb[0][3 * p + 1], out.rgb[0][3 * p + 2])
            let grey = out.grey[0][p]
            if fan[p] {
                if c.r == c.g && c.g == c.b && Float(c.r) == grey.rounded(.toNearestOrEven) && !palette.contains(c) { bmodeInFan += 1 }
                continue
            }
            if c == RGBColour(0, 0, 0) {
                XCTAssertEqual(grey, 0, "pixel (\(p % w), \(p / w))")
                continue
            }
            if palette.contains(c) {
                seen.insert(c)
            } else {
                XCTAssertTrue(out.greyBar.contains(x: p % w, y: p / w) && c.r == c.g && c.g == c.b,
                              "pixel (\(p % w), \(p / w)) outside the fan is \(c)")
            }
            XCTAssertEqual(grey, c.luminance, accuracy: 1e-3)
        }
        XCTAssertEqual(seen, Set(palette))
        XCTAssertGreaterThan(bmodeInFan, fan.filter { $0 }.count * 9 / 10)
    }

    /// The grey bar is a ramp from 255 at the top to 0 at the bottom, non-increasing, equal across
    /// its columns, min(128, h − 70) rows at (5, 32).
    func testGreyBarIsAMonotoneRampFrom255To0() {
        let out = Self.render(Self.look(width: 320, height: 240), seed: 6)
        let bar = out.greyBar
        XCTAssertEqual(bar, PixelBox(minX: 5, minY: 32, maxX: 12, maxY: 32 + 128 - 1))
        var previous = 256
        for y in bar.minY...bar.maxY {
            let row = (bar.minX...bar.maxX).map { Int(out.rgb[0][3 * (y * out.width + $0)]) }
            XCTAssertEqual(Set(row).count, 1, "row \(y)")
            XCTAssertEqual(Int(out.rgb[0][3 * (y * out.width + bar.minX) + 1]), row[0])
            XCTAssertLessThanOrEqual(row[0], previous)
            previous = row[0]
        }
        XCTAssertEqual(out.rgb[0][3 * (bar.minY * out.width + bar.minX)], 255)
        XCTAssertEqual(out.rgb[0][3 * (bar.maxY * out.width + bar.minX)], 0)
        XCTAssertEqual(out.grey[0][(bar.minY + 64) * out.width + bar.minX], Float(out.rgb[0][3 * ((bar.minY + 64) * out.width + bar.minX)]))
    }

    /// Two fans: side by side in the two halves, with different depths and so different pixel
    /// spacings, the shallower on the left, and both with B-mode pixels.
    func testDualFanHasTwoFansWithDifferentSpacing() {
        let out = Self.render(Self.look(width: 320, height: 240, probe: "P4-2", dual: true), seed: 8)
        XCTAssertEqual(out.fans.count, 2)
        let (left, right) = (out.fans[0], out.fans[1])
        XCTAssertLessThan(left.depthCm, right.depthCm)
        XCTAssertNotEqual(left.pixelsPerCm, right.pixelsPerCm)
        let lb = left.boundingBox(width: 320, height: 240), rb = right.boundingBox(width: 320, height: 240)
        XCTAssertLessThan(lb.maxX, 160)
        XCTAssertGreaterThanOrEqual(rb.minX, 160)
        XCTAssertGreaterThan(Self.meanGrey(out, left), 30)
        XCTAssertGreaterThan(Self.meanGrey(out, right), 30)
    }

    // MARK: Cine

    /// A cine loop: the frames differ (motion, speckle decorrelation, the counter) but show the
    /// same tissue (correlated B-mode, more than with another seed), and the counter reads
    /// F 01/03 … F 03/03.
    func testCineFramesMoveButShowTheSameTissue() {
        let out = Self.render(Self.look(width: 200, height: 150, frames: 3, probe: "P4-2"), seed: 12)
        XCTAssertEqual(out.rgb.count, 3)
        XCTAssertEqual(out.grey.count, 3)
        let fan = out.fans[0].mask(width: 200, height: 150)
        let idx = fan.indices.filter { fan[$0] }
        func correlation(_ a: [Float], _ b: [Float]) -> Double {
            let x = idx.map { Double(a[$0]) }, y = idx.map { Double(b[$0]) }
            let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
            var sxy = 0.0, sxx = 0.0, syy = 0.0
            for k in x.indices { sxy += (x[k] - mx) * (y[k] - my); sxx += (x[k] - mx) * (x[k] - mx); syy += (y[k] - my) * (y[k] - my) }
            return sxy / (sxx * syy).squareRoot()
        }
        XCTAssertNotEqual(out.grey[0], out.grey[1])
        let c01 = correlation(out.grey[0], out.grey[1])
        XCTAssertGreaterThan(c01, 0.3)
        XCTAssertLessThan(c01, 0.995)
        let other = Self.render(Self.look(width: 200, height: 150, frames: 1, probe: "P4-2"), seed: 13)
        XCTAssertLessThan(correlation(out.grey[0], other.grey[0]), c01)
        var canvas = AnnotationCanvas(width: 200, height: 150)
        canvas.text("F 02/03", x: 4, y: 137, font: .pillowDefault, colour: .white)
        for p in 0..<(200 * 150) where canvas.isDrawn(p) {
            XCTAssertEqual(Array(out.rgb[1][3 * p..<3 * p + 3]), [236, 236, 236])
        }
    }

    /// Every probe renders at the smallest supported sizes, with one fan and with two.
    func testEveryProbeRendersAtTheMinimumSize() {
        for name in Probe.catalog.keys.sorted() {
            for dual in [false, true] {
                let w = dual ? InstanceLook.minimumDualFanWidth : InstanceLook.minimumWidth, h = InstanceLook.minimumHeight
                let out = Self.render(Self.look(width: w, height: h, probe: name, lesion: nil, dual: dual), seed: 1)
                XCTAssertEqual(out.rgb[0].count, w * h * 3)
                XCTAssertEqual(out.fans.count, dual ? 2 : 1)
                for fan in out.fans {
                    XCTAssertGreaterThan(fan.boundingBox(width: w, height: h).width, 20, "\(name) dual \(dual)")
                    XCTAssertGreaterThan(Self.meanGrey(out, fan), 30, "\(name) dual \(dual)")
                }
            }
        }
    }
}
