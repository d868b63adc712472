import Catalog
import DICOM
import Foundation
import XCTest
@testable import Manifest

/// Manifests resolved through a real catalog: the fixture export (scripts/fixtures/manifest/
/// make_catalog_fixtures.py) ingested with `Ingestor`, then rows naming images by each key kind.
final class CatalogResolutionTests: XCTestCase {
    static let export = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/export").standardizedFileURL
    static let root = "2.25.4242424242"
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func makeCatalog(verify: Bool = false) throws -> Catalog {
        let catalog = try Catalog(path: work.appendingPathComponent("catalog.sqlite").path)
        let run = try Ingestor(jobs: 2, verify: verify).run(folders: [Self.export.path], into: catalog)
        XCTAssertEqual(run.newInstances, 8)
        return catalog
    }

    func uid(_ parts: Int...) -> String { ([Self.root] + parts.map(String.init)).joined(separator: ".") }

    /// Writes `text` as a manifest in the export's parent folder, so `export/...` paths are relative.
    func manifest(_ text: String) throws -> Manifest {
        let path = Self.export.deletingLastPathComponent().appendingPathComponent("labels-\(UUID().uuidString).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Manifest.load(path: path, classes: benignMalignant)
    }

    // MARK: - Each key kind

    func testResolutionByEveryKeyKind() throws {
        let resolver = CatalogImageResolver(catalog: try makeCatalog())
        func sops(_ reference: ImageReference) throws -> [String] { try resolver.resolve(reference).map(\.sopInstanceUID).sorted() }
        XCTAssertEqual(try sops(.path(Self.export.appendingPathComponent("benign/a1.dcm").path)), [uid(3, 1)])
        XCTAssertEqual(try sops(.sopUID(uid(3, 6))), [uid(3, 6)])
        XCTAssertEqual(try sops(.seriesUID(uid(2, 5))), [uid(3, 6), uid(3, 7)])
        XCTAssertEqual(try sops(.studyUID(uid(1, 0))), [uid(3, 1), uid(3, 2), uid(3, 3), uid(3, 4)], "study A: two US images, an SR, a secondary capture")
        XCTAssertEqual(try sops(.accession("ACC-B")), [uid(3, 6), uid(3, 7)])
        XCTAssertEqual(try sops(.sopUID("1.2.3")), [])
        XCTAssertEqual(try sops(.path("/nonexistent/a.dcm")), [])
        let a2 = try resolver.resolve(.sopUID(uid(3, 2)))[0]
        XCTAssertEqual(a2.numberOfFrames, 3)
        XCTAssertTrue(a2.isImage && a2.isUltrasound)
        XCTAssertEqual(a2.patientID, "FIXM-A")
        let sr = try resolver.resolve(.sopUID(uid(3, 3)))[0]
        XCTAssertFalse(sr.isImage)
    }

    func testValidationAgainstTheCatalog() throws {
        let catalog = try makeCatalog()
        let m = try manifest("""
            path,sop_uid,series_uid,study_uid,accession,label,patient_id
            export/benign/d1.dcm,,,,,benign,FIXM-D
            ,,,,ACC-A,benign,FIXM-A
            ,\(uid(3, 6)),,,,malignant,FIXM-B
            ,,\(uid(2, 5)),,,malignant,FIXM-B
            ,,,\(uid(1, 2)),,malignant,FIXM-C
            ,\(uid(3, 3)),,,,benign,FIXM-A
            export/benign/missing.dcm,,,,,benign,FIXM-A
            """)
        let result = ManifestValidator.validate(m, resolver: CatalogImageResolver(catalog: catalog),
                                                pixelHasher: DecodedPixelHasher(catalog: catalog), options: ValidationOptions(minimumStudiesPerClass: 1))
        // Line 3 (accession ACC-A) -> a1, a2 (the SR and the secondary capture are skipped);
        // line 5 (series of B) overlaps line 4; line 6: study C's c1 has the pixels of a2's frame 1
        // (another patient); line 7 names the SR; line 8 a file that is not in the catalog.
        XCTAssertEqual(result.report.codesAndLines, ["overlapping_rows@5", "same_pixels_two_patients@6", "not_an_image@7", "unresolved_reference@8"])
        XCTAssertTrue(result.report.issues[1].message.contains("line 3"))
        XCTAssertEqual(result.resolved.images.map(\.instance.sopInstanceUID),
                       [uid(3, 5), uid(3, 1), uid(3, 2), uid(3, 6), uid(3, 7), uid(3, 8)])
        XCTAssertEqual(result.report.summary.frames, 1 + 1 + 3 + 1 + 1 + 1)
    }

    // MARK: - Pixel hashes: every frame, same digests as `ingest --verify`, cached in the catalog

    func testHashesAreTheCatalogsDigestsAndAreCached() throws {
        let verified = try makeCatalog(verify: true)
        let a2 = try CatalogImageResolver(catalog: verified).resolve(.sopUID(uid(3, 2)))[0]
        let fromIngest = try verified.frameHashes(sopUID: a2.sopInstanceUID)
        XCTAssertEqual(fromIngest.count, 3)

        try FileManager.default.removeItem(at: work.appendingPathComponent("catalog.sqlite"))
        let plain = try makeCatalog(verify: false)
        XCTAssertEqual(try plain.frameHashes(sopUID: a2.sopInstanceUID).count, 0)
        let hashes = try DecodedPixelHasher(catalog: plain).frameHashes(of: a2)
        XCTAssertEqual(hashes, (0..<3).map { fromIngest[$0]! }, "decoding here gives the digests ingest --verify records")
        XCTAssertEqual(try plain.frameHashes(sopUID: a2.sopInstanceUID), fromIngest, "computed hashes are written back to the catalog")

        // Independent of the catalog: SHA-256 of DicomFile's decoded RGB bytes of frame 1.
        let frame1 = try DicomFile(path: a2.path).decodeFrame(1).image.pixels
        XCTAssertEqual(hashes[1], DecodedPixelHasher.digest(frame1))
        XCTAssertEqual(DecodedPixelHasher.digest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "FIPS 180-2 test vector")
    }

    // MARK: - from-folders

    func testFromFoldersWritesAManifestThatValidates() throws {
        let manifestPath = work.appendingPathComponent("out/labels.csv").path
        let outcome = try FolderManifestBuilder.build(root: Self.export.path, manifestPath: manifestPath)
        XCTAssertEqual(outcome.rows.map(\.label), ["benign", "benign", "benign", "benign", "malignant", "malignant", "malignant"])
        XCTAssertEqual(outcome.filesPerFolder.map(\.label), ["benign", "malignant"])
        XCTAssertEqual(outcome.skipped.map(\.path), ["benign/a-sr.dcm"])
        XCTAssertEqual(outcome.patients, 4)
        XCTAssertEqual(outcome.rowsWithoutPatientID, 0)
        XCTAssertTrue(outcome.rows.allSatisfy { $0.path.hasPrefix("../") }, "paths are relative to the manifest's folder")
        try FolderManifestBuilder.write(outcome, to: manifestPath)

        // The written manifest reads back and resolves every row to the right file.
        let m = try Manifest.load(path: manifestPath, classes: benignMalignant)
        XCTAssertEqual(m.rows.map(\.line), Array(3...9))
        let catalog = try makeCatalog()
        let result = ManifestValidator.validate(m, resolver: CatalogImageResolver(catalog: catalog), pixelHasher: DecodedPixelHasher(catalog: catalog),
                                                options: ValidationOptions(minimumStudiesPerClass: 1))
        XCTAssertEqual(result.report.codesAndLines, ["not_ultrasound@3", "same_pixels_two_patients@9"])
        XCTAssertEqual(Set(result.resolved.images.map(\.patientID)), ["FIXM-A", "FIXM-B", "FIXM-C", "FIXM-D"])
    }

    func testFromFoldersRejectsAFile() {
        XCTAssertThrowsError(try FolderManifestBuilder.build(root: Self.export.appendingPathComponent("benign/a1.dcm").path, manifestPath: "x.csv"))
    }

    func testRelativePaths() {
        func rel(_ a: String, _ b: String) -> String { FolderManifestBuilder.relativePath(from: URL(fileURLWithPath: a), to: URL(fileURLWithPath: b)) }
        XCTAssertEqual(rel("/a/b", "/a/b/c/d.dcm"), "c/d.dcm")
        XCTAssertEqual(rel("/a/b", "/a/x/d.dcm"), "../x/d.dcm")
        XCTAssertEqual(rel("/a/b/", "/q/d.dcm"), "../../q/d.dcm")
    }
}
