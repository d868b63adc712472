import Foundation
import XCTest
@testable import Imaging

final class PNGFileTests: XCTestCase {
    // MARK: Round trip: what we write is what libpng reads back, sample for sample.
    func testWriteThenReadGivesTheSameSamples() throws {
        var image = RGBImage(width: 5, height: 3)
        for y in 0..<3 { for x in 0..<5 { image[x, y] = (UInt8(x * 50), UInt8(y * 100), UInt8(x * y * 10)) } }
        let path = NSTemporaryDirectory() + "sonokit-png-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGFile.write(image, to: path)
        let back = try PNGFile.read(path)
        XCTAssertEqual(back, image)
        XCTAssertEqual(back[4, 2].b, 80)
    }

    func testReadingAMissingFileNamesIt() {
        XCTAssertThrowsError(try PNGFile.read("/nonexistent/x.png")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x.png"))
        }
    }

    // MARK: PNM: dcm2pnm's default output format
    func testPNMGreyIsReplicatedToThreeChannels() throws {
        let path = NSTemporaryDirectory() + "sonokit-\(UUID().uuidString).pgm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var data = Data("P5\n# comment\n2 1\n255\n".utf8)
        data.append(contentsOf: [7, 200])
        try data.write(to: URL(fileURLWithPath: path))
        let image = try PNMFile.read(path)
        XCTAssertEqual(image.pixels, [7, 7, 7, 200, 200, 200])
    }

    // MARK: Rectangles
    func testRectUnionAndIntersection() {
        let a = PixelRect(x: 0, y: 0, width: 10, height: 10)
        let b = PixelRect(x: 5, y: 5, width: 10, height: 10)
        XCTAssertEqual(a.union(b), PixelRect(x: 0, y: 0, width: 15, height: 15))
        XCTAssertEqual(a.intersection(b), PixelRect(x: 5, y: 5, width: 5, height: 5))
        XCTAssertTrue(a.intersection(PixelRect(x: 20, y: 20, width: 1, height: 1)).isEmpty)
    }
}
