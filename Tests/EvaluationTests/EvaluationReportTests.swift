import Foundation
import SonoKitTestSupport
import XCTest
@testable import Evaluation

/// evaluation.json against Schemas/evaluation-report.schema.json.
///
/// Two independent checks:
/// - live: today's encodings (default report and edge cases: fixed threshold, vote, undefined PPV,
///   evaluation on the fitting split) are validated by Python's jsonschema through the project's
///   SonoKitTestSupport.SchemaValidator (Debian python3-jsonschema, as for inspect.schema.json);
/// - Python-free: JSONSchemaSubsetValidator (this folder) validates the same encodings; it is
///   itself held to jsonschema's verdicts on the committed example reports (binary and
///   multi-class) and 73 mutations of them (Fixtures/schema_cases.json), and the committed
///   examples must equal today's encodings. The schema describes both tasks: `task` =
///   "multiclass" selects the multi-class report (if/then), anything else the binary one.
final class EvaluationReportTests: XCTestCase {
    struct SchemaCases: Decodable {
        struct Operation: Decodable { var op: String; var path: String; var value: JSONValue? }
        /// `example`: "binary" (example-evaluation-report.json) or "multiclass" (example-multiclass-evaluation-report.json).
        struct Case: Decodable { var name: String; var example: String; var patch: [Operation]; var valid: Bool; var errors: [String] }
        var cases: [Case]
    }

    func schemaValidator() throws -> JSONSchemaSubsetValidator {
        let url = SchemaValidator.schemasFolder.appendingPathComponent("evaluation-report.schema.json")
        return try JSONSchemaSubsetValidator(schema: JSONValue.parse(Data(contentsOf: url)))
    }

    // MARK: The validator agrees with jsonschema on every committed case (valid and invalid)
    func testValidatorAgreesWithJsonschemaOnEveryCase() throws {
        let validator = try schemaValidator()
        let examples = ["binary": try JSONValue.parse(Data(contentsOf: fixtureURL("example-evaluation-report.json"))),
                        "multiclass": try JSONValue.parse(Data(contentsOf: fixtureURL("example-multiclass-evaluation-report.json")))]
        let cases = try JSONDecoder().decode(SchemaCases.self, from: Data(contentsOf: fixtureURL("schema_cases.json"))).cases
        XCTAssertGreaterThan(cases.filter(\.valid).count, 5)
        XCTAssertGreaterThan(cases.filter { !$0.valid }.count, 20)
        XCTAssertGreaterThan(cases.filter { $0.example == "multiclass" && $0.valid }.count, 4)
        XCTAssertGreaterThan(cases.filter { $0.example == "multiclass" && !$0.valid }.count, 15)
        for c in cases {
            var instance = try XCTUnwrap(examples[c.example], c.example)
            for op in c.patch {
                // A patch value of JSON null decodes as .null; a "remove" has no value at all.
                instance = try instance.applying(op: op.op, path: op.path, value: op.op == "remove" ? nil : (op.value ?? .null))
            }
            let errors = validator.validate(instance)
            XCTAssertEqual(errors.isEmpty, c.valid, "\(c.name): jsonschema says \(c.valid ? "valid" : "invalid: \(c.errors)"), ours: \(errors)")
        }
    }

    // MARK: The committed example equals today's encoding (else regenerate both fixtures)
    func testCommittedExampleIsTodaysEncoding() throws {
        let committed = try JSONValue.parse(Data(contentsOf: fixtureURL("example-evaluation-report.json")))
        let live = try JSONValue.parse(SampleData.report().jsonData())
        XCTAssertTrue(committed == live, """
            The encoding of EvaluationReport changed. Regenerate the example and the jsonschema verdicts:
            SONOKIT_WRITE_EXAMPLE_REPORT=$PWD/Tests/EvaluationTests/Fixtures/example-evaluation-report.json swift test --filter ExampleReportDump
            python scripts/fixtures/evaluation/make_schema_fixtures.py
            """)
    }

