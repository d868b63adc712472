import Catalog
import DICOM
import Foundation
import XCTest

/// Ingest over small exports built from the reader fixtures (DICOMTests/Fixtures/reader), with
/// damaged copies made on the fly.
final class CatalogIngestTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    static let readerFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DICOMTests/Fixtures/reader").standardizedFileURL

    /// An export of distinct instances (one file per SOP instance), in nested folders, with
    /// names that are not *.dcm, plus the damaged files of `damaged`.
    func makeExport(damaged: Bool = false) throws -> URL {
        let export = work.appendingPathComponent("export")
        let names = ["rgb.dcm", "ybr-full.dcm", "palette.dcm", "mono8-window.dcm", "mono16-rescale-window.dcm",
                     "mono16-minmax.dcm", "mono16-voilut.dcm", "mono1.dcm", "cine-rle.dcm"]
        for (i, name) in names.enumerated() {
            let folder = export.appendingPathComponent("P\(i % 3)/ST\(i % 2)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.readerFixtures.appendingPathComponent(name),
                                             to: folder.appendingPathComponent("IM\(i)"))
        }
        try Data("not an image\n".utf8).write(to: export.appendingPathComponent("README.txt"))
        if damaged {
            let bad = export.appendingPathComponent("bad")
            try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
            try Data("this is a text file named like DICOM\n".utf8).write(to: bad.appendingPathComponent("text.dcm"))
            let whole = try Data(contentsOf: Self.readerFixtures.appendingPathComponent("rgb-jpeg-baseline.dcm"))
            try whole.prefix(300).write(to: bad.appendingPathComponent("truncated-header.dcm"))
            let native = try Data(contentsOf: Self.readerFixtures.appendingPathComponent("mono8-window.dcm"))
            try native.prefix(native.count - 1000).write(to: bad.appendingPathComponent("truncated-pixels.dcm"))
            // The damaged files of DICOMTests/Fixtures/bad (one broken thing each).
            let fixtures = Self.readerFixtures.deletingLastPathComponent().appendingPathComponent("bad")
            for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) where name.hasSuffix(".dcm") {
                try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: bad.appendingPathComponent("fixture-" + name))
            }
        }
        return export
    }

    func ingest(_ export: URL, catalog name: String = "catalog.sqlite", _ ingestor: Ingestor = Ingestor(jobs: 2))
        throws -> (Catalog, IngestRun) {
        let catalog = try Catalog(path: work.appendingPathComponent(name).path)
        return (catalog, try ingestor.run(folders: [export.path], into: catalog))
    }

    /// What a catalog holds, without the per-catalog pseudonymous keys.
    func content(_ catalog: Catalog) throws -> [String] {
        try catalog.allInstances().map { "\($0.sopInstanceUID) \($0.path) \($0.numberOfFrames) \($0.isUltrasound)" }.sorted()
            + catalog.problems().map { "\($0.kind) \($0.path)" }.sorted()
    }

    // MARK: The catalog holds identifiers: it and its -wal/-shm files are owner-only (0600)
    // Checked with the common umask 022, under which SQLite alone creates 0644 files.
    func testTheCatalogAndItsWALFilesAreOwnerOnly() throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        func mode(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777 }
        let (catalog, _) = try ingest(try makeExport())
        XCTAssertFalse(try catalog.allInstances().isEmpty)
        let path = work.appendingPathComponent("catalog.sqlite").path
        for file in [path, path + "-wal", path + "-shm"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
            XCTAssertEqual(try mode(file), 0o600, file)
        }
        // A catalog left 0644 by an older SonoKit is tightened when it is opened.
        let old = work.appendingPathComponent("old.sqlite").path
        _ = try Catalog(path: old)
        XCTAssertEqual(chmod(old, 0o644), 0)
        _ = try Catalog(path: old)
        XCTAssertEqual(try mode(old), 0o600)
    }

    // MARK: Indexing by content
    func testIndexesEveryInstanceByContentAndCountsTheRest() throws {
        let (catalog, run) = try ingest(try makeExport())
        XCTAssertEqual(run.filesSeen, 10)
        XCTAssertEqual(run.newInstances, 9)
        XCTAssertEqual(run.nonDICOM, 1)
        let s = try catalog.summary()
        XCTAssertEqual(s.dicomInstances, 9)
        XCTAssertEqual(s.ultrasoundInstances, 9)  // all are US modality, one is Ultrasound Multi-frame
        XCTAssertEqual(s.frames, 8 + 4)
        XCTAssertEqual(s.studies, 1)
        XCTAssertEqual(s.patients, 1)
    }

    // MARK: Idempotent: a second run adds nothing
    func testASecondRunSkipsUnchangedFiles() throws {
        let export = try makeExport()
        let (catalog, _) = try ingest(export)
        let before = try content(catalog)
        let second = try Ingestor(jobs: 2).run(folders: [export.path], into: catalog)
        XCTAssertEqual(second.unchanged, second.filesSeen)
        XCTAssertEqual(second.newInstances, 0)
        XCTAssertEqual(try content(catalog), before)
    }

    func testAChangedFileIsReindexed() throws {
        let export = try makeExport()
        let (catalog, _) = try ingest(export)
        let target = export.appendingPathComponent("P0/ST0/IM0")
        try FileManager.default.removeItem(at: target)
        try Data("now garbage".utf8).write(to: target)
        let run = try Ingestor(jobs: 1).run(folders: [export.path], into: catalog)
        XCTAssertEqual(run.filesSeen - run.unchanged, 1)
        XCTAssertEqual(try catalog.summary().dicomInstances, 8)
    }

    // MARK: Resumable: interrupted after some batches, then completed == one uninterrupted run
    func testAnInterruptedRunCompletesToTheSameCatalog() throws {
        let export = try makeExport(damaged: true)
        let (whole, _) = try ingest(export, catalog: "whole.sqlite")
        let (partial, first) = try ingest(export, catalog: "partial.sqlite", Ingestor(jobs: 2, batchSize: 2, limit: 5))
        XCTAssertEqual(first.filesSeen - first.unchanged, 22)
        XCTAssertLessThan(try partial.summary().dicomInstances, try whole.summary().dicomInstances)
        let second = try Ingestor(jobs: 2, batchSize: 2).run(folders: [export.path], into: partial)
        XCTAssertEqual(second.unchanged, 5)
        XCTAssertEqual(try content(partial), try content(whole))
        XCTAssertEqual(try partial.summary(), try whole.summary())
    }

    // MARK: Bad input: listed with its typed reason, never stops the run
    func testDamagedFilesAreListedAndTheGoodOnesIndexed() throws {
        let (catalog, run) = try ingest(try makeExport(damaged: true))
        XCTAssertEqual(run.newInstances, 9)
        let problems = Dictionary(uniqueKeysWithValues: try catalog.problems().map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.kind) })
        XCTAssertEqual(problems["truncated-header.dcm"], "truncated")
        XCTAssertEqual(problems["truncated-pixels.dcm"], "truncated")
        XCTAssertNil(problems["text.dcm"], "a text file is not a problem, it is not DICOM")
        XCTAssertEqual(problems["fixture-truncated.dcm"], "truncated")
        XCTAssertEqual(problems["fixture-truncated-header.dcm"], "truncated")
        XCTAssertEqual(problems["fixture-truncated-jpeg.dcm"], "truncated")
        XCTAssertEqual(problems["fixture-no-pixel-data.dcm"], "no_pixel_data")
        XCTAssertEqual(problems["fixture-jpeg2000.dcm"], "unsupported_transfer_syntax")
        XCTAssertEqual(problems["fixture-short-pixel-data.dcm"], "pixel_data_too_short")
        XCTAssertEqual(problems["fixture-zero-rows.dcm"], "zero_dimension")
        XCTAssertEqual(problems["fixture-zero-frames.dcm"], "zero_dimension")
        XCTAssertEqual(run.nonDICOM, 3)
    }

    func testVerifyRecordsAHashPerDecodedFrame() throws {
        let (catalog, _) = try ingest(try makeExport(), Ingestor(jobs: 2, verify: true))
        let cine = try XCTUnwrap(catalog.allInstances().first { $0.numberOfFrames == 4 })
        let hashes = try catalog.frameHashes(sopUID: cine.sopInstanceUID)
        XCTAssertEqual(hashes.count, 4)
        XCTAssertEqual(Set(hashes.values).count, 4, "the cine frames differ, so do their hashes")
    }

    // MARK: Shards: N shards see every file once; merged == ingested whole
    func testShardsPartitionTheExportAndMergeToTheWhole() throws {
        let export = try makeExport(damaged: true)
        let (whole, _) = try ingest(export, catalog: "whole.sqlite")
        let merged = try Catalog(path: work.appendingPathComponent("merged.sqlite").path)
        var seen = 0
        for i in 0..<3 {
            let (shard, run) = try ingest(export, catalog: "shard\(i).sqlite", Ingestor(jobs: 1, shard: Shard(index: i, count: 3)))
            seen += run.filesSeen
            try merged.merge(from: shard)
        }
        XCTAssertEqual(seen, 22)
        XCTAssertEqual(try content(merged), try content(whole))
        XCTAssertEqual(try merged.summary(), try whole.summary())
        // Keys are recomputed with the merged catalog's own secret.
        for instance in try merged.allInstances() {
            XCTAssertEqual(instance.studyKey, merged.pseudonymizer.studyKey(instance.studyInstanceUID))
        }
    }

    // MARK: Shards spread the files: each of N shards gets about 1/N, by FNV-1a 64 of the path
    // A partition alone (the test above) also holds if shard 0 took everything; this one fails
    // then, and pins the hash to FNV-1a 64's published test vectors ("a", "foobar").
    func testShardsSpreadTheFilesEvenly() throws {
        XCTAssertTrue(Shard(index: Int(0xaf63dc4c8601ec8c as UInt64 % 7), count: 7).owns(relativePath: "a"))
        XCTAssertTrue(Shard(index: Int(0x85944171f73967e8 as UInt64 % 5), count: 5).owns(relativePath: "foobar"))
        let samples = Self.readerFixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SampleStudies")
        let all = Set(try ExportWalker.files(under: [samples.path]).map(\.relativePath))
        XCTAssertGreaterThan(all.count, 50)
        var union = Set<String>()
        for i in 0..<4 {
            let part = Set(try ExportWalker.files(under: [samples.path], shard: Shard(index: i, count: 4)).map(\.relativePath))
            XCTAssertTrue(union.isDisjoint(with: part), "shard \(i) repeats files")
            union.formUnion(part)
            // Binomial(n, 1/4): mean n/4, sd about sqrt(n)/2.3; half the mean is more than 3 sd away.
            XCTAssertGreaterThanOrEqual(part.count, all.count / 8, "shard \(i)/4 has \(part.count) of \(all.count) files")
            XCTAssertLessThanOrEqual(part.count, all.count * 3 / 8, "shard \(i)/4 has \(part.count) of \(all.count) files")
        }
        XCTAssertEqual(union, all)
    }

    func testShardParsing() {
        XCTAssertEqual(Shard(parsing: "2/4"), Shard(index: 2, count: 4))
        XCTAssertNil(Shard(parsing: "4/4"))
        XCTAssertNil(Shard(parsing: "-1/4"))
        XCTAssertNil(Shard(parsing: "1"))
    }

    // MARK: Pseudonyms
    func testKeysAreStablePerCatalogAndRevealNothing() throws {
        let a = Pseudonymizer(secret: Data(repeating: 1, count: 32))
        let b = Pseudonymizer(secret: Data(repeating: 2, count: 32))
        XCTAssertEqual(a.patientKey("FIX-READER-01"), a.patientKey("FIX-READER-01"))
        XCTAssertNotEqual(a.patientKey("FIX-READER-01"), b.patientKey("FIX-READER-01"))
        XCTAssertNotEqual(a.patientKey("X"), a.studyKey("X"), "patient and study keys live in separate domains")
        XCTAssertEqual(a.patientKey("FIX-READER-01").count, 18)
        XCTAssertFalse(a.patientKey("FIX-READER-01").contains("READER"))
    }

    func testTheCatalogKeepsRawIdentifiersInsideOnly() throws {
        let (catalog, _) = try ingest(try makeExport())
        let instance = try XCTUnwrap(catalog.allInstances().first)
        XCTAssertEqual(try catalog.identifiers(patientKey: instance.patientKey)?.patientID, "FIX-READER-01")
        let json = String(decoding: try JSONEncoder().encode(try catalog.summary()), as: UTF8.self)
        XCTAssertFalse(json.contains("FIX-READER"))
    }
}
