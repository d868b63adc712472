import Foundation
import Imaging
import SonoKitTestSupport
import XCTest
@testable import Reports

/// The HTML pages, opened in a real headless browser (chromium): every picture must load.
final class PredictionHTMLTests: XCTestCase {
    typealias D = PredictionTestData
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func pictures(for report: PredictionReport, heat: Bool = true) -> [PredictionFramePictures] {
        report.frames.map { f in
            var source = RGBImage(width: 80, height: 60, fill: (40, 40, 40))
            source[10, 10] = (255, 255, 255)
            let input = RGBImage(width: 32, height: 32, fill: (90, 90, 90))
            let heatmap = (0..<(32 * 32)).map { Float($0 % 32) / 31 }
            return PredictionFramePictures(instanceKey: f.instanceKey, frameIndex: f.frameIndex, probability: f.probability,
                                           source: source, input: input, heatmap: heat ? heatmap : nil)
        }
    }

    func writePages() throws -> (reports: [PredictionReport], pages: [URL]) {
        let (reports, failed) = try PredictionReportBuilder(model: D.model, rule: D.rule(), keys: PredictionKeys(secret: D.secret),
                                                            includeIdentifiers: false)
            .build(instances: D.instances, frames: D.frames, failures: D.failures)
        var pages: [URL] = []
        for r in reports {
            pages.append(URL(fileURLWithPath: try PredictionHTML.writeStudyPage(r, pictures: pictures(for: r), outputFolder: work.path)))
        }
        pages.append(URL(fileURLWithPath: try PredictionHTML.writeIndex(reports: reports, failed: failed, outputFolder: work.path)))
        return (reports, pages)
    }

    // MARK: Every image of every page loads in chromium; a missing one is reported

    func testEveryPictureLoadsInAHeadlessBrowser() throws {
        let (reports, pages) = try writePages()
        for (report, page) in zip(reports, pages) {
            let check = try HTMLBrowserCheck.check(page: page)
            XCTAssertEqual(check.images.count, 3 * report.frames.count, "source, input and Grad-CAM per frame on \(page.lastPathComponent)")
            XCTAssertEqual(check.broken.map(\.src), [], page.path)
        }
        let index = try HTMLBrowserCheck.check(page: pages.last!)
        XCTAssertEqual(index.broken.map(\.src), [])
        let indexHTML = try String(contentsOf: pages.last!, encoding: .utf8)
        for r in reports { XCTAssertTrue(indexHTML.contains("href=\"\(r.studyKey).html\""), "index links every study") }
        XCTAssertTrue(indexHTML.contains("Studies not reported"), "the failed study is listed")
    }

    func testTheBrowserCheckFailsWhenAPictureIsMissingOrBroken() throws {
        let (reports, pages) = try writePages()
        let folder = work.appendingPathComponent("html/\(reports[0].studyKey)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        try FileManager.default.removeItem(at: folder.appendingPathComponent(files[0]))
        try Data("not a png".utf8).write(to: folder.appendingPathComponent(files[1]))
        let check = try HTMLBrowserCheck.check(page: pages[0])
        XCTAssertEqual(Set(check.broken.map(\.src)), Set(["\(reports[0].studyKey)/\(files[0])", "\(reports[0].studyKey)/\(files[1])"]))
    }

    // MARK: Pages carry the result, the disclaimer and no raw identifiers; text is escaped

    func testStudyPageContent() throws {
        let (reports, pages) = try writePages()
        let html = try String(contentsOf: pages[0], encoding: .utf8)
        XCTAssertTrue(html.contains("Not for diagnostic use"))
        XCTAssertTrue(html.contains(reports[0].label))
        XCTAssertTrue(html.contains(String(format: "%.3f", reports[0].probability)))
        for raw in ["1.2.3.1.1", "/x/a1.dcm"] { XCTAssertFalse(html.contains(raw)) }
        XCTAssertEqual(HTML.escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
        let noHeat = try PredictionHTML.writeStudyPage(reports[0], pictures: pictures(for: reports[0], heat: false), outputFolder: work.path + "/b")
        XCTAssertTrue(try String(contentsOfFile: noHeat, encoding: .utf8).contains("no Grad-CAM"))
    }

    // MARK: Heat map colours: jet(t) = (clamp(1.5-|4t-3|), clamp(1.5-|4t-2|), clamp(1.5-|4t-1|))

    func testJetColourMapAndOverlay() {
        XCTAssertTrue(PredictionHeatmap.jet(0) == (0, 0, 128))     // b = 1.5 - 1 = 0.5
        XCTAssertTrue(PredictionHeatmap.jet(0.5) == (128, 255, 128))
        XCTAssertTrue(PredictionHeatmap.jet(1) == (128, 0, 0))
        let picture = RGBImage(width: 2, height: 1, fill: (100, 100, 100))
        let out = PredictionHeatmap.overlay([0, 1], on: picture, alpha: 0.5)
        XCTAssertEqual(Array(out.pixels[0..<3]), [100, 100, 100], "h = 0 keeps the picture")
        // h = 1, a = 0.5: 0.5 * 100 + 0.5 * (128, 0, 0) = (114, 50, 50)
        XCTAssertEqual(Array(out.pixels[3..<6]), [114, 50, 50])
        XCTAssertTrue(PredictionHeatmap.peak([0, 0.2, 0.9, 0.1, 0.9, 0], width: 3) == (2, 0))
    }
}
