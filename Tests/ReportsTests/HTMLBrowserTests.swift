import Foundation
import SonoKitTestSupport
import XCTest
@testable import Reports

/// evaluation.html opened in a real headless browser (Debian's chromium): every plot and every
/// thumbnail must load. The negative tests prove the check can fail: a missing thumbnail, a
/// corrupt PNG and an SVG plot that does not parse are each caught and named.
final class HTMLBrowserTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try EvaluationSampleOutput.temporaryDirectory()
        try EvaluationSampleOutput.output(directory: directory).write()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    var page: URL { directory.appendingPathComponent("evaluation.html") }

    func thumbnailFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("thumbnails").path).filter { $0.hasSuffix(".png") }.sorted()
    }

    // MARK: Every picture loads: 4 study plots + 4 frame plots + training curves + the thumbnails
    func testEveryPlotAndThumbnailLoadsInChromium() throws {
        let result = try HTMLBrowserCheck.check(page: page)
        let thumbnails = try thumbnailFiles()
        XCTAssertGreaterThan(thumbnails.count, 0)
        XCTAssertEqual(result.images.count, 9 + thumbnails.count, "\(result.images.map(\.src))")
        XCTAssertEqual(result.broken, [], "pictures that did not load")
        let plots = result.images.filter { $0.src.hasPrefix("data:image/svg+xml") }
        XCTAssertEqual(plots.count, 9)
        for plot in plots { XCTAssertGreaterThanOrEqual(plot.width, 400) }
        for thumb in result.images.filter({ $0.src.hasPrefix("thumbnails/") }) {
            XCTAssertEqual([thumb.width, thumb.height], [224, 224], thumb.src)
        }
        XCTAssertEqual(Set(result.images.filter { $0.src.hasPrefix("thumbnails/") }.map { String($0.src.dropFirst("thumbnails/".count)) }),
                       Set(thumbnails))
        XCTAssertEqual(result.title, "SonoKit evaluation: run exp1, test split")
    }

    // MARK: Negative: a thumbnail file that is missing is reported broken
    func testMissingThumbnailIsCaught() throws {
        let victim = try thumbnailFiles()[0]
        try FileManager.default.removeItem(at: directory.appendingPathComponent("thumbnails").appendingPathComponent(victim))
        let result = try HTMLBrowserCheck.check(page: page)
        XCTAssertEqual(result.broken.map(\.src), ["thumbnails/" + victim])
    }

    // MARK: Negative: a thumbnail that is not a PNG is reported broken
    func testCorruptThumbnailIsCaught() throws {
        let victim = try thumbnailFiles().last!
        try Data("not a png".utf8).write(to: directory.appendingPathComponent("thumbnails").appendingPathComponent(victim))
        let result = try HTMLBrowserCheck.check(page: page)
        XCTAssertEqual(result.broken.map(\.src), ["thumbnails/" + victim])
    }

    // MARK: Negative: an SVG plot that does not parse is reported broken
    func testUnparsableSVGPlotIsCaught() throws {
        var html = try String(contentsOf: page, encoding: .utf8)
        let bad = HTML.svgDataURI("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"500\" height=\"500\"><polyline points=\"0,0 1,1\"</svg>")
        let range = try XCTUnwrap(html.range(of: #"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"#, options: .regularExpression))
        html.replaceSubrange(range, with: bad)
        try html.write(to: page, atomically: true, encoding: .utf8)
        let result = try HTMLBrowserCheck.check(page: page)
        XCTAssertEqual(result.broken.count, 1)
        XCTAssertTrue(result.broken.first?.src.hasPrefix("data:image/svg+xml") ?? false)
    }
}
