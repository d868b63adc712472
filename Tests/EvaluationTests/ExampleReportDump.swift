import Foundation
import SonoKitTestSupport
import XCTest
@testable import Evaluation

/// Writes the sample report to $SONOKIT_WRITE_EXAMPLE_REPORT when that variable is set (how
/// Tests/EvaluationTests/Fixtures/example-evaluation-report.json is regenerated; see
/// scripts/fixtures/evaluation/make_schema_fixtures.py). Skipped otherwise.
final class ExampleReportDump: XCTestCase {
    func testWriteExampleReportWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["SONOKIT_WRITE_EXAMPLE_REPORT"] else {
            throw XCTSkip("set SONOKIT_WRITE_EXAMPLE_REPORT=path to write the example report")
        }
        try SampleData.report().jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Tests/EvaluationTests/Fixtures/example-multiclass-evaluation-report.json, the multi-class
    /// example the schema verdicts are computed on (a smaller sample: 24 patients, 50 replicates).
    func testWriteExampleMulticlassReportWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["SONOKIT_WRITE_EXAMPLE_MULTICLASS_REPORT"] else {
            throw XCTSkip("set SONOKIT_WRITE_EXAMPLE_MULTICLASS_REPORT=path to write the example multi-class report")
        }
        try MulticlassSampleData.makeEvaluation(replicates: 50, patients: 24).report.jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
