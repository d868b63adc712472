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

    // MARK: A merge records an instance another shard indexed from another file as a duplicate,
    // copies the frame hashes of `ingest --verify`, and merging a shard again changes nothing
    // Guards (the merge streams the shard and marks duplicates' file records from what it kept):
    // a duplicate whose file record keeps status "instance", hashes left behind, a second merge
    // that adds or changes rows.
    func testMergeRecordsDuplicatesCopiesHashesAndIsIdempotent() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-merge-dup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let file = RepositoryPaths.sampleStudies.appendingPathComponent("site-b/anon-12ea09/study-1/IMG0001.dcm")
        var shards: [Catalog] = []
        for name in ["a", "b"] {
            let export = work.appendingPathComponent("export-\(name)")
            try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: file, to: export.appendingPathComponent("copy-\(name).dcm"))
            let shard = try Catalog(path: work.appendingPathComponent("shard-\(name).sqlite").path)
            _ = try Ingestor(jobs: 1, verify: true).run(folders: [export.path], into: shard)
            shards.append(shard)
        }
        let instance = try XCTUnwrap(try shards[0].allInstances().first)
        let hashes = try shards[0].frameHashes(sopUID: instance.sopInstanceUID)
        XCTAssertFalse(hashes.isEmpty)

        let merged = try Catalog(path: work.appendingPathComponent("merged.sqlite").path)
        XCTAssertEqual(try merged.merge(from: shards[0]), Catalog.MergeOutcome(instances: 1, duplicates: 0, files: 1, problems: 0))
        XCTAssertEqual(try merged.merge(from: shards[1]), Catalog.MergeOutcome(instances: 0, duplicates: 1, files: 1, problems: 0))
        XCTAssertEqual(try merged.frameHashes(sopUID: instance.sopInstanceUID), hashes)
        XCTAssertEqual(try merged.allInstances().map(\.path), [instance.path])
        let duplicatePath = try XCTUnwrap(try shards[1].allInstances().first?.path)
        XCTAssertEqual(try merged.problems().map { "\($0.kind) \($0.path)" }, ["duplicate_sop_instance \(duplicatePath)"])
        XCTAssertEqual(try merged.summary().duplicateFiles, 1)

        let before = try Self.rows(merged)
        XCTAssertEqual(try merged.merge(from: shards[0]), Catalog.MergeOutcome(instances: 0, duplicates: 0, files: 1, problems: 0))
        XCTAssertEqual(try merged.merge(from: shards[1]), Catalog.MergeOutcome(instances: 0, duplicates: 1, files: 1, problems: 0))
        XCTAssertEqual(try Self.rows(merged), before)
    }
}
