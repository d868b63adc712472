import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Evaluation
@testable import Reports
import SonoKitTestSupport

/// The SVG plots are well-formed XML (parsed by Foundation's XMLParser) and contain what a reader
/// needs: the data marks, axes with ticks and labels, a title and a legend.
final class PlotTests: XCTestCase {
    /// What an SVG document contains: element counts, class attribute counts and all text.
    final class SVGSummary: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        var classes: [String: Int] = [:]
        var texts: [String] = []
        var root: String?
        private var inText = false

        static func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> SVGSummary {
            let summary = SVGSummary()
            let parser = XMLParser(data: Data(svg.utf8))
            parser.delegate = summary
            XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
            return summary
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if root == nil { root = name }
            elements[name, default: 0] += 1
            if let c = attributes["class"] { classes[c, default: 0] += 1 }
            if name == "text" || name == "title" { inText = true; texts.append("") }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if inText { texts[texts.count - 1] += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" || name == "title" { inText = false }
        }

        func hasText(_ fragment: String) -> Bool { texts.contains { $0.contains(fragment) } }
    }

    static let report = Result { try SampleData.report() }

    func assertAxes(_ s: SVGSummary, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(s.root, "svg", file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.classes["tick"] ?? 0, 8, "ticks on both axes", file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.classes["tick-label"] ?? 0, 8, file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.classes["axis-label"] ?? 0, 2, file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.classes["title"] ?? 0, 1, file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.classes["legend"] ?? 0, 1, file: file, line: line)
    }

    // MARK: ROC: curve, CI band, chance line, operating point, AUC with CI in the legend
    func testROCPlot() throws {
        let study = try Self.report.get().study
        let svg = ROCPlot.svg(curve: study.rocCurve, band: study.rocBand, auc: study.auc, operatingPoint: study.atThreshold)
        let s = SVGSummary.parse(svg)
        assertAxes(s)
        XCTAssertEqual(s.classes["roc-curve"], 1)
        XCTAssertEqual(s.classes["ci-band"], 1)
        XCTAssertEqual(s.classes["chance"], 1)
        XCTAssertEqual(s.classes["operating-point"], 1)
        XCTAssertTrue(s.hasText("AUC \(fixed(study.auc.estimate, 3)) (95% CI"))
        XCTAssertTrue(s.hasText("False positive rate"))
        XCTAssertTrue(s.hasText("bootstrap over patients"))
        // The curve has one vertex per ROC point.
        let polyline = svg.split(separator: "\n").first { $0.contains("class=\"roc-curve\"") }!
        let points = polyline.components(separatedBy: "points=\"")[1].split(separator: "\"")[0].split(separator: " ")
        XCTAssertEqual(points.count, study.rocCurve.count)
    }

    // MARK: PR, reliability diagram, confusion matrix
    func testPRReliabilityAndConfusionPlots() throws {
        let study = try Self.report.get().study
        let pr = SVGSummary.parse(PrecisionRecallPlot.svg(curve: study.precisionRecallCurve, averagePrecision: study.averagePrecision,
                                                          prevalence: study.prevalence))
        assertAxes(pr)
        XCTAssertEqual(pr.classes["pr-curve"], 1)
        XCTAssertTrue(pr.hasText("average precision \(fixed(study.averagePrecision, 3))"))

        let reliability = SVGSummary.parse(ReliabilityDiagram.svg(study.calibration))
        assertAxes(reliability)
        let occupied = study.calibration.bins.filter { $0.count > 0 }.count
        XCTAssertEqual(reliability.classes["bin-point"], occupied)
        XCTAssertEqual(reliability.classes["bin-count"], occupied)
        XCTAssertEqual(reliability.classes["bin-interval"], 3 * occupied)
        XCTAssertTrue(reliability.hasText("ECE \(fixed(study.calibration.expectedCalibrationError, 3)) (10 bins)"))

        let confusion = SVGSummary.parse(ConfusionMatrixPlot.svg(study.atThreshold, classes: SampleData.classes))
        XCTAssertEqual(confusion.classes["cell"], 4)
        let c = study.atThreshold.confusion
        for count in [c.truePositives, c.falsePositives, c.trueNegatives, c.falseNegatives] {
            XCTAssertTrue(confusion.texts.contains("\(count)"), "count \(count) printed")
        }
        XCTAssertTrue(confusion.hasText("malignant") && confusion.hasText("benign"))
    }

