import Evaluation
import Foundation
import Imaging
import SonoKitTestSupport
import XCTest
@testable import Reports

/// The multi-class eval-SPLIT folder: evaluation.json against the schema (Python jsonschema),
/// studies.csv/frames.csv (the binary columns, task, one probability column per class), the page's heat maps (the counts
/// read back from the cells), per-class ROC curves, tables, worst confusions with thumbnails, and
/// no frame path or patient name anywhere.
final class MulticlassEvaluationOutputTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try EvaluationSampleOutput.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func read(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }

    func csvRows(_ name: String) throws -> [[String]] { rows(try read(name)) }

    /// The fields of each line (no field here is quoted).
    func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The sample evaluation with thumbnails for the first three worst confusions (two frames each).
    func output() throws -> MulticlassEvaluationOutput {
        let evaluation = try MulticlassSampleData.evaluation()
        let classes = evaluation.report.classes
        var thumbnails: [String: [EvaluationThumbnail]] = [:], pictures: [String: RGBImage] = [:]
        for (n, confusion) in evaluation.report.worstConfusions.prefix(3).enumerated() {
            let k = classes.firstIndex(of: confusion.predictedClass)!
            thumbnails[confusion.studyKey] = MulticlassEvaluationOutput.thumbnailFrames(for: confusion, frames: evaluation.frames, classes: classes,
                                                                                       perCase: 2).enumerated().map { i, f in
                let file = EvaluationOutput.thumbnailFile(studyKey: f.studyKey, instanceKey: f.frame.instanceKey, frameIndex: f.frame.frameIndex)
                pictures[file] = EvaluationSampleOutput.picture(seed: 10 * n + i)
                return EvaluationThumbnail(file: file, instanceKey: f.frame.instanceKey, frameIndex: f.frame.frameIndex, probability: f.probabilities[k])
            }
        }
        return MulticlassEvaluationOutput(page: MulticlassPageContent(evaluation: evaluation, modelCard: [NamedValue("Architecture", "vgg16")],
                                                                      thumbnails: thumbnails),
                                          pictures: pictures)
    }

    // MARK: Every file; evaluation.json valid against the schema (jsonschema), task multiclass, equal to the report
    func testWritesEveryFileAndTheJSONIsSchemaValid() throws {
        let output = try output()
        let written = try output.write(to: directory)
        XCTAssertEqual(Array(written.suffix(4)), ["studies.csv", "frames.csv", "evaluation.json", "evaluation.html"])
        XCTAssertEqual(written.dropLast(4).count, output.pictures.count)
        let json = try Data(contentsOf: directory.appendingPathComponent("evaluation.json"))
        try SchemaValidator.validate(json, against: "evaluation-report.schema.json")
        XCTAssertEqual(try MulticlassEvaluationReport.jsonDecoder().decode(MulticlassEvaluationReport.self, from: json), output.page.evaluation.report)
        XCTAssertEqual(try MulticlassEvaluationReport.task(ofReport: json), .multiclass)
        for (file, picture) in output.pictures {
            XCTAssertEqual(try PNGFile.read(directory.appendingPathComponent(file).path), picture, file)
        }
        // The live jsonschema check can fail: a multi-class report with a binary-only member is rejected, naming it.
        let broken = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"macro_auc\"", with: "\"auc\"")
        XCTAssertThrowsError(try SchemaValidator.validate(Data(broken.utf8), against: "evaluation-report.schema.json")) {
            XCTAssertTrue("\($0)".contains("macro_auc"), "\($0)")
        }
    }

    // MARK: studies.csv: the binary columns, then task and probability_<class> per class; prediction = argmax
    // Guards: a multi-class file whose binary columns move or change meaning (a script reading
    // `label`, `probability`, `prediction` by name), a missing task, a vector in the wrong order.
    func testStudiesCSVHasTheBinaryColumnsThenTheTaskThenOneProbabilityColumnPerClass() throws {
        let output = try output()
        try output.write(to: directory)
        let evaluation = output.page.evaluation
        let classes = evaluation.report.classes
        let rows = try csvRows("studies.csv")
        XCTAssertEqual(rows[0], ["study_key", "patient_key", "label", "probability", "prediction", "correct", "frames_used", "site", "manufacturer",
                                 "task", "probability_normal", "probability_benign", "probability_suspicious", "probability_malignant"])
        XCTAssertEqual(Array(rows[0].prefix(EvaluationTables.studyColumns.count)), EvaluationTables.studyColumns)
        XCTAssertEqual(rows.count - 1, evaluation.studies.count)
        for (row, study) in zip(rows.dropFirst(), evaluation.studies) {
            XCTAssertEqual(row.count, rows[0].count)
            XCTAssertEqual(row[0], study.studyKey)
            let p = row[10..<14].map { Double($0)! }
            XCTAssertEqual(p, study.probabilities, "round trip of every probability")
            XCTAssertEqual(row[2], classes[study.trueClass])
            let argmax = p.indices.max { p[$0] < p[$1] }!
            XCTAssertEqual(row[4], classes[argmax])
            XCTAssertEqual(Double(row[3]), p[argmax], "probability = that of the decided class")
            XCTAssertEqual(row[5], row[2] == row[4] ? "true" : "false")
            XCTAssertEqual(Int(row[6]), study.framesUsed)
            XCTAssertEqual(row[9], "multiclass")
        }
    }

    // MARK: frames.csv: the binary columns, then task, the frame's decision and probability_<class>; no path
    func testFramesCSV() throws {
        let output = try output()
        try output.write(to: directory)
        let frames = output.page.evaluation.frames
        let rows = try csvRows("frames.csv")
        XCTAssertEqual(rows[0], MulticlassEvaluationTables.frameColumns(MulticlassSampleData.classes))
        XCTAssertEqual(Array(rows[0].prefix(8)), EvaluationTables.frameColumns)
        XCTAssertEqual(Array(rows[0][8...]), ["task", "prediction"] + MulticlassSampleData.classes.map { "probability_" + $0 })
        XCTAssertEqual(rows.count - 1, frames.count)
        for row in rows.dropFirst() {
            let f = try XCTUnwrap(frames.first { $0.frame.instanceKey == row[2] && $0.frame.frameIndex == Int(row[3]) })
            XCTAssertEqual(row[10..<14].map { Double($0)! }, f.probabilities)
            XCTAssertEqual(row[8], "multiclass")
            XCTAssertEqual(row[9], MulticlassSampleData.classes[f.predictedClass])
            XCTAssertEqual(Double(row[5]), f.probabilities[f.predictedClass], "probability = that of the decided class")
        }
    }

    // MARK: A class name with a space or a hyphen: the evaluation CSVs name its column as predictions.csv does
    // Guards: two naming functions again (issue 17 found `probability_small mass` in studies.csv
    // against `p_small_mass` in predictions.csv), and a decision by per-class thresholds whose
    // `probability` is not the decided class's.
    func testTheClassColumnsAreNamedAsInPredictionsCSV() throws {
        let classes = ["benign", "small mass", "small-mass"]
        let expected = ["probability_benign", "probability_small_mass", "probability_small_mass_2"]
        XCTAssertEqual(Array(PredictionCSV.multiclassColumns(classes: classes).suffix(3)), expected)
        let study = MulticlassStudy(studyKey: "s1", patientKey: "p1", trueClass: 1, probabilities: [0.5, 0.3, 0.2], framesUsed: 2)
        // Thresholds 0.6, 0.2, 0.5: ratios 0.83, 1.5, 0.4 -> "small mass", although "benign" is the most probable.
        let thresholds = PerClassThresholds([0.6, 0.2, 0.5].map(ThresholdChoice.fixed))
        let studies = rows(MulticlassEvaluationTables.studiesCSV([study], classes: classes, decision: .perClassThresholds(thresholds)))
        XCTAssertEqual(Array(studies[0].suffix(3)), expected)
        XCTAssertEqual(studies[1], ["s1", "p1", "small mass", "0.3", "small mass", "true", "2", "", "", "multiclass", "0.5", "0.3", "0.2"])
        let frame = MulticlassFrame(studyKey: "s1", patientKey: "p1", frame: FrameReference(path: "/x/y.dcm", instanceKey: "i1", frameIndex: 0),
                                    trueClass: 2, probabilities: [0.1, 0.2, 0.7])
        let frameRows = rows(MulticlassEvaluationTables.framesCSV([frame], classes: classes))
        XCTAssertEqual(Array(frameRows[0].suffix(3)), expected)
        XCTAssertEqual(frameRows[1], ["s1", "p1", "i1", "0", "small-mass", "0.7", "", "", "multiclass", "small-mass", "0.1", "0.2", "0.7"])
    }

    // MARK: The heat maps: every cell of the counts table holds the confusion count, shading by row share
    func testHeatMapCellsHoldTheCounts() throws {
        let output = try output()
        try output.write(to: directory)
        let html = try read("evaluation.html")
        let report = output.page.evaluation.report
        for (level, id) in [(report.study, "study-confusion"), (report.frame!, "frame-confusion")] {
            let start = try XCTUnwrap(html.range(of: "id=\"\(id)\""), id)
            let section = String(html[start.upperBound...])
            let countsTable = String(section[..<section.range(of: "</table>")!.upperBound])
            XCTAssertTrue(countsTable.contains("confusion-heatmap counts"))
            let cell = try NSRegularExpression(pattern: #"data-row="(\d+)" data-column="(\d+)" data-count="(\d+)" style="background-color:(#[0-9A-F]{6});[^"]*" title="[^"]*">([^<]*)</td>"#)
            let matches = cell.matches(in: countsTable, range: NSRange(countsTable.startIndex..., in: countsTable))
            XCTAssertEqual(matches.count, 16, id)
            var seen = [[Int]](repeating: [Int](repeating: -1, count: 4), count: 4)
            for m in matches {
                func group(_ i: Int) -> String { String(countsTable[Range(m.range(at: i), in: countsTable)!]) }
                let i = Int(group(1))!, j = Int(group(2))!
                seen[i][j] = Int(group(5))!
                XCTAssertEqual(Int(group(3)), level.confusionMatrix.counts[i][j])
                XCTAssertEqual(group(4), ConfusionHeatmap.color(share: level.confusionMatrix.rowNormalized[i][j]))
            }
            XCTAssertEqual(seen, level.confusionMatrix.counts, "the numbers shown are the counts")
            // The row-normalised table follows, in percent.
            let rest = String(section[section.range(of: "</table>")!.upperBound...])
            XCTAssertTrue(rest.hasPrefix("<figcaption>") || rest.contains("confusion-heatmap row-normalized"))
            let share = level.confusionMatrix.rowNormalized[0][0]
            XCTAssertTrue(rest.contains(">\(fixed(100 * share, 1))%</td>"))
        }
        XCTAssertEqual(ConfusionHeatmap.color(share: 0), "#FFFFFF")
        XCTAssertEqual(ConfusionHeatmap.color(share: 1), "#0072B2")
    }

    // MARK: The page: per-class ROC curves (one polyline per class), per-class table with CIs, summary metrics, worst confusions with thumbnails
    func testPageContent() throws {
        let output = try output()
        try output.write(to: directory)
        let html = try read("evaluation.html")
        let report = output.page.evaluation.report
        // The ROC figure's SVG: one curve per class, each class in the legend with its AUC.
        let roc = try XCTUnwrap(html.range(of: "id=\"study-roc\""))
        let src = html[roc.upperBound...].range(of: "base64,")!
        let encoded = html[src.upperBound...].prefix { $0 != "\"" }
        let svg = String(decoding: Data(base64Encoded: String(encoded))!, as: UTF8.self)
        XCTAssertEqual(svg.components(separatedBy: "class=\"roc-curve\"").count - 1, 4)
        for c in report.study.perClass { XCTAssertTrue(svg.contains("\(c.name): AUC \(fixed(c.auc.estimate, 3))"), c.name) }
        // Per-class table with Wilson and DeLong intervals.
        for c in report.study.perClass {
            XCTAssertTrue(html.contains("\(fixed(c.sensitivity.value, 3)) [\(fixed(c.sensitivity.interval.lower, 3)), \(fixed(c.sensitivity.interval.upper, 3))]"))
            XCTAssertTrue(html.contains("\(fixed(c.auc.estimate, 3)) [\(fixed(c.auc.delong!.interval.lower, 3)), \(fixed(c.auc.delong!.interval.upper, 3))]"))
        }
        XCTAssertTrue(html.contains("Cohen&#39;s kappa (quadratic weights)"))
        XCTAssertTrue(html.contains("Top-2 accuracy"))
        XCTAssertTrue(html.contains(fixed(report.study.macroAUC.estimate, 3)))
        // Worst confusions: a row per listed study; thumbnails referenced and captioned.
        XCTAssertFalse(report.worstConfusions.isEmpty)
        let worst = String(html[html.range(of: "class=\"worst-confusions\"")!.lowerBound...])
        for c in report.worstConfusions { XCTAssertTrue(worst.contains(c.studyKey), c.studyKey) }
        for (_, list) in output.page.thumbnails {
            for t in list { XCTAssertTrue(html.contains("src=\"\(t.file)\""), t.file) }
        }
        XCTAssertTrue(html.contains("no thumbnail"), "studies without a given thumbnail say so")
        XCTAssertTrue(html.contains("Research use only"))
    }

    // MARK: No frame path, no patient name in any file
    func testNoPathOrPatientNameInOutputs() throws {
        try output().write(to: directory)
        for name in ["studies.csv", "frames.csv", "evaluation.json", "evaluation.html"] {
            let text = try read(name)
            XCTAssertFalse(text.contains(MulticlassSampleData.nameInPaths), name)
            XCTAssertFalse(text.contains("DOE"), name)
            XCTAssertFalse(text.contains("/export/"), name)
        }
    }

    // MARK: A thumbnail referenced without a picture is an error naming the file
    func testMissingPicture() throws {
        var output = try output()
        let file = output.pictures.keys.sorted()[0]
        output.pictures[file] = nil
        XCTAssertThrowsError(try output.write(to: directory)) {
            XCTAssertEqual($0 as? EvaluationOutputError, .missingPicture(file: file))
        }
    }

    // MARK: thumbnailFrames: the frames pointing most to the wrong class first
    func testThumbnailFrameChoice() throws {
        let evaluation = try MulticlassSampleData.evaluation()
        let confusion = try XCTUnwrap(evaluation.report.worstConfusions.first)
        let k = evaluation.report.classes.firstIndex(of: confusion.predictedClass)!
        let chosen = MulticlassEvaluationOutput.thumbnailFrames(for: confusion, frames: evaluation.frames, classes: evaluation.report.classes, perCase: 3)
        let all = evaluation.frames.filter { $0.studyKey == confusion.studyKey }
        XCTAssertEqual(chosen.count, min(3, all.count))
        XCTAssertEqual(chosen.map { $0.probabilities[k] }, all.map { $0.probabilities[k] }.sorted(by: >).prefix(3).map { $0 })
    }

    // MARK: Every plot and thumbnail of the page loads in a real browser (chromium): 2 ROC + 8 reliability plots + thumbnails
    func testEveryPictureLoadsInChromium() throws {
        let output = try output()
        try output.write(to: directory)
        let result = try HTMLBrowserCheck.check(page: directory.appendingPathComponent("evaluation.html"))
        let plots = result.images.filter { $0.src.hasPrefix("data:image/svg+xml") }
        XCTAssertEqual(plots.count, 2 * (1 + 4))
        XCTAssertEqual(result.images.count - plots.count, output.pictures.count)
        XCTAssertEqual(result.broken, [], "pictures that did not load")
        for thumb in result.images where thumb.src.hasPrefix("thumbnails/") { XCTAssertEqual([thumb.width, thumb.height], [224, 224], thumb.src) }
        XCTAssertEqual(result.title, "SonoKit evaluation: run exp-mc, test split (multi-class)")
    }

    // MARK: Per-class thresholds: the CSV prediction, the page and the summary follow the decision rule, not the argmax
    func testPerClassThresholdDecisionInOutputs() throws {
        let classes = MulticlassSampleData.classes
        let evaluation = try MulticlassEvaluator(MulticlassSampleData.settings(replicates: 0)).evaluate(
            frames: MulticlassSampleData.frames(split: "test", seed: 11), classes: classes, ordinal: true, split: "test", run: MulticlassSampleData.run,
            thresholds: (.youden, MulticlassSampleData.frames(split: "validation", seed: 21), "validation"))
        guard case .perClassThresholds(let t) = evaluation.report.study.decision else { return XCTFail("no thresholds") }
        try MulticlassEvaluationOutput.write(evaluation, to: directory)
        var differs = 0
        for (row, study) in zip(try csvRows("studies.csv").dropFirst(), evaluation.studies) {
            let decided = t.decide(study.probabilities)
            XCTAssertEqual(row[4], classes[decided], study.studyKey)
            XCTAssertEqual(Double(row[3]), study.probabilities[decided], "probability = that of the decided class, not the largest")
            if t.decide(study.probabilities) != study.predictedClass { differs += 1 }
        }
        XCTAssertGreaterThan(differs, 0, "the thresholds must move some decisions for this test to mean anything")
        let html = try read("evaluation.html")
        XCTAssertTrue(html.contains("class=\"class-thresholds\""))
        for c in t.thresholds { XCTAssertTrue(html.contains(">\(fixed(c.value, 4))</td>")) }
        XCTAssertTrue(MulticlassEvaluationSummary.text(evaluation.report).contains("  Decision            the class whose probability exceeds its own threshold"))
    }

    // MARK: The terminal summary: averaged AUCs, kappa, the confusion matrix and a line per class
    func testSummary() throws {
        let report = try MulticlassSampleData.evaluation().report
        let text = MulticlassEvaluationSummary.text(report)
        XCTAssertTrue(text.hasPrefix("Evaluation of run exp-mc on the test split (multi-class, 4 ordered classes: normal < benign < suspicious < malignant; study aggregation: mean)"))
        XCTAssertTrue(text.contains("  Decision            the most probable class\n"), text)
        XCTAssertTrue(text.contains("  Macro AUC           \(fixed(report.study.macroAUC.estimate, 3))  bootstrap ["), text)
        XCTAssertTrue(text.contains("  Kappa (quadratic)   \(fixed(report.study.kappa.value!, 3))"), text)
        let counts = report.study.confusionMatrix.counts[0].map { String(repeating: " ", count: 10 - String($0).count) + String($0) }.joined(separator: " ")
        XCTAssertTrue(text.contains("        normal " + counts), text)
        for c in report.study.perClass { XCTAssertTrue(text.contains("  \(c.name)") && text.contains("sens \(fixed(c.sensitivity.value, 3))"), c.name) }
        XCTAssertTrue(text.contains("Frame level (secondary)"))
    }

    /// Writes the example multi-class folder to $SONOKIT_WRITE_EXAMPLE_MULTICLASS_PAGE when set, to look at the page in a browser.
    func testWriteExamplePageWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["SONOKIT_WRITE_EXAMPLE_MULTICLASS_PAGE"] else {
            throw XCTSkip("set SONOKIT_WRITE_EXAMPLE_MULTICLASS_PAGE=folder to write the example page")
        }
        try output().write(to: URL(fileURLWithPath: path))
    }
}