    // MARK: The committed multi-class example equals today's encoding (else regenerate both fixtures)
    func testCommittedMulticlassExampleIsTodaysEncoding() throws {
        let committed = try JSONValue.parse(Data(contentsOf: fixtureURL("example-multiclass-evaluation-report.json")))
        let live = try JSONValue.parse(MulticlassSampleData.makeEvaluation(replicates: 50, patients: 24).report.jsonData())
        XCTAssertTrue(committed == live, """
            The encoding of MulticlassEvaluationReport changed. Regenerate the example and the jsonschema verdicts:
            SONOKIT_WRITE_EXAMPLE_MULTICLASS_REPORT=$PWD/Tests/EvaluationTests/Fixtures/example-multiclass-evaluation-report.json swift test --filter ExampleReportDump
            python scripts/fixtures/evaluation/make_schema_fixtures.py
            """)
    }

    // MARK: Live multi-class encodings validate (ours and jsonschema): ordinal and nominal, max and vote, no bootstrap, two classes
    func testLiveMulticlassEncodingsValidate() throws {
        let validator = try schemaValidator()
        var documents: [Data] = []
        documents.append(try MulticlassSampleData.evaluation().report.jsonData())
        documents.append(try MulticlassSampleData.makeEvaluation(replicates: 0, ordinal: false, patients: 16).report.jsonData())
        for rule in [MulticlassAggregation.max, .vote] {
            var settings = MulticlassSampleData.settings(replicates: 0)
            settings.aggregation = rule
            let frames = MulticlassSampleData.frames(split: "test", seed: 3, patients: 20)
            documents.append(try MulticlassEvaluator(settings).evaluate(frames: frames, classes: MulticlassSampleData.classes, ordinal: true,
                                                                        split: "test", run: MulticlassSampleData.run).report.jsonData())
        }
        // Two classes as a multi-class task (no top-2 accuracy).
        let two = MulticlassSampleData.frames(split: "test", seed: 4, patients: 20).map { f -> MulticlassFrame in
            var g = f
            g.trueClass = f.trueClass < 2 ? 0 : 1
            g.probabilities = [f.probabilities[0] + f.probabilities[1], f.probabilities[2] + f.probabilities[3]]
            return g
        }
        let twoReport = try MulticlassEvaluator(MulticlassSampleData.settings(replicates: 20)).evaluate(
            frames: two, classes: ["low", "high"], ordinal: false, split: "test", run: MulticlassSampleData.run).report
        XCTAssertNil(twoReport.study.topTwoAccuracy)
        documents.append(try twoReport.jsonData())
        for document in documents {
            XCTAssertEqual(validator.validate(try JSONValue.parse(document)), [])
            XCTAssertNoThrow(try SchemaValidator.validate(document, against: "evaluation-report.schema.json"))
        }
        // A multi-class report read as binary is invalid, with the reason at the member.
        let live = try JSONValue.parse(documents[0])
        let asBinary = try live.applying(op: "remove", path: "/task", value: nil)
        let errors = validator.validate(asBinary)
        XCTAssertTrue(errors.contains("$: 'subgroups' is required"), "\(errors)")
        XCTAssertTrue(errors.contains("$: 'ordinal' is not allowed"), "\(errors)")
        let noCounts = try live.applying(op: "remove", path: "/study/confusion_matrix/counts", value: nil)
        XCTAssertEqual(validator.validate(noCounts), ["$.study.confusion_matrix: 'counts' is required"])
    }

