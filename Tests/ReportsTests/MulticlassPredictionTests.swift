import Evaluation
import DICOM
import Foundation
import Imaging
import SonoKitCore
import SonoKitTestSupport
import XCTest
@testable import Reports

/// Prediction reports of a multi-class model: the study's class probabilities, the predicted
/// class, the JSON (schema 1.1.0), the CSV with a column per class, the HTML bar list.
final class MulticlassPredictionTests: XCTestCase {
    typealias D = PredictionTestData

    static let classes = ["normal", "cyst", "solid lesion"]
    static let model = PredictionModel(
        modelID: "sonokit-small-3class01", architecture: "small", weightsSHA256: String(repeating: "ef", count: 32),
        weightsOrigin: nil, classes: classes, positiveClass: nil,
        deviceUID: PredictionModel.deviceUID(modelID: "sonokit-small-3class01", weightsSHA256: String(repeating: "ef", count: 32)),
        preprocessingHash: String(repeating: "cd", count: 32), softwareVersions: ["sonokit": "0.1.0"], createdAt: nil)

    /// Study 1.2.3: frames (0.2, 0.5, 0.3) and (0.6, 0.1, 0.3); study 1.2.4 (cine): (0.1, 0.3, 0.6),
    /// (0.2, 0.2, 0.6), (0.1, 0.7, 0.2).
    static let frames = [
        PredictedFrame(sopInstanceUID: "1.2.3.1.1", frameIndex: 0, classProbabilities: [0.2, 0.5, 0.3], crop: D.regionsCrop, decode: D.rgb, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.3.1.2", frameIndex: 0, classProbabilities: [0.6, 0.1, 0.3], crop: D.regionsCrop, decode: D.rgb, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 0, classProbabilities: [0.1, 0.3, 0.6], crop: D.autoCrop, decode: D.gray, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 4, classProbabilities: [0.2, 0.2, 0.6], crop: D.autoCrop, decode: D.gray, warnings: []),
        PredictedFrame(sopInstanceUID: "1.2.4.1.1", frameIndex: 9, classProbabilities: [0.1, 0.7, 0.2], crop: D.autoCrop, decode: D.gray, warnings: []),
    ]

    static func thresholds(_ t: [Double]) -> MulticlassDecisionRule {
        .perClassThresholds(PerClassThresholds(t.map { ThresholdChoice(rule: .fixed($0), value: $0, fittedOn: nil) }))
    }

    func build(_ aggregation: MulticlassAggregation = .mean, thresholds: [Double]? = nil, identifiers: Bool = false,
               frames: [PredictedFrame] = frames) throws -> (reports: [PredictionReport], failed: [PredictionStudyFailure]) {
        let rule = MulticlassPredictionRule(aggregation: aggregation, decision: thresholds.map(Self.thresholds) ?? .argmax,
                                            source: thresholds == nil ? "model card: argmax" : "thresholds fitted on the validation split")
        let builder = PredictionReportBuilder(model: Self.model, multiclass: rule, keys: PredictionKeys(secret: D.secret),
                                              includeIdentifiers: identifiers, createdAt: "2026-12-01T10:00:00Z")
        return try builder.build(instances: D.instances, frames: frames, failures: D.failures) { _ in
            PredictionStudyIdentifiers(patient: PatientIdentifiers(patientName: "DOE^JANE", patientID: "PID-42", birthDate: "19700101"), accessionNumber: "ACC9")
        }
    }

    func report(_ reports: [PredictionReport], study: String) throws -> PredictionReport {
        try XCTUnwrap(reports.first { $0.studyKey == PredictionKeys(secret: D.secret).studyKey(study) })
    }

    // MARK: Aggregation and decision are the evaluation's (Evaluation.MulticlassAggregation,
    // MulticlassDecisionRule): hand-computed here on the study vectors the report holds

    func testMaxAggregationIsRenormalisedAndVoteCountsArgmaxes() throws {
        // Study 1.2.4, maxima (0.2, 0.7, 0.6), sum 1.5.
        let max = try report(build(.max).reports, study: "1.2.4")
        for (a, b) in zip(max.classProbabilities!.map(\.probability), [0.2 / 1.5, 0.7 / 1.5, 0.6 / 1.5]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertEqual(max.label, "cyst")
        // argmaxes 2, 2, 1
        let vote = try report(build(.vote).reports, study: "1.2.4")
        XCTAssertEqual(vote.classProbabilities!.map(\.probability), [0, 1.0 / 3, 2.0 / 3])
        XCTAssertEqual(vote.label, "solid lesion")
    }

    /// Threshold moving: argmax p_k / t_k. Study 1.2.3 has (0.4, 0.3, 0.3): with thresholds
    /// (0.5, 0.2, 0.4) the ratios are (0.8, 1.5, 0.75): cyst, although normal is the most probable.
    func testPerClassThresholdsMoveTheDecisionAndFlagAClassBelowItsThreshold() throws {
        let t = try report(build(thresholds: [0.5, 0.2, 0.4]).reports, study: "1.2.3")
        XCTAssertEqual(t.label, "cyst")
        XCTAssertEqual(t.probability, 0.3, accuracy: 1e-12)
        XCTAssertEqual(t.decision?.rule, "per_class_thresholds")
        XCTAssertEqual(t.decision?.thresholds?.map(\.name), Self.classes)
        XCTAssertEqual(t.decision?.thresholds?.map(\.value), [0.5, 0.2, 0.4])
        XCTAssertEqual(t.decision?.reachedThreshold, true)
        XCTAssertFalse(t.warnings.contains { $0.hasPrefix("no class reached") })
        // None reached (0.9 each): the closest, normal (0.4 / 0.9), flagged.
        let none = try report(build(thresholds: [0.9, 0.9, 0.9]).reports, study: "1.2.3")
        XCTAssertEqual(none.label, "normal")
        XCTAssertEqual(none.decision?.reachedThreshold, false)
        XCTAssertTrue(none.warnings.contains { $0.hasPrefix("no class reached its threshold") }, "\(none.warnings)")
    }

    // MARK: The report

    func testTheReportCarriesEveryClassProbabilityAndThePredictedClass() throws {
        let (reports, failed) = try build()
        XCTAssertEqual(failed.map(\.studyKey), [PredictionKeys(secret: D.secret).studyKey("1.2.5")])
        let a = try report(reports, study: "1.2.3")
        XCTAssertEqual(a.task, .multiclass)
        XCTAssertEqual(a.schemaVersion, "1.1.0")
        // mean of (0.2, 0.5, 0.3) and (0.6, 0.1, 0.3) = (0.4, 0.3, 0.3): normal
        XCTAssertEqual(a.label, "normal")
        XCTAssertEqual(a.probability, 0.4, accuracy: 1e-12)
        XCTAssertEqual(a.classProbabilities?.map(\.name), Self.classes)
        for (p, e) in zip(a.classProbabilities!.map(\.probability), [0.4, 0.3, 0.3]) { XCTAssertEqual(p, e, accuracy: 1e-12) }
        XCTAssertNil(a.threshold)
        XCTAssertFalse(a.labelIsPositive)
        XCTAssertEqual(a.decision?.rule, "argmax")
        // Frames: the probability of the study's predicted class, and the whole vector.
        XCTAssertEqual(a.frames.map(\.probability), [0.2, 0.6])
        XCTAssertEqual(a.frames.map(\.classProbabilities!), [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
        let b = try report(reports, study: "1.2.4")
        XCTAssertEqual(b.label, "solid lesion")                       // mean (0.133, 0.4, 0.467)
        XCTAssertEqual(b.probability, 1.4 / 3, accuracy: 1e-12)
    }

    func testVoteHasNoFrameThreshold() throws {
        let b = try report(build(.vote).reports, study: "1.2.4")
        XCTAssertEqual(b.probability, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(b.aggregation.rule, "vote")
        XCTAssertNil(b.aggregation.frameThreshold)
    }

    func testInputsOfTheWrongSizeAreRefused() {
        var frames = Self.frames
        frames[0].classProbabilities = [0.5, 0.5]
        XCTAssertThrowsError(try build(frames: frames)) { XCTAssertTrue("\($0)".contains("2 class probabilities, but the model has 3 classes"), "\($0)") }
        XCTAssertThrowsError(try build(thresholds: [0.5, 0.5])) { XCTAssertTrue("\($0)".contains("2 thresholds"), "\($0)") }
    }

    // MARK: JSON: task recorded, schema 1.1.0 valid, round trip; binary keys absent

    func testJSONRecordsTheTaskValidatesAndRoundTrips() throws {
        for identifiers in [false, true] {
            for aggregation in MulticlassAggregation.allCases {
                for thresholds in [nil, [0.3, 0.3, 0.3]] as [[Double]?] {
                    for r in try build(aggregation, thresholds: thresholds, identifiers: identifiers).reports {
                        let data = try r.jsonData()
                        XCTAssertNoThrow(try SchemaValidator.validate(data, against: "prediction-report.schema.json"))
                        // Round trip through the Codable conformance (plain keys: the snake_case
                        // decoder of the files, with acronyms, is PredictionMerge's).
                        XCTAssertEqual(try JSONDecoder().decode(PredictionReport.self, from: JSONEncoder().encode(r)), r)
                        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
                        XCTAssertEqual(object["task"] as? String, "multiclass")
                        XCTAssertNil(object["threshold"])
                        XCTAssertNil(object["label_is_positive"])
                        XCTAssertEqual((object["class_probabilities"] as? [[String: Any]])?.compactMap { $0["class"] as? String }, Self.classes)
                    }
                }
            }
        }
    }

    /// A binary report has no `task` key (absent means binary) and decodes as binary.
    func testBinaryReportsStayWithoutTaskAndDecodeAsBinary() throws {
        let builder = PredictionReportBuilder(model: D.model, rule: D.rule(), keys: PredictionKeys(secret: D.secret), includeIdentifiers: false,
                                              createdAt: "2026-12-01T10:00:00Z")
        for r in try builder.build(instances: D.instances, frames: D.frames, failures: D.failures).reports {
            let data = try r.jsonData()
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertNil(object["task"])
            XCTAssertNil(object["class_probabilities"])
            XCTAssertNotNil(object["label_is_positive"])
            XCTAssertEqual(object["schema_version"] as? String, "1.0.0")
            let plain = try JSONEncoder().encode(r)
            XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("\"task\""))
            XCTAssertEqual(try JSONDecoder().decode(PredictionReport.self, from: plain), r, "no task key: binary")
        }
    }

    /// A multi-class report that claims schema 1.0.0, or lacks its class probabilities, is refused by the schema.
    func testTheSchemaRefusesAMixedUpReport() throws {
        var r = try report(build().reports, study: "1.2.3")
        r.schemaVersion = "1.0.0"
        XCTAssertThrowsError(try SchemaValidator.validate(r.jsonData(), against: "prediction-report.schema.json"))
        r = try report(build().reports, study: "1.2.3")
        r.classProbabilities = nil
        XCTAssertThrowsError(try SchemaValidator.validate(r.jsonData(), against: "prediction-report.schema.json"))
    }

    // MARK: CSV: the binary columns, then task, predicted_class and probability_<class> per class

    func testCSVHasAProbabilityColumnPerClass() throws {
        let (reports, failed) = try build()
        let text = PredictionCSV.multiclassText(reports: reports, failed: failed, classes: Self.classes)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], PredictionCSV.columns.joined(separator: ",") + ",task,predicted_class,probability_normal,probability_cyst,probability_solid_lesion")
        XCTAssertEqual(lines.count, 4)
        let a = try XCTUnwrap(lines.first { $0.hasPrefix(PredictionKeys(secret: D.secret).studyKey("1.2.3")) })
        XCTAssertTrue(a.contains(",reported,normal,,0.400000,,argmax,mean,2,2,"), a)
        XCTAssertTrue(a.hasSuffix(",multiclass,normal,0.400000,0.300000,0.300000"), a)
        let failedRow = try XCTUnwrap(lines.first { $0.contains(",failed,") })
        XCTAssertEqual(failedRow.split(separator: ",", omittingEmptySubsequences: false).count, lines[0].split(separator: ",").count)
    }

    // MARK: HTML: predicted class, the bars, Grad-CAM of the predicted class

    func testTheStudyPageShowsTheClassProbabilitiesAsBars() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-mc-html-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let (reports, failed) = try build()
        let a = try report(reports, study: "1.2.3")
        let pictures = a.frames.map { f in
            PredictionFramePictures(instanceKey: f.instanceKey, frameIndex: f.frameIndex, probability: f.probability,
                                    source: RGBImage(width: 40, height: 30, fill: (40, 40, 40)), input: RGBImage(width: 16, height: 16, fill: (90, 90, 90)),
                                    heatmap: [Float](repeating: 0.5, count: 256))
        }
        let pagePath = try PredictionHTML.writeStudyPage(a, pictures: pictures, outputFolder: work.path)
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        // Opened in a headless browser: every picture loads.
        let check = try HTMLBrowserCheck.check(page: URL(fileURLWithPath: pagePath))
        XCTAssertEqual(check.images.count, 3 * a.frames.count)
        XCTAssertEqual(check.broken.map(\.src), [])
        XCTAssertTrue(page.contains(#"<tr><th>Predicted class</th><td class="predicted">normal</td></tr>"#), page)
        XCTAssertTrue(page.contains(#"<li class="predicted"><span class="name">normal</span><span class="bar"><span style="width: 40.0%"></span></span><span class="value">0.400</span></li>"#), page)
        XCTAssertTrue(page.contains(#"<span class="name">solid lesion</span><span class="bar"><span style="width: 30.0%">"#), page)
        XCTAssertTrue(page.contains("Grad-CAM of the last convolution for normal (the predicted class)"), page)
        XCTAssertTrue(page.contains("p(normal) = 0.600"), "the frame caption gives the frame's probability of the predicted class")
        XCTAssertTrue(page.contains("ul.bars"), "the bar style is on the page")
        let index = try String(contentsOfFile: PredictionHTML.writeIndex(reports: reports, failed: failed, outputFolder: work.path), encoding: .utf8)
        XCTAssertTrue(index.contains("classes normal, cyst, solid lesion"), index)
    }
}
