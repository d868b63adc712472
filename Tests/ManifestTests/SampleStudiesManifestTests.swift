import Catalog
import Foundation
import SonoKitTestSupport
import XCTest
@testable import Manifest

/// Manifests on SampleStudies/ (the synthetic export and its labels.csv): resolution by every key
/// kind through an ingested catalog, validation and splits, and the manifest schema. The commands
/// (`sonokit manifest validate|split|from-folders`) end to end: CLITests/ManifestCommandTests.
final class SampleStudiesManifestTests: XCTestCase {
    var work: URL!
    static let samples = RepositoryPaths.sampleStudies
    static let labels = samples.appendingPathComponent("labels.csv").path

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-manifest-samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    var catalogPath: String { work.appendingPathComponent("catalog.sqlite").path }

    func ingestedCatalog() throws -> Catalog {
        let catalog = try Catalog(path: catalogPath)
        _ = try Ingestor(jobs: 2).run(folders: [Self.samples.path], into: catalog)
        return catalog
    }


    /// What labels.csv should resolve to, counted without the validator: its rows split on commas
    /// (the file has no quotes) and the catalog's ultrasound images of the studies it lists.
    struct Expected {
        var rows = 0, patients = 0, studies = 0, images = 0, frames = 0
        var studiesPerClass: [Int] = []
        /// The `total` line of `manifest split`'s table.
        var totalLine: String { "total \(patients) \(studies) \(frames) \(studiesPerClass.map(String.init).joined(separator: " "))" }
    }