    // MARK: Live encodings validate: youden/mean, fixed threshold, vote, a threshold above every score
    func testLiveEncodingsValidate() throws {
        let validator = try schemaValidator()
        let report = try SampleData.report()
        XCTAssertEqual(validator.validate(try JSONValue.parse(report.jsonData())), [])

        // A fixed threshold above every probability (PPV and MCC undefined), vote aggregation, no
        // bootstrap, no frame level, evaluated on the split a threshold was fitted on.
        var settings = SampleData.settings(replicates: 0)
        settings.aggregation = .vote(frameThreshold: 0.4)
        let frames = SampleData.frames(split: "test", seed: 5)
        let studies = try settings.aggregation.aggregate(frames).map(\.sample)
        let fixed = try Evaluator.evaluate(studies, level: .study, split: "test", threshold: .fixed(1.01), settings: settings)
        XCTAssertNil(fixed.atThreshold.positivePredictiveValue)
        let fitted = try ThresholdChoice.fit(.targetSpecificity(0.9), on: BinaryOutcomes(studies), split: "test", level: .study,
                                             aggregation: settings.aggregation)
        let onFittingSplit = try Evaluator.evaluate(studies, level: .study, split: "test", threshold: fitted, settings: settings)
        var documents = [try report.jsonData()]
        for study in [fixed, onFittingSplit] {
            let r = EvaluationReport(run: report.run, classes: SampleData.classes, evaluatedSplit: "test", settings: settings,
                                     study: study, frame: nil, subgroups: [], dataCounts: report.dataCounts)
            documents.append(try r.jsonData())
            let errors = validator.validate(try JSONValue.parse(r.jsonData()))
            XCTAssertEqual(errors, [])
        }
        for document in documents {
            XCTAssertNoThrow(try SchemaValidator.validate(document, against: "evaluation-report.schema.json"))
        }
        // The live jsonschema check can fail: a broken report is rejected with the path named.
        let broken = String(decoding: documents[0], as: UTF8.self).replacingOccurrences(of: "\"resampling_unit\" : \"patient\"",
                                                                                         with: "\"resampling_unit\" : \"frame\"")
        XCTAssertNotEqual(broken, String(decoding: documents[0], as: UTF8.self))
        XCTAssertThrowsError(try SchemaValidator.validate(Data(broken.utf8), against: "evaluation-report.schema.json")) { error in
            XCTAssertTrue("\(error)".contains("resampling_unit"), "\(error)")
        }
        XCTAssertTrue(onFittingSplit.threshold.evaluatedOnFittingSplit)
    }

    // MARK: Round trip: decode(encode(report)) == report
    func testReportRoundTrips() throws {
        let report = try SampleData.report()
        let back = try EvaluationReport.jsonDecoder().decode(EvaluationReport.self, from: report.jsonData())
        XCTAssertEqual(back, report)
    }

    // MARK: A validator that accepted everything would fail here
    func testValidatorRejectsBrokenLiveReports() throws {
        let validator = try schemaValidator()
        let live = try JSONValue.parse(SampleData.report().jsonData())
        let broken = try live.applying(op: "replace", path: "/study/auc/estimate", value: .number(-0.1))
        XCTAssertFalse(validator.validate(broken).isEmpty)
        let renamed = try live.applying(op: "remove", path: "/study/threshold", value: nil)
        XCTAssertEqual(validator.validate(renamed), ["$.study: 'threshold' is required"])
        XCTAssertThrowsError(try JSONSchemaSubsetValidator(schema: .object(["type": .string("object"), "dependentRequired": .object([:])])))
    }

    // MARK: The report says where the threshold came from and flags evaluation on its fitting split
    func testThresholdProvenanceAndFlag() throws {
        let report = try SampleData.report()
        XCTAssertEqual(report.study.threshold.choice.fittedOn?.split, "validation")
        XCTAssertEqual(report.study.threshold.choice.fittedOn?.aggregation, .mean)
        XCTAssertFalse(report.study.threshold.evaluatedOnFittingSplit)
        XCTAssertEqual(report.warnings, [])
        let flagged = EvaluationReport(run: report.run, classes: report.classes, evaluatedSplit: "validation", settings: report.settings,
                                       study: try Evaluator.evaluate(SampleData.settings().aggregation.aggregate(SampleData.frames(split: "validation", seed: 2)).map(\.sample),
                                                                     level: .study, split: "validation", threshold: report.study.threshold.choice,
                                                                     settings: SampleData.settings(replicates: 0)),
                                       frame: nil, subgroups: [], dataCounts: report.dataCounts)
        XCTAssertTrue(flagged.study.threshold.evaluatedOnFittingSplit)
        XCTAssertEqual(flagged.warnings.count, 1)
        XCTAssertTrue(flagged.study.notes.contains { $0.contains("fitted on this split") })
    }
}
