import Evaluation
import Foundation
import Imaging
import SonoKitTestSupport
import XCTest
@testable import Reports

/// The eval-SPLIT folder: evaluation.json against its schema (Python jsonschema), studies.csv and
/// frames.csv (columns, one row per study/frame, probabilities that round-trip exactly, decisions
/// at the threshold), the page's content, atomic writes and file names.
final class EvaluationOutputTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try EvaluationSampleOutput.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func read(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }

    func csvRows(_ name: String) throws -> [[String]] {
        try read(name).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    // MARK: Every file written; evaluation.json valid against Schemas/evaluation-report.schema.json and equal to the report
    func testWritesEveryFileAndTheJSONIsSchemaValid() throws {
        let output = try EvaluationSampleOutput.output(directory: directory)
        let written = try output.write()
        XCTAssertEqual(Array(written.suffix(4)), ["studies.csv", "frames.csv", "evaluation.json", "evaluation.html"])
        let json = try Data(contentsOf: directory.appendingPathComponent("evaluation.json"))
        try SchemaValidator.validate(json, against: "evaluation-report.schema.json")
        XCTAssertEqual(try EvaluationReport.jsonDecoder().decode(EvaluationReport.self, from: json), output.report)
        // No temporary file left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path) + (try FileManager.default.contentsOfDirectory(
            atPath: directory.appendingPathComponent("thumbnails").path))
        XCTAssertFalse(names.contains { $0.hasSuffix(".tmp") }, "\(names)")
        // Thumbnails are the PNG pictures given, bit for bit.
        for (file, picture) in output.pictures {
            XCTAssertEqual(try PNGFile.read(directory.appendingPathComponent(file).path), picture, file)
        }
    }

    // MARK: studies.csv: header, one row per study; probability = aggregation of the frames; prediction = (p >= threshold)
    func testStudiesCSV() throws {
        let output = try EvaluationSampleOutput.output(directory: directory)
        try output.write()
        let rows = try csvRows("studies.csv")
        XCTAssertEqual(rows[0], EvaluationTables.studyColumns)
        XCTAssertEqual(rows[0], ["study_key", "patient_key", "label", "probability", "prediction", "correct", "frames_used", "site", "manufacturer"])
        let body = rows.dropFirst()
        XCTAssertEqual(body.count, Set(output.frames.map(\.studyKey)).count)
        XCTAssertEqual(body.map { $0[0] }, body.map { $0[0] }.sorted())
        let threshold = output.report.study.threshold.choice.value
        for row in body {
            let frames = output.frames.filter { $0.studyKey == row[0] }
            // mean aggregation: p = (1/m) sum p_i, written so that parsing gives the same double
            XCTAssertEqual(Double(row[3]), frames.map(\.probability).reduce(0, +) / Double(frames.count), row[0])
            XCTAssertEqual(Int(row[6]), frames.count)
            XCTAssertEqual(row[4], Double(row[3])! >= threshold ? "malignant" : "benign")
            XCTAssertEqual(row[2], frames[0].isPositive ? "malignant" : "benign")
            XCTAssertEqual(row[5], row[2] == row[4] ? "true" : "false")
            XCTAssertEqual(row[7], frames[0].attributes["site"])
        }
        // The confusion counts of the CSV are the report's.
        let c = output.report.study.atThreshold.confusion
        XCTAssertEqual(body.filter { $0[2] == "malignant" && $0[4] == "malignant" }.count, c.truePositives)
        XCTAssertEqual(body.filter { $0[2] == "benign" && $0[4] == "malignant" }.count, c.falsePositives)
    }

    // MARK: frames.csv: stable columns, one row per frame, sorted by study/instance/frame, pseudonymous keys only
    func testFramesCSV() throws {
        let output = try EvaluationSampleOutput.output(directory: directory)
        try output.write()
        let rows = try csvRows("frames.csv")
        XCTAssertEqual(rows[0], ["study_key", "patient_key", "instance_key", "frame_index", "label", "probability", "site", "manufacturer"])
        XCTAssertEqual(rows.count - 1, output.frames.count)
        let keys = rows.dropFirst().map { "\($0[0])|\($0[2])|\(String(format: "%04d", Int($0[3])!))" }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertEqual(Set(rows.dropFirst().map { Double($0[5])! }), Set(output.frames.map(\.probability)))
        XCTAssertFalse(rows[0].contains { $0.contains("path") || $0.contains("patient_id") || $0.contains("uid") })
    }

    // MARK: CSV quoting (RFC 4180): comma, quote, line break
    func testCSVFieldQuoting() {
        XCTAssertEqual(EvaluationTables.field("plain"), "plain")
        XCTAssertEqual(EvaluationTables.field("a,b"), "\"a,b\"")
        XCTAssertEqual(EvaluationTables.field("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(EvaluationTables.field("two\nlines"), "\"two\nlines\"")
    }

    // MARK: The page: sections, threshold provenance, counts, escaping of data
    func testPageContent() throws {
        var output = try EvaluationSampleOutput.output(directory: directory)
        output.page.modelCard.append(NamedValue("Note", "<script>alert(1)</script> & more"))
        try output.write()
        let html = try read("evaluation.html")
        for heading in ["Study level (primary result)", "Frame level (secondary result)", "Subgroups (study level)", "Data", "Failure analysis",
                        "Training", "Model card", "Preprocessing", "Evaluation settings", "Software versions"] {
            XCTAssertTrue(html.contains("<h2>\(heading)</h2>"), heading)
        }
        let t = output.report.study.threshold.choice
        XCTAssertTrue(html.contains(String(format: "Threshold %.4f (rule youden; fitted on the validation split at study level with aggregation mean", t.value)))
        XCTAssertTrue(html.contains("Split level: patient"))
        XCTAssertTrue(html.contains("Research use only. Not for diagnostic use."))
        XCTAssertFalse(html.contains("<script>"), "data must be escaped")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"))
        XCTAssertFalse(html.contains("optimistic"), "the test split is not the fitting split")
        // Every counted split is in the data table with its patients.
        for counts in output.report.dataCounts {
            XCTAssertTrue(html.contains("<td>\(counts.split)"), counts.split)
            XCTAssertTrue(html.contains("<td class=\"num\">\(counts.patients)</td>"))
        }
    }

    // MARK: Evaluating on the split the threshold was fitted on is flagged on the page and in the JSON
    func testFittingSplitIsFlagged() throws {
        let output = try EvaluationSampleOutput.output(directory: directory, splitLabel: "validation")
        try output.write()
        XCTAssertTrue(output.report.study.threshold.evaluatedOnFittingSplit)
        let html = try read("evaluation.html")
        XCTAssertTrue(html.contains("This split is the one the threshold was fitted on"))
        XCTAssertTrue(html.contains("class=\"warning\">Warning: The study threshold was fitted on the evaluated split"))
        try SchemaValidator.validate(Data(try read("evaluation.json").utf8), against: "evaluation-report.schema.json")
    }

    // MARK: A thumbnail the page shows without a picture is an error; stale thumbnails are removed
    func testThumbnailBookkeeping() throws {
        var output = try EvaluationSampleOutput.output(directory: directory)
        let stale = directory.appendingPathComponent("thumbnails/S-old-x-f0.png")
        try FileManager.default.createDirectory(at: stale.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: stale)
        try output.write()
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        let file = output.pictures.keys.sorted()[0]
        output.pictures[file] = nil
        XCTAssertThrowsError(try output.write()) { XCTAssertEqual($0 as? EvaluationOutputError, .missingPicture(file: file)) }
        XCTAssertEqual(EvaluationOutput.thumbnailFile(studyKey: "S-1/../x", instanceKey: "ab cd", frameIndex: 3), "thumbnails/S-1____x-ab_cd-f3.png")
    }
}
