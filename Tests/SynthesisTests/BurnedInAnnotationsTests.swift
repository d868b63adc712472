import Foundation
import XCTest
@testable import Synthesis

/// Fixtures/annotations.json was written by scripts/fixtures/synthesis/make_fixtures.py with
/// make_sample_studies.py's own draw_ui and Pillow's ImageDraw.text.
final class BurnedInAnnotationsTests: XCTestCase {
    static func fixture() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/annotations.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// Every printable character and the strings of the header, drawn by BitmapFont, are Pillow's
    /// pixels exactly (a glyph table shifted by a row, or glyphs placed without the overlap Pillow
    /// gives some of them, fail).
    func testTextIsPillowsBitmapFontPixelForPixel() throws {
        let texts = try XCTUnwrap(Self.fixture()["texts"] as? [[String: Any]])
        XCTAssertEqual(texts.count, 4)
        let font = BitmapFont.pillowDefault
        for t in texts {
            let text = t["text"] as! String, rows = t["rows"] as! [String]
            let (w, mask) = font.mask(text)
            XCTAssertEqual(w, rows[0].count, text)
            XCTAssertEqual(font.lineHeight, rows.count)
            let ours = (0..<font.lineHeight).map { y in String((0..<w).map { mask[y * w + $0] ? "#" : "." }) }
            XCTAssertEqual(ours, rows, text)
        }
        XCTAssertEqual(font.width(of: "MI 1.2 TIS 0.4"), 84)
    }

    /// The whole overlay of four frames (one and two fans, single frame and cine, four image
    /// sizes) equals draw_ui's: text, ruler, ticks and labels, focus triangle, orientation dot and
    /// grey bar, every pixel and colour; and the grey bar box is the one draw_ui returns.
    func testOverlayEqualsDrawUI() throws {
        let cases = try XCTUnwrap(Self.fixture()["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 4)
        for c in cases {
            let w = (c["width"] as! NSNumber).intValue, h = (c["height"] as! NSNumber).intValue
            let probe = try XCTUnwrap(Probe.catalog[c["probe"] as! String])
            let depths = (c["depths"] as! [NSNumber]).map(\.doubleValue)
            let ui = c["ui"] as! [String: NSNumber]
            let pads = (left: 22, top: 30, right: 34, bottom: 16)
            let fans = depths.count == 2
                ? [FanGeometry.fit(probe: probe, depthCm: depths[0], viewport: PixelBox(minX: 0, minY: 0, maxX: w / 2 - 1, maxY: h - 1), pads: pads),
                   FanGeometry.fit(probe: probe, depthCm: depths[1], viewport: PixelBox(minX: w / 2, minY: 0, maxX: w - 1, maxY: h - 1),
                                   pads: (left: 8, top: 30, right: 34, bottom: 16))]
                : [FanGeometry.fit(probe: probe, depthCm: depths[0], viewport: PixelBox(minX: 0, minY: 0, maxX: w - 1, maxY: h - 1), pads: pads)]
            let settings = ScannerSettings(gain: ui["gain"]!.intValue, dynamicRange: ui["dr"]!.intValue,
                                           mechanicalIndex: ui["mi"]!.doubleValue, thermalIndex: ui["tis"]!.doubleValue,
                                           focus: ui["focus"]!.doubleValue)
            var canvas = AnnotationCanvas(width: w, height: h)
            let bar = BurnedInAnnotations.draw(on: &canvas, fans: fans, probe: probe, deviceModel: c["model"] as! String,
                                               settings: settings, frame: (c["frame"] as! NSNumber).intValue,
                                               of: (c["frames"] as! NSNumber).intValue)
            var expected = [UInt8](repeating: 0, count: w * h * 3)
            for run in c["runs"] as! [[NSNumber]] {
                let v = run.map(\.intValue)
                for x in v[0]..<(v[0] + v[2]) {
                    let i = 3 * (v[1] * w + x)
                    expected[i] = UInt8(v[3]); expected[i + 1] = UInt8(v[4]); expected[i + 2] = UInt8(v[5])
                }
            }
            var differing: [String] = []
            for p in 0..<(w * h) where canvas.rgb[3 * p..<3 * p + 3] != expected[3 * p..<3 * p + 3] {
                differing.append("(\(p % w), \(p / w)): \(Array(canvas.rgb[3 * p..<3 * p + 3])) vs \(Array(expected[3 * p..<3 * p + 3]))")
            }
            XCTAssertEqual(differing.count, 0, "\(c["probe"]!) \(w)x\(h): \(differing.prefix(12))")
            let b = (c["grey_bar"] as! [NSNumber]).map(\.intValue)
            XCTAssertEqual(bar, PixelBox(minX: b[0], minY: b[1], maxX: b[2], maxY: b[3]))
        }
    }

    func testCounterAndNumberFormats() {
        XCTAssertEqual(BurnedInAnnotations.counter(frame: 0, of: 1), "FRZ")
        XCTAssertEqual(BurnedInAnnotations.counter(frame: 2, of: 12), "F 03/12")
        XCTAssertEqual(BurnedInAnnotations.g(8), "8")
        XCTAssertEqual(BurnedInAnnotations.g(3.5), "3.5")
        XCTAssertEqual(RGBColour.white.luminance, 236, accuracy: 1e-3)
        XCTAssertEqual(RGBColour.green.luminance, 0.299 * 90 + 0.587 * 222 + 0.114 * 96, accuracy: 1e-3)
    }
}
