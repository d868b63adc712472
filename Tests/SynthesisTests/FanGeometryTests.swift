import Foundation
import XCTest
@testable import Synthesis

/// Fixtures/fan_geometry.json was written by scripts/fixtures/synthesis/make_fixtures.py from
/// scripts/samples/bmode.py's own FanGeometry (numpy), for every probe, the single- and dual-fan
/// layouts of make_sample_studies.py and six image sizes.
final class FanGeometryTests: XCTestCase {
    struct Case {
        let probe: String, width: Int, height: Int, depth: Double
        let viewport: PixelBox, pads: [Int]
        let pixelsPerCm: Double, apexX: Double, apexY: Double
        let boundingBox: PixelBox, maskPixels: Int
        let depthToYTop: Double, depthToYBottom: Double, fanRightX: Double
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fan_geometry.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        func box(_ v: Any?) -> PixelBox {
            let a = (v as! [NSNumber]).map(\.intValue)
            return PixelBox(minX: a[0], minY: a[1], maxX: a[2], maxY: a[3])
        }
        func d(_ v: Any?) -> Double { (v as! NSNumber).doubleValue }
        return cases.map { c in
            Case(probe: c["probe"] as! String, width: (c["width"] as! NSNumber).intValue, height: (c["height"] as! NSNumber).intValue,
                 depth: d(c["depth_cm"]), viewport: box(c["viewport"]), pads: (c["pads"] as! [NSNumber]).map(\.intValue),
                 pixelsPerCm: d(c["px_per_cm"]), apexX: d(c["apex_x"]), apexY: d(c["apex_y"]),
                 boundingBox: box(c["bounding_box"]), maskPixels: (c["mask_pixels"] as! NSNumber).intValue,
                 depthToYTop: d(c["depth_to_y_top"]), depthToYBottom: d(c["depth_to_y_bottom"]), fanRightX: d(c["fan_right_x"]))
        }
    }

    func testProbeCatalogIsBmodePy() throws {
        XCTAssertEqual(Set(Probe.catalog.keys), ["C5-2", "C6-1", "P4-2"])
        let c52 = try XCTUnwrap(Probe.catalog["C5-2"])
        XCTAssertEqual(c52.kind, .convex)
        XCTAssertEqual(c52.faceRadiusCm, 4.5)
        XCTAssertEqual(c52.halfAngle, 34 * Double.pi / 180, accuracy: 1e-15)
        XCTAssertEqual(c52.frequencyMHz, 3.5)
        XCTAssertEqual(Probe.catalog["P4-2"]?.kind, .phased)
        XCTAssertEqual(Probe.catalog["P4-2"]?.faceRadiusCm, 0.25)
        XCTAssertEqual(Probe.catalog["C6-1"]?.frequencyMHz, 3.0)
    }

    /// fit, the mask, the bounding box, depth_to_y and the fan's right edge equal bmode.py's:
    /// the scalars to 1e-9 pixel (they are computed in the same order, so in practice bit for
    /// bit), the bounding box exactly and the number of fan pixels exactly (a fan one pixel too
    /// wide or an apex off by the "+ 1" of fit fails here).
    func testFitAndBoundingBoxEqualBmodePy() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThan(cases.count, 150)
        for (n, c) in cases.enumerated() {
            let probe = try XCTUnwrap(Probe.catalog[c.probe])
            let g = FanGeometry.fit(probe: probe, depthCm: c.depth, viewport: c.viewport,
                                    pads: (left: c.pads[0], top: c.pads[1], right: c.pads[2], bottom: c.pads[3]))
            let label = "\(c.probe) \(c.depth) cm in \(c.width)x\(c.height) viewport \(c.viewport)"
            XCTAssertEqual(g.pixelsPerCm, c.pixelsPerCm, accuracy: 1e-9, label)
            XCTAssertEqual(g.apexX, c.apexX, accuracy: 1e-9, label)
            XCTAssertEqual(g.apexY, c.apexY, accuracy: 1e-9, label)
            XCTAssertEqual(g.depthToY(0), c.depthToYTop, accuracy: 1e-9, label)
            XCTAssertEqual(g.depthToY(c.depth), c.depthToYBottom, accuracy: 1e-9, label)
            XCTAssertEqual(g.fanRightX, c.fanRightX, accuracy: 1e-9, label)
            XCTAssertEqual(g.boundingBox(width: c.width, height: c.height), c.boundingBox, label)
            // The full pixel count on every third case (all probes, sizes and layouts; debug builds are slow).
            if n % 3 == 0 { XCTAssertEqual(g.mask(width: c.width, height: c.height).filter { $0 }.count, c.maskPixels, label) }
        }
    }

    /// The polar coordinates invert the tissue mapping: the pixel of tissue point (X, Z) is
    /// (apexX + X·s, apexY + (Z + r₀)·s).
    func testPolarCoordinatesOfATissuePoint() throws {
        let g = FanGeometry.fit(probe: try XCTUnwrap(Probe.catalog["C5-2"]), depthCm: 10,
                                viewport: PixelBox(minX: 0, minY: 0, maxX: 399, maxY: 299), pads: (22, 30, 34, 16))
        let x = 1.5, z = 4.0, r0 = 4.5
        let px = g.apexX + x * g.pixelsPerCm, py = g.apexY + (z + r0) * g.pixelsPerCm
        let (r, theta) = g.polar(x: Int(px.rounded()), y: Int(py.rounded()))
        XCTAssertEqual(r * sin(theta), x, accuracy: 1 / g.pixelsPerCm)
        XCTAssertEqual(r * cos(theta) - r0, z, accuracy: 1 / g.pixelsPerCm)
        XCTAssertTrue(g.contains(x: Int(px.rounded()), y: Int(py.rounded())))
        XCTAssertFalse(g.contains(x: 0, y: 299))
    }
}
