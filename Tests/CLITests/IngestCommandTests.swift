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

    /// Patient names, IDs and birth dates of SampleStudies, read with dcmdump (not with our reader).
    func sampleIdentifiers() throws -> Set<String> {
        var values = Set<String>()
        let root = RepositoryPaths.sampleStudies.path
        for name in try XCTUnwrap(FileManager.default.subpaths(atPath: root)) where !name.hasSuffix(".csv") {
            let path = root + "/" + name
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
                  let dump = try? DCMTKTools.run("dcmdump", ["+P", "0010,0010", "+P", "0010,0020", "+P", "0010,0030", "+P", "0008,0090", path]) else { continue }
            for line in dump.split(separator: "\n") {
                guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { continue }
                let value = String(line[line.index(after: open)..<close])
                if value.count >= 4 { values.insert(value) }
                values.formUnion(value.split(separator: "^").map(String.init).filter { $0.count >= 4 })
            }
        }
        return values
    }

    func testIngestPrintsTheSummaryAndNoPatientIdentifiers() throws {
        let catalog = work.appendingPathComponent("c.sqlite").path
        let identifiers = try sampleIdentifiers()
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