    func expected(_ catalog: Catalog) throws -> Expected {
        let lines = try String(contentsOfFile: Self.labels, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
        let cells = lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        var e = Expected()
        e.rows = cells.count
        e.patients = Set(cells.map { $0[2] }).count
        e.studies = Set(cells.map { $0[0] }).count
        e.studiesPerClass = ["benign", "malignant"].map { label in cells.filter { $0[1] == label }.count }
        for study in Set(cells.map { $0[0] }) {
            let images = try catalog.instances(forStudy: study).filter { $0.isImage && $0.isUltrasound }
            e.images += images.count
            e.frames += images.map(\.numberOfFrames).reduce(0, +)
        }
        return e
    }

    // MARK: - Resolution by every key kind through the catalog of SampleStudies

    func testEveryKeyKindResolvesAgainstSampleStudies() throws {
        let catalog = try ingestedCatalog()
        let all = try catalog.allInstances()
        let image = try XCTUnwrap(all.first { $0.isImage && $0.isUltrasound && $0.accessionNumber != nil })
        let studyAll = all.filter { $0.studyInstanceUID == image.studyInstanceUID }
        let studyImages = studyAll.filter { $0.isImage && $0.isUltrasound }.map(\.sopInstanceUID)
        let seriesImages = all.filter { $0.seriesInstanceUID == image.seriesInstanceUID && $0.isImage && $0.isUltrasound }.map(\.sopInstanceUID)
        let relative = String(image.path.dropFirst(Self.samples.standardizedFileURL.path.count + 1))
        let manifest = try ManifestParser.parse(data: Data("""
            path,sop_uid,series_uid,study_uid,accession,label,patient_id
            \(relative),,,,,benign,\(image.patientID ?? "")
            ,\(image.sopInstanceUID),,,,benign,\(image.patientID ?? "")
            ,,\(image.seriesInstanceUID),,,benign,\(image.patientID ?? "")
            ,,,\(image.studyInstanceUID),,benign,\(image.patientID ?? "")
            ,,,,\(image.accessionNumber!),benign,\(image.patientID ?? "")
            """.utf8), file: "keys.csv", directory: Self.samples.standardizedFileURL.path, classes: benignMalignant)
        let resolver = CatalogImageResolver(catalog: catalog)
        let resolved = try manifest.rows.map { try resolver.resolve($0.reference!).map(\.sopInstanceUID) }
        XCTAssertEqual(resolved[0], [image.sopInstanceUID], "path")
        XCTAssertEqual(resolved[1], [image.sopInstanceUID], "sop_uid")
        XCTAssertEqual(Set(resolved[2]), Set(seriesImages), "series_uid")
        XCTAssertEqual(Set(resolved[3]), Set(studyAll.map(\.sopInstanceUID)), "study_uid resolves to every object of the study")
        XCTAssertEqual(Set(resolved[4]), Set(studyAll.map(\.sopInstanceUID)), "accession")
        // Validation keeps one copy of each image and, for study-level keys, only ultrasound images.
        let result = ManifestValidator.validate(manifest, resolver: resolver, pixelHasher: nil, options: ValidationOptions(minimumStudiesPerClass: 1))
        XCTAssertEqual(Set(result.resolved.images.map(\.instance.sopInstanceUID)), Set(studyImages + [image.sopInstanceUID]))
        XCTAssertEqual(result.report.errors.map(\.code), [.emptyClass], "only the malignant class is missing in this one-study manifest")
    }

    /// The batched lookups (Catalog+Manifest.swift) must answer exactly what the single lookups answer.
    func testBatchedLookupsEqualSingleLookups() throws {
        let catalog = try ingestedCatalog()
        let all = try catalog.allInstances()
        let sops = all.map(\.sopInstanceUID) + ["1.2.3.not-there"]
        let bySOP = try catalog.instances(matching: .sopUID, in: sops)
        XCTAssertEqual(bySOP.count, all.count)
        for sop in sops { XCTAssertEqual(bySOP[sop] ?? [], try catalog.instance(sopUID: sop).map { [$0] } ?? []) }
        let studies = Array(Set(all.map(\.studyInstanceUID)))
        let byStudy = try catalog.instances(matching: .studyUID, in: studies)
        for study in studies { XCTAssertEqual(byStudy[study], try catalog.instances(forStudy: study)) }
        let series = Array(Set(all.map(\.seriesInstanceUID)))
        let bySeries = try catalog.instances(matching: .seriesUID, in: series)
        for s in series { XCTAssertEqual(bySeries[s], try catalog.instances(forSeries: s)) }
        let accessions = Array(Set(all.compactMap(\.accessionNumber)))
        XCTAssertFalse(accessions.isEmpty)
        let byAccession = try catalog.instances(matching: .accession, in: accessions)
        for a in accessions { XCTAssertEqual(byAccession[a], try catalog.instances(accession: a)) }
        let byPath = try catalog.instances(matching: .path, in: all.map(\.path))
        for i in all { XCTAssertEqual(byPath[i.path], [i]) }

        // And the resolver, prefetched or not, resolves a manifest the same way.
        let manifest = try Manifest.load(path: Self.labels, classes: benignMalignant)
        let cold = ManifestValidator.validate(manifest, resolver: SingleLookups(inner: CatalogImageResolver(catalog: catalog)), pixelHasher: nil)
        let batched = ManifestValidator.validate(manifest, resolver: CatalogImageResolver(catalog: catalog), pixelHasher: nil)
        XCTAssertEqual(cold.resolved.images, batched.resolved.images)
        XCTAssertEqual(batched.resolved.images.count, try expected(catalog).images)
    }

    /// Hides `prefetch`, so every row is a single lookup.
    struct SingleLookups: ImageResolving {
        let inner: CatalogImageResolver
        func resolve(_ reference: ImageReference) throws -> [ManifestInstance] { try inner.resolve(reference) }
    }

    func testSampleLabelsValidateAndSplit() throws {
        let catalog = try ingestedCatalog()
        let manifest = try Manifest.load(path: Self.labels, classes: benignMalignant)
        let result = ManifestValidator.validate(manifest, resolver: CatalogImageResolver(catalog: catalog),
                                                pixelHasher: DecodedPixelHasher(catalog: catalog))
        XCTAssertEqual(result.report.issues, [])
        let e = try expected(catalog)
        XCTAssertEqual(result.report.summary.rows, e.rows)
        XCTAssertEqual(result.report.summary.images, e.images)
        XCTAssertEqual(result.report.summary.frames, e.frames)
        XCTAssertEqual(result.report.summary.studies, e.studies)
        XCTAssertEqual(result.report.summary.patients, e.patients)
        XCTAssertEqual(result.report.summary.studiesPerClass.map(\.studies), e.studiesPerClass)
        let non = try catalog.allInstances().filter { !$0.isImage }.map(\.sopInstanceUID)
        XCTAssertFalse(non.isEmpty, "SampleStudies holds non-image objects (SR, KO)")
        XCTAssertTrue(result.resolved.images.allSatisfy { !non.contains($0.instance.sopInstanceUID) }, "study rows skip SR and KO objects")

        for plan in [SplitPlan.folds(5), .ratios([0.7, 0.15, 0.15])] {
            let assignment = try ManifestSplitter.split(result.resolved, plan: plan, seed: 7)
            let check = ManifestValidator.validate(manifest, resolver: CatalogImageResolver(catalog: catalog), pixelHasher: nil, splits: assignment)
            XCTAssertEqual(check.report.issues, [], "\(plan): every split has both classes, no patient crosses")
        }
    }

    // MARK: - The manifest schema describes what the parser reads

    func testManifestRowsAsJSONMatchTheSchema() throws {
        let manifest = try Manifest.load(path: Self.labels, classes: benignMalignant)
        for row in manifest.rows.prefix(3) {
            let object = Dictionary(uniqueKeysWithValues: row.values.map { ($0.key.rawValue, $0.value) })
            try SchemaValidator.validate(try JSONSerialization.data(withJSONObject: object), against: "manifest.schema.json")
        }
        XCTAssertThrowsError(try SchemaValidator.validate(Data(#"{"path": "a.dcm", "label": "benign"}"#.utf8), against: "manifest.schema.json"),
                             "patient_id is required")
        XCTAssertThrowsError(try SchemaValidator.validate(Data(#"{"label": "benign", "patient_id": "P"}"#.utf8), against: "manifest.schema.json"),
                             "a reference column is required")
        XCTAssertThrowsError(try SchemaValidator.validate(Data(#"{"sop_uid": "1.2", "label": "benign", "patient_id": "P", "weight": "heavy"}"#.utf8), against: "manifest.schema.json"))
    }

    func testReportSchemaListsEveryIssueCode() throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: SchemaValidator.schemasFolder.appendingPathComponent("manifest-validation.schema.json"))) as! [String: Any]
        let items = ((schema["properties"] as! [String: Any])["issues"] as! [String: Any])["items"] as! [String: Any]
        let codes = ((items["properties"] as! [String: Any])["code"] as! [String: Any])["enum"] as! [String]
        XCTAssertEqual(Set(codes), Set(ValidationIssue.Code.allCases.map(\.rawValue)))
    }
}
