@testable import Catalog
import Foundation
import GRDB
import SonoKitTestSupport
import XCTest

/// Shards merged in any order give the rows of one ingest: not only the same instances but the
/// same study and series rows and the same stored metadata text.
final class CatalogShardOrderTests: XCTestCase {
    /// Every row of every table, as text, sorted; the secret row left out (each catalog has its own).
    static func rows(_ catalog: Catalog) throws -> [String] {
        try catalog.database.read { db in
            var out: [String] = []
            for table in ["files", "patients", "studies", "series", "instances", "frames", "problems"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table)") {
                    let values = row.columnNames.map { name -> String in
                        name.hasSuffix("_key") ? "<key>" : (row[name] as DatabaseValue).description
                    }
                    out.append(table + ": " + values.joined(separator: " | "))
                }
            }
            return out.sorted()
        }
    }

    // MARK: SampleStudies in 4 shards, merged forwards and backwards, equals one ingest row for row
    // Guards: "first seen wins" for series and studies (SampleStudies has series whose instances
    // disagree on Series Description, so the merge order would show), and metadata JSON written
    // with unordered keys (its text would differ between processes and runs).
    func testMergeOrderDoesNotChangeAnyRow() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-shard-order-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let export = RepositoryPaths.sampleStudies.path
        let whole = try Catalog(path: work.appendingPathComponent("whole.sqlite").path)
        _ = try Ingestor(jobs: 2).run(folders: [export], into: whole)
        var shards: [Catalog] = []
        for i in 0..<4 {
            let shard = try Catalog(path: work.appendingPathComponent("shard\(i).sqlite").path)
            _ = try Ingestor(jobs: 1, shard: Shard(index: i, count: 4)).run(folders: [export], into: shard)
            shards.append(shard)
        }
        let forwards = try Catalog(path: work.appendingPathComponent("forwards.sqlite").path)
        for shard in shards { try forwards.merge(from: shard) }
        let backwards = try Catalog(path: work.appendingPathComponent("backwards.sqlite").path)
        for shard in shards.reversed() { try backwards.merge(from: shard) }
        let expected = try Self.rows(whole)
        XCTAssertGreaterThan(expected.filter { $0.hasPrefix("series: ") }.count, 20)
        XCTAssertEqual(try Self.rows(forwards), expected)
        XCTAssertEqual(try Self.rows(backwards), expected)
    }
}
