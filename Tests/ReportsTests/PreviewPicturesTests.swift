import Foundation
import XCTest
import Imaging
import Preprocess
@testable import Reports
import SonoKitCore

final class PreviewPicturesTests: XCTestCase {
    // MARK: The crop box is drawn just outside the kept pixels, which stay untouched
    func testBoxOutlineLeavesTheKeptPixelsAlone() {
        let image = RGBImage(width: 20, height: 10, fill: (7, 7, 7))
        let box = PixelRect(x: 5, y: 3, width: 6, height: 4)
        let drawn = PreviewPictures.drawing(box, on: image, colour: (255, 0, 0), thickness: 2)
        for y in 0..<10 { for x in 0..<20 {
            let inBox = x >= 5 && x < 11 && y >= 3 && y < 7
            let inRing = !inBox && x >= 3 && x < 13 && y >= 1 && y < 9
            XCTAssertEqual(drawn[x, y].r, inRing ? 255 : 7, "(\(x), \(y))")
        } }
    }

    // MARK: Sheets: tiles in rows with gaps; names are UID hashes, never identifiers
    func testSheetLayoutAndPseudonyms() {
        let tile = RGBImage(width: 4, height: 3, fill: (200, 0, 0))
        let sheet = PreviewPictures.sheet([tile, tile, tile], columns: 2, gap: 1)
        XCTAssertEqual([sheet.width, sheet.height], [2 * 4 + 3, 2 * 3 + 3])
        XCTAssertEqual(sheet[1, 1].r, 200); XCTAssertEqual(sheet[0, 0].r, 32); XCTAssertEqual(sheet[6, 5].r, 32)
        let name = Pseudonym.unkeyed("1.2.840.113619.2.55.3")
        XCTAssertEqual(name.count, 12)
        XCTAssertFalse(name.contains("113619"))
        XCTAssertEqual(name, Pseudonym.unkeyed("1.2.840.113619.2.55.3"))
    }
}
