import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit ingest` and `sonokit demo` end to end on SampleStudies/.
final class IngestCommandTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }


    func testIngestPrintsTheSummaryAndNoPatientIdentifiers() throws {
        let catalog = work.appendingPathComponent("c.sqlite").path
        let identifiers = try SampleIdentifiers.values()
        XCTAssertGreaterThan(identifiers.count, 20, "the PHI probe must have something to look for")
        for arguments in [["ingest", RepositoryPaths.sampleStudies.path, "--catalog", catalog, "--jobs", "2"],
                          ["ingest", RepositoryPaths.sampleStudies.path, "--catalog", catalog, "--json"],
                          ["catalog", "summary", "--catalog", catalog],
                          ["catalog", "problems", "--catalog", catalog, "--json"]] {
            let result = try SonoKitCommand.run(arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            for value in identifiers {
                XCTAssertFalse(result.stdout.contains(value) || result.stderr.contains(value), "\(arguments[0]) printed \(value)")
            }
        }
        let first = try SonoKitCommand.run(["catalog", "summary", "--catalog", catalog, "--json"])
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["studies"] as? Int, 40)
        XCTAssertEqual(summary["patients"] as? Int, 30)
        XCTAssertEqual(summary["dicomdir_files"] as? Int, 1)
        XCTAssertGreaterThan(summary["dicom_instances"] as? Int ?? 0, summary["image_instances"] as? Int ?? 0,
                             "non-image objects are indexed")
    }

    func testIngestOfAMissingFolderSaysSo() throws {
        let result = try SonoKitCommand.run(["ingest", "/nonexistent/export", "--catalog", work.appendingPathComponent("c.sqlite").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("/nonexistent/export"), result.stderr)
    }

    func testBadShardIsRefusedWithAnExample() throws {
        let result = try SonoKitCommand.run(["ingest", "x", "--catalog", "c.sqlite", "--shard", "4/4"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("0 <= I < N"), result.stderr)
    }

    func testDemoIngestsSampleStudies() throws {
        let result = try SonoKitCommand.run(["demo", "-o", work.appendingPathComponent("demo").path,
                                             "--samples", RepositoryPaths.sampleStudies.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("studies"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("demo/catalog.sqlite").path))
    }
}