    // MARK: Training curves from a history table; missing columns drop their panel
    func testTrainingCurves() throws {
        let csv = """
            epoch,loss,val_loss,val_auc,lr
            1,0.69,0.68,0.61,0.001
            2,0.55,0.60,0.72,0.001
            3,0.45,0.52,0.80,0.0005
            4,0.40,0.53,,0.0005
            5,0.36,0.55,0.83,0.00025
            """
        let history = try TrainingHistory(csv: csv)
        XCTAssertEqual(history.series("val_auc").count, 4, "empty cell is missing, not zero")
        let s = SVGSummary.parse(TrainingCurvesPlot.svg(history))
        XCTAssertEqual(s.classes["series-loss"], 1)
        XCTAssertEqual(s.classes["series-val_loss"], 1)
        XCTAssertEqual(s.classes["series-val_auc"], 1)
        XCTAssertEqual(s.classes["series-lr"], 1)
        XCTAssertEqual(s.classes["series-val_auc-point"], 4)
        XCTAssertEqual(s.classes["legend"], 3)
        XCTAssertTrue(s.hasText("Learning rate") && s.hasText("Epoch"))

        let lossOnly = SVGSummary.parse(TrainingCurvesPlot.svg(try TrainingHistory(csv: "epoch,loss\n1,0.7\n2,0.6\n")))
        XCTAssertEqual(lossOnly.classes["legend"], 1)
        XCTAssertNil(lossOnly.classes["series-lr"])
    }

    // MARK: History parse errors name the file, line and column
    func testHistoryErrors() {
        XCTAssertThrowsError(try TrainingHistory(csv: "loss\n0.5\n", file: "runs/exp1/history.csv")) { error in
            XCTAssertEqual(error as? TrainingHistory.ParseError, .missingEpochColumn(file: "runs/exp1/history.csv"))
        }
        XCTAssertThrowsError(try TrainingHistory(csv: "epoch,loss\n1,0.5\n2,abc\n")) { error in
            XCTAssertEqual("\(error)", "history.csv line 3, column loss: 'abc' is not a number.")
        }
        XCTAssertThrowsError(try TrainingHistory(csv: "epoch,loss\n1\n"))
        XCTAssertThrowsError(try TrainingHistory(csv: ""))
    }

    // MARK: Text is escaped: class names with markup characters stay text
    func testEscaping() throws {
        let study = try Self.report.get().study
        let svg = ConfusionMatrixPlot.svg(study.atThreshold, classes: ClassNames(positive: "a<b & \"c\"", negative: "n'eg"))
        let s = SVGSummary.parse(svg)
        XCTAssertTrue(s.hasText("a<b & \"c\""))
        XCTAssertTrue(s.hasText("n'eg"))
    }

    // MARK: Nice ticks: 1, 2, 5 × 10^k steps covering the data
    func testNiceTicks() {
        let a = PlotAxis.linear("x", 0, 0.93, tickCount: 6)
        XCTAssertEqual(a.ticks.count, 6)
        XCTAssertEqual(a.ticks.first, 0)
        XCTAssertEqual(a.ticks.last!, 1, accuracy: 1e-12)
        let b = PlotAxis.linear("x", 1, 37, tickCount: 5)
        XCTAssertEqual(b.ticks, [0, 10, 20, 30, 40])
        XCTAssertEqual(b.label(for: 20), "20")
        let l = PlotAxis.log10("lr", 0.00025, 0.001)
        XCTAssertEqual(l.ticks, [0.0001, 0.001])
        XCTAssertEqual(l.label(for: 0.0001), "1e-4")
    }

    /// Writes every plot to $SONOKIT_WRITE_PLOTS (a directory) for looking at them; skipped otherwise.
    func testWritePlotsWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["SONOKIT_WRITE_PLOTS"] else { throw XCTSkip("set SONOKIT_WRITE_PLOTS=dir") }
        let study = try Self.report.get().study
        let history = try TrainingHistory(csv: "epoch,loss,val_loss,val_auc,lr\n1,0.69,0.68,0.61,0.001\n2,0.55,0.60,0.72,0.001\n3,0.45,0.52,0.80,0.0005\n4,0.40,0.53,0.82,0.0005\n5,0.36,0.55,0.83,0.00025\n")
        let plots = ["roc": ROCPlot.svg(curve: study.rocCurve, band: study.rocBand, auc: study.auc, operatingPoint: study.atThreshold),
                     "pr": PrecisionRecallPlot.svg(curve: study.precisionRecallCurve, averagePrecision: study.averagePrecision, prevalence: study.prevalence),
                     "reliability": ReliabilityDiagram.svg(study.calibration),
                     "confusion": ConfusionMatrixPlot.svg(study.atThreshold, classes: SampleData.classes),
                     "training": TrainingCurvesPlot.svg(history)]
        for (name, svg) in plots { try svg.write(toFile: "\(dir)/\(name).svg", atomically: true, encoding: .utf8) }
    }
}
