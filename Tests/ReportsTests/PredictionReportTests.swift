import DICOM
import Evaluation
import Foundation
import Preprocess
import SonoKitTestSupport
import XCTest
@testable import Reports

final class PredictionReportTests: XCTestCase {
    typealias D = PredictionTestData

    func build(_ rule: PredictionDecisionRule = D.rule(), keys: PredictionKeys = PredictionKeys(secret: D.secret),
               frames: [PredictedFrame] = D.frames, identifiers: Bool = false) throws -> (reports: [PredictionReport], failed: [PredictionStudyFailure]) {
        try PredictionReportBuilder(model: D.model, rule: rule, keys: keys, includeIdentifiers: identifiers, createdAt: "2026-11-25T15:00:00Z")
            .build(instances: D.instances, frames: frames, failures: D.failures) { _ in
                PredictionStudyIdentifiers(patient: PatientIdentifiers(patientName: "DOE^JANE", patientID: "PID-42", birthDate: "19700101"),
                                           accessionNumber: "ACC9")
            }
    }

    func report(_ reports: [PredictionReport], study uid: String) throws -> PredictionReport {
        let key = PredictionKeys(secret: D.secret).studyKey(uid)
        return try XCTUnwrap(reports.first { $0.studyKey == key })
    }

    // MARK: The SR references frames of multi-frame instances only (PS3.3 10.3; dciodvfy: an
    // error for a single-frame SOP instance)
    func testTheSRListsFramesOnlyForMultiFrameInstances() throws {
        let built = try build()
        for (study, expected) in [("1.2.3", ["1.2.3.1.1": [Int](), "1.2.3.1.2": []]), ("1.2.4", ["1.2.4.1.1": [1, 5, 10]])] {
            let r = try report(built.reports, study: study)
            let members = D.instances.filter { $0.studyInstanceUID == study }
            let used = Dictionary(grouping: D.frames.filter { f in members.contains { $0.sopInstanceUID == f.sopInstanceUID } }, by: \.sopInstanceUID)
                .mapValues { $0.map(\.frameIndex).sorted() }
            let sr = StudyReportSR.document(for: r, instances: members, framesUsed: used, softwareVersion: "0", includeIdentifiers: false)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: sr.images.map { ($0.sopInstanceUID, $0.frameNumbers) }), expected, study)
        }
    }

    // MARK: Every report conforms to Schemas/prediction-report.schema.json (checked by python-jsonschema)

    func testReportsValidateAgainstTheSchema() throws {
        for identifiers in [false, true] {
            for aggregation in [StudyAggregation.mean, .max, .vote(frameThreshold: 0.25)] {
                for r in try build(D.rule(aggregation), identifiers: identifiers).reports {
                    XCTAssertNoThrow(try SchemaValidator.validate(r.jsonData(), against: "prediction-report.schema.json"))
                }
            }
        }
    }

    func testTheSchemaRejectsAReportWithoutDisclaimerOrWithAWrongKey() throws {
        let r = try build().reports[0]
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: r.jsonData()) as? [String: Any])
        object["disclaimer"] = "use freely"
        XCTAssertThrowsError(try SchemaValidator.validate(JSONSerialization.data(withJSONObject: object), against: "prediction-report.schema.json"))
        object["disclaimer"] = PredictionReport.disclaimer
        object["study_key"] = "1.2.3"
        XCTAssertThrowsError(try SchemaValidator.validate(JSONSerialization.data(withJSONObject: object), against: "prediction-report.schema.json"))
    }

    // MARK: Aggregation and label: p̄ = mean of the frames; positive iff p̄ >= threshold (ties positive)

    func testMeanAggregationAndTheTieAtTheThresholdIsPositive() throws {
        let (reports, failed) = try build(D.rule(.mean, threshold: 0.4))
        XCTAssertEqual(reports.count, 2)
        let a = try report(reports, study: "1.2.3")
        XCTAssertEqual(a.probability, 0.4, accuracy: 1e-12)            // (0.2 + 0.6) / 2
        XCTAssertTrue(a.labelIsPositive)                                // 0.4 >= 0.4
        XCTAssertEqual(a.label, "malignant")
        let b = try report(reports, study: "1.2.4")
        XCTAssertEqual(b.probability, 0.2, accuracy: 1e-12)            // (0.1 + 0.3 + 0.2) / 3
        XCTAssertFalse(b.labelIsPositive)
        XCTAssertEqual(b.label, "benign")
        XCTAssertEqual(failed.map(\.studyKey), [PredictionKeys(secret: D.secret).studyKey("1.2.5")])
        XCTAssertTrue(failed[0].reasons[0].contains("JPEG 2000"), "\(failed)")
    }

    func testMaxAndVoteAggregation() throws {
        let max = try report(build(D.rule(.max, threshold: 0.5)).reports, study: "1.2.4")
        XCTAssertEqual(max.probability, 0.3, accuracy: 1e-12)
        XCTAssertFalse(max.labelIsPositive)
        // vote at frame threshold 0.2: frames 0.3 and 0.2 vote positive -> 2/3.
        let vote = try report(build(D.rule(.vote(frameThreshold: 0.2), threshold: 0.5)).reports, study: "1.2.4")
        XCTAssertEqual(vote.probability, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertTrue(vote.labelIsPositive)
        XCTAssertEqual(vote.aggregation.rule, "vote")
        XCTAssertEqual(vote.aggregation.frameThreshold, 0.2)
    }

    // MARK: What a report records

    func testSeriesFramesCropColourWarningsAndThresholdProvenance() throws {
        let b = try report(build().reports, study: "1.2.4")
        XCTAssertEqual(b.series.count, 1)
        XCTAssertEqual(b.series[0].instances[0].framesUsed, [0, 4, 9], "frames sorted by index")
        XCTAssertEqual(b.series[0].instances[0].crop.source, .auto)
        XCTAssertEqual(b.series[0].instances[0].decode?.voi.source, .fileWindow)
        XCTAssertEqual(b.frames.map(\.probability), [0.1, 0.3, 0.2])
        XCTAssertTrue(b.warnings.contains("no ultrasound regions: automatic crop"))
        XCTAssertEqual(b.warnings.filter { $0 == "no ultrasound regions: automatic crop" }.count, 1, "warnings are not repeated")
        XCTAssertEqual(b.threshold?.rule, "youden")
        XCTAssertEqual(b.threshold?.fittedOn?.split, "validation")
        XCTAssertTrue(b.threshold?.source.contains("model card") == true)
        XCTAssertEqual(b.model.preprocessingHash, D.model.preprocessingHash)
        XCTAssertTrue(b.disclaimer.hasPrefix("Not for diagnostic use"))
        let a = try report(build().reports, study: "1.2.3")
        XCTAssertEqual(a.series[0].instances.count, 2)
        XCTAssertEqual(a.series[0].instances[0].decode?.colorConversion, .codec)
    }

    func testTheReportDoesNotDependOnTheOrderFramesArrivedIn() throws {
        let forward = try build(frames: D.frames).reports.map { try $0.jsonData() }
        let backward = try build(frames: D.frames.reversed()).reports.map { try $0.jsonData() }
        XCTAssertEqual(forward, backward)
    }

    // MARK: Keys: HMAC-SHA256 with the output secret, or the catalog's key; identifiers only on request

    func testKeysArePseudonymousAndIdentifiersOnlyOnRequest() throws {
        let plain = try build().reports
        for r in plain {
            XCTAssertNil(r.identifiers)
            XCTAssertEqual(r.studyKeySource, .outputSecret)
            let text = String(decoding: try r.jsonData(), as: UTF8.self)
            for raw in ["1.2.3", "1.2.4", "DOE", "PID-42", "ACC9", "19700101"] {
                XCTAssertFalse(text.contains("\"\(raw)") , "\(raw) in \(text)")
            }
        }
        let other = try build(keys: PredictionKeys(secret: Data(repeating: 8, count: 32))).reports
        XCTAssertNotEqual(Set(plain.map(\.studyKey)), Set(other.map(\.studyKey)), "keys depend on the secret")
        let catalog = try build(keys: PredictionKeys(secret: D.secret, catalogStudyKeys: ["1.2.3": "S-00000000000000aa"])).reports
        XCTAssertTrue(catalog.contains { $0.studyKey == "S-00000000000000aa" && $0.studyKeySource == .catalog })
        let identified = try build(identifiers: true).reports
        XCTAssertEqual(identified.first?.identifiers?.patientID, "PID-42")
        XCTAssertNotNil(identified.first?.series[0].seriesInstanceUID)
    }

    func testTheOutputSecretIsCreatedOnceWithMode0600AndReused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-secret-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try PredictionKeys.secret(inOutputFolder: folder)
        XCTAssertEqual(first.count, 32)
        XCTAssertEqual(try PredictionKeys.secret(inOutputFolder: folder), first)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + PredictionKeys.secretFileName)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    // MARK: CSV: fixed columns, one row per study (failed ones too), RFC 4180 quoting

    func testCSVHasStableColumnsAndOneRowPerStudy() throws {
        let (reports, failed) = try build()
        let text = PredictionCSV.text(reports: reports, failed: failed)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "study_key,status,label,label_is_positive,probability,threshold,threshold_rule,aggregation,frames_used,instances,warnings,model_id,weights_sha256,preprocessing_hash,schema_version,reason,study_instance_uid")
        XCTAssertEqual(lines.count, 4)
        let keys = lines.dropFirst().map { String($0.prefix(18)) }
        XCTAssertEqual(keys, keys.sorted(), "rows sorted by study key")
        let a = try XCTUnwrap(lines.first { $0.hasPrefix(PredictionKeys(secret: D.secret).studyKey("1.2.3")) })
        XCTAssertTrue(a.contains(",reported,malignant,true,0.400000,0.400000,youden,mean,2,2,"), a)
        XCTAssertTrue(lines.contains { $0.contains(",failed,") && $0.contains("JPEG 2000") })
        XCTAssertEqual(PredictionCSV.quote("a,b \"c\""), "\"a,b \"\"c\"\"\"")
    }
}
