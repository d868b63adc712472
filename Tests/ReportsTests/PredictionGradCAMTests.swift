import Foundation
import Imaging
import Preprocess
import SonoKitTestSupport
import SonoKitTrainingTestSupport
import Training
import XCTest
@testable import Reports

/// Grad-CAM of a network that detects bright blobs (SonoKitTestSupport.HandSetRun: why it is
/// hand-set is written there) on a synthetic frame whose lesion position is known.
final class PredictionGradCAMTests: XCTestCase {
    /// A 64x64 frame of dark speckle (grey 20...60) with a bright disc (grey 230) of radius
    /// `radius` centred at (cx, cy): off-centre and off-diagonal, so a transposed or flipped map
    /// lands elsewhere.
    static func frame(blobAt centre: (x: Int, y: Int)?, radius: Int = 6) -> RGBImage {
        var image = RGBImage(width: 64, height: 64)
        var state: UInt32 = 12345
        for y in 0..<64 {
            for x in 0..<64 {
                state = state &* 1_664_525 &+ 1_013_904_223
                var v = UInt8(20 + Int(state >> 24) % 41)
                if let c = centre, (x - c.x) * (x - c.x) + (y - c.y) * (y - c.y) <= radius * radius { v = 230 }
                image[x, y] = (v, v, v)
            }
        }
        return image
    }

    func testThePeakOfTheHeatMapIsInsideTheLesion() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-gradcam-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = try HandSetRun.write(to: folder, size: 64, crop: .none, frames: .first)
        let pre = run.preprocessor
        for centre in [(x: 44, y: 18), (x: 15, y: 47)] {
            let processed = try pre.process(PictureSource(instanceKey: "blob", pictures: [Self.frame(blobAt: centre)]))
            let heat = try run.gradCAM(of: processed.frames[0])
            XCTAssertEqual(heat.count, 64 * 64)
            XCTAssertEqual(heat.max() ?? 0, 1, accuracy: 1e-5, "normalised to a maximum of 1")
            XCTAssertGreaterThanOrEqual(heat.min() ?? -1, 0)
            let peak = PredictionHeatmap.peak(heat, width: 64)
            let d2 = (peak.x - centre.x) * (peak.x - centre.x) + (peak.y - centre.y) * (peak.y - centre.y)
            XCTAssertLessThanOrEqual(d2, 6 * 6, "peak \(peak) outside the lesion at \(centre)")
            // Far from the lesion the map is cold.
            let far = (x: 63 - centre.x, y: 63 - centre.y)
            XCTAssertLessThan(heat[far.y * 64 + far.x], 0.05)
        }
    }

    func testTheNetworkScoresALesionAboveNoLesion() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-gradcam-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = try HandSetRun.write(to: folder, size: 64, crop: .none, frames: .first)
        let pre = run.preprocessor
        let with = try pre.process(PictureSource(instanceKey: "a", pictures: [Self.frame(blobAt: (44, 18))])).frames[0]
        let without = try pre.process(PictureSource(instanceKey: "b", pictures: [Self.frame(blobAt: nil)])).frames[0]
        let p = try run.probabilities(of: [with, without])
        XCTAssertGreaterThan(p[0], p[1])
        XCTAssertLessThan(p[1], 0.5)
        XCTAssertEqual(try run.gradCAM(of: without).max() ?? 1, 0, "no bright pixel: nothing to point at, an all-zero map")
    }
}
