import Catalog
import Foundation
import Reports
import Workflows
import XCTest

/// `predict --shard I/N` and `predict --merge`: the shards of a run assembled into one folder
/// equal to an unsharded run's, file for file.
final class PredictShardTests: XCTestCase {
    /// The files under `folder` by relative path; JSON reports with their `created_at` (each run's
    /// own time) blanked, everything else byte for byte.
    static func files(under folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = try XCTUnwrap(FileManager.default.enumerator(atPath: folder))
        while let relative = e.nextObject() as? String {
            var isFolder: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            if relative.hasSuffix(".json") {
                let text = String(decoding: data, as: UTF8.self)
                data = Data(text.replacingOccurrences(of: #""created_at" : "[^"]*""#, with: #""created_at" : """#, options: .regularExpression).utf8)
            }
            out[relative] = data
        }
        return out
    }

    // MARK: 3 shards + merge = 1 unsharded run, file for file (reports, predictions.csv, HTML)
    // Guards: a study in no shard or in two, rows of predictions.csv out of the unsharded order,
    // shards keyed with different secrets (instance keys would differ), a lost index page.
    func testShardsMergeIntoTheUnshardedFolder() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-shards-\(UUID().uuidString)").path
        let parts = work + "/parts"
        var perShard: [Int] = []
        for i in 0..<3 {
            var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: parts)
            options.shard = Shard(index: i, count: 3)
            options.html = true
            let result = try PredictWorkflow(options).run()
            perShard.append(result.reports.count + result.failed.count)
            XCTAssertTrue(FileManager.default.fileExists(atPath: parts + "/shard-\(i)-of-3/shard.json"))
        }
        // The unsharded run, into a folder holding the shards' secret (a folder's secret is reused).
        let whole = work + "/whole"
        try FileManager.default.createDirectory(atPath: whole, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: parts + "/.sonokit-key-secret", toPath: whole + "/.sonokit-key-secret")
        var plain = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: whole)
        plain.html = true
        let reference = try PredictWorkflow(plain).run()
        XCTAssertEqual(perShard.reduce(0, +), reference.reports.count + reference.failed.count)
        XCTAssertGreaterThan(reference.reports.count, 2)
        XCTAssertGreaterThanOrEqual(perShard.filter { $0 > 0 }.count, 2, "the studies all fell into one shard: the test would not see a merge")

        let merged = work + "/merged"
        let result = try PredictionMerge.run(output: merged, shardFolders: (0..<3).reversed().map { parts + "/shard-\($0)-of-3" })
        XCTAssertEqual(result.reported, reference.reports.count)
        let expected = try Self.files(under: whole), got = try Self.files(under: merged)
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (name, data) in expected { XCTAssertEqual(got[name], data, name) }
        XCTAssertNotNil(got["predictions.csv"])
        XCTAssertNotNil(got["html/index.html"])
    }

    // MARK: The merge refuses a missing shard, a shard given twice, and a non-empty output
    func testMergeRefusesIncompleteShards() throws {
        let f = try WorkflowsTests.fixture()
        let work = f.work.appendingPathComponent("predict-merge-\(UUID().uuidString)").path
        for i in [0, 2] {
            var options = PredictWorkflow.Options(runDirectory: f.run, inputs: [], output: work + "/parts")
            options.shard = Shard(index: i, count: 3)
            _ = try PredictWorkflow(options).run()
        }
        let s0 = work + "/parts/shard-0-of-3", s2 = work + "/parts/shard-2-of-3"
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m1", shardFolders: [s0, s2])) { error in
            XCTAssertTrue("\(error)".contains("shard(s) 1/3 missing"), "\(error)")
        }
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m2", shardFolders: [s0, s2, s2])) { error in
            XCTAssertTrue("\(error)".contains("are both shard 2/3"), "\(error)")
        }
        XCTAssertThrowsError(try PredictionMerge.run(output: work + "/m3", shardFolders: [s0, s2, work + "/parts"])) { error in
            XCTAssertTrue("\(error)".contains("no shard.json"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/m1"))
    }
}
