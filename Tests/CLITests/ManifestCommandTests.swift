import Catalog
import Foundation
import Manifest
import SonoKitCore
import SonoKitTestSupport
import XCTest

/// `sonokit manifest validate|split|from-folders` end to end on SampleStudies/, with their JSON
/// checked against Schemas/ by an independent validator (python3-jsonschema) and their printed
/// output checked for patient identifiers read by dcmdump.
final class ManifestCommandTests: XCTestCase {
    var work: URL!
    static let samples = RepositoryPaths.sampleStudies
    static let labels = samples.appendingPathComponent("labels.csv").path
    static let declare = ["--classes", "benign,malignant", "--positive", "malignant"]

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-manifest-samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    var catalogPath: String { work.appendingPathComponent("catalog.sqlite").path }


    func assertNoIdentifiers(_ text: String, _ identifiers: Set<String>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for value in identifiers where text.contains(value) {
            XCTFail("\(what) prints the patient identifier '\(value)'", file: file, line: line)
        }
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

    /// Collapses runs of spaces, so table lines compare without their column padding.
    func squeezed(_ text: String) -> String {
        text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }.joined(separator: "\n")
    }

    func run(_ arguments: [String]) throws -> SonoKitCommand.Result { try SonoKitCommand.run(arguments, in: work) }

    func testValidateCommandJSONMatchesTheSchemaAndPrintsNoIdentifiers() throws {
        let identifiers = try SampleIdentifiers.values()
        XCTAssertGreaterThan(identifiers.count, 20, "the PHI probe must have something to look for")
        XCTAssertEqual(try run(["ingest", Self.samples.path, "--catalog", catalogPath, "--jobs", "2"]).status, 0)

        let text = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath] + Self.declare)
        XCTAssertEqual(text.status, 0, text.stdout + text.stderr)
        let e = try expected(try Catalog(path: catalogPath))
        XCTAssertTrue(text.stdout.contains("valid (0 error(s), 0 warning(s)); \(e.rows) rows -> \(e.images) images, \(e.frames) frames"), text.stdout)
        assertNoIdentifiers(text.stdout + text.stderr, identifiers, "manifest validate")

        let json = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--json"] + Self.declare)
        XCTAssertEqual(json.status, 0, json.stderr)
        try SchemaValidator.validate(Data(json.stdout.utf8), against: "manifest-validation.schema.json")

        // A broken copy: unknown label on line 3, missing patient on line 5; exit 1, schema-valid JSON.
        var lines = try String(contentsOfFile: Self.labels, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = lines[2].replacingOccurrences(of: ",malignant,", with: ",malign,")
        lines[4] = lines[4].replacingOccurrences(of: ",SKP0004,", with: ",,")
        let broken = work.appendingPathComponent("broken.csv").path
        try lines.joined(separator: "\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try run(["manifest", "validate", broken, "--catalog", catalogPath, "--json"] + Self.declare)
        XCTAssertEqual(bad.status, 1)
        try SchemaValidator.validate(Data(bad.stdout.utf8), against: "manifest-validation.schema.json")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(bad.stdout.utf8))
        XCTAssertEqual(report.errors.map { "\($0.code.rawValue)@\($0.line ?? 0)" }, ["unknown_label@3", "missing_patient_id@5"])
        // A file that cannot be read at all still gives a schema-valid report, naming the line.
        try Data([0x70, 0x61, 0x74, 0x68, 0x0A, 0xFF, 0x0A]).write(to: work.appendingPathComponent("latin1.csv"))
        let unreadable = try run(["manifest", "validate", "latin1.csv", "--catalog", catalogPath, "--json"] + Self.declare)
        XCTAssertEqual(unreadable.status, 1)
        try SchemaValidator.validate(Data(unreadable.stdout.utf8), against: "manifest-validation.schema.json")
        XCTAssertTrue(unreadable.stdout.contains("\"code\" : \"not_utf8\""), unreadable.stdout)
        XCTAssertTrue(unreadable.stdout.contains("\"line\" : 2"), unreadable.stdout)
        let badText = try run(["manifest", "validate", broken, "--catalog", catalogPath] + Self.declare)
        XCTAssertTrue(badText.stdout.contains("broken.csv:3: error [unknown_label] column label:"), badText.stdout)
        assertNoIdentifiers(badText.stdout + badText.stderr, identifiers, "manifest validate (errors)")
    }

    // MARK: The task on the command line: --task multiclass, and what an ambiguous declaration says
    func testTaskOptionsAndMulticlassReport() throws {
        XCTAssertEqual(try run(["ingest", Self.samples.path, "--catalog", catalogPath, "--jobs", "2"]).status, 0)
        let ambiguous = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--classes", "benign,malignant"])
        XCTAssertNotEqual(ambiguous.status, 0)
        XCTAssertTrue(ambiguous.stderr.contains("--positive NAME") && ambiguous.stderr.contains("--task multiclass"), ambiguous.stderr)
        let orphan = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--positive", "malignant"])
        XCTAssertNotEqual(orphan.status, 0)
        XCTAssertTrue(orphan.stderr.contains("give --classes too"), orphan.stderr)
        let contradictory = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath] + Self.declare + ["--task", "multiclass"])
        XCTAssertNotEqual(contradictory.status, 0)
        XCTAssertTrue(contradictory.stderr.contains("drop the positive class"), contradictory.stderr)

        let multi = ["--classes", "benign,malignant", "--task", "multiclass", "--no-pixel-check"]
        let split = try run(["manifest", "split", Self.labels, "--catalog", catalogPath, "--ratios", "0.6,0.2,0.2", "--seed", "7", "-o", "s.csv"] + multi)
        XCTAssertEqual(split.status, 0, split.stdout + split.stderr)
        XCTAssertTrue(squeezed(split.stdout).contains("class split images studies patients"), split.stdout)
        let json = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--splits", "s.csv", "--json"] + multi)
        XCTAssertEqual(json.status, 0, json.stdout + json.stderr)
        try SchemaValidator.validate(Data(json.stdout.utf8), against: "manifest-validation.schema.json")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(json.stdout.utf8))
        XCTAssertEqual(report.summary.task, .multiclass)
        XCTAssertNil(report.summary.positiveClass)
        XCTAssertEqual(report.summary.studiesPerClass.map(\.images).reduce(0, +), report.summary.images)
        let text = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--splits", "s.csv"] + multi)
        XCTAssertTrue(text.stdout.contains("multi-class task (2 classes)"), text.stdout)
        XCTAssertTrue(squeezed(text.stdout).contains("malignant test"), text.stdout)
    }

    func testSplitCommandIsDeterministicAndItsFileValidates() throws {
        let identifiers = try SampleIdentifiers.values()
        XCTAssertEqual(try run(["ingest", Self.samples.path, "--catalog", catalogPath, "--jobs", "2"]).status, 0)
        let e = try expected(try Catalog(path: catalogPath))
        func split(_ seed: Int, _ name: String) throws -> String {
            let result = try run(["manifest", "split", Self.labels, "--catalog", catalogPath, "--group", "patient_id", "--stratify", "label",
                                  "--folds", "5", "--seed", String(seed), "-o", name] + Self.declare)
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains("fold4"), result.stdout)
            XCTAssertTrue(squeezed(result.stdout).contains(e.totalLine), "expected '\(e.totalLine)' in\n" + result.stdout)
            assertNoIdentifiers(result.stdout + result.stderr, identifiers, "manifest split")
            return try String(contentsOf: work.appendingPathComponent(name), encoding: .utf8)
        }
        let a = try split(7, "a.csv"), b = try split(7, "b.csv"), c = try split(8, "c.csv")
        // The file names patients by the catalog's keys, never by their IDs, and says so.
        assertNoIdentifiers(a, identifiers, "the splits file")
        XCTAssertTrue(a.contains("# " + SplitsFile.patientKeysComment), a)
        let catalogKeys = Set(try Catalog(path: catalogPath).allInstances().map(\.patientKey))
        let rows = a.split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst()
        XCTAssertEqual(rows.count, e.patients)
        XCTAssertTrue(rows.allSatisfy { catalogKeys.contains(String($0.split(separator: ",")[0])) }, a)
        XCTAssertEqual(a, b, "same seed, same splits file")
        XCTAssertNotEqual(a.components(separatedBy: "\n").dropFirst(), c.components(separatedBy: "\n").dropFirst(), "another seed, other splits")
        let splits = try SplitsFile.read(path: work.appendingPathComponent("a.csv").path)
        XCTAssertEqual(splits.splitOfPatient.count, e.patients)
        XCTAssertEqual(splits.splitNames, ["fold0", "fold1", "fold2", "fold3", "fold4"])
        let check = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--splits", "a.csv"] + Self.declare)
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertTrue(squeezed(check.stdout).contains(e.totalLine), check.stdout)
        XCTAssertTrue(check.stdout.contains("fold4"), check.stdout)
        let checkJSON = try run(["manifest", "validate", Self.labels, "--catalog", catalogPath, "--splits", "a.csv", "--json"] + Self.declare)
        try SchemaValidator.validate(Data(checkJSON.stdout.utf8), against: "manifest-validation.schema.json")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(checkJSON.stdout.utf8))
        XCTAssertEqual(report.summary.splits.map(\.name), ["fold0", "fold1", "fold2", "fold3", "fold4"])
        XCTAssertEqual(report.summary.splits.map(\.patients).reduce(0, +), e.patients)
        assertNoIdentifiers(check.stdout + checkJSON.stdout, identifiers, "manifest validate --splits")

        let ratios = try run(["manifest", "split", Self.labels, "--catalog", catalogPath, "--ratios", "0.7,0.15,0.15", "--seed", "7", "-o", "r.csv"] + Self.declare)
        XCTAssertEqual(ratios.status, 0, ratios.stdout + ratios.stderr)
        XCTAssertEqual(try SplitsFile.read(path: work.appendingPathComponent("r.csv").path).splitNames, ["train", "validation", "test"])

        let both = try run(["manifest", "split", Self.labels, "--catalog", catalogPath, "--folds", "5", "--ratios", "0.5,0.5", "--seed", "1", "-o", "x.csv"] + Self.declare)
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("exactly one of --folds"), both.stderr)
    }

    func testFromFoldersCommand() throws {
        let export = RepositoryPaths.root.appendingPathComponent("Tests/ManifestTests/Fixtures/export").path
        let result = try run(["manifest", "from-folders", export, "-o", "labels.csv"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("Wrote labels.csv: 7 images of 4 patients."), result.stdout)
        XCTAssertTrue(result.stdout.contains("benign/a-sr.dcm: not an image object"), result.stdout)
        XCTAssertTrue(result.stdout.contains("--classes benign,malignant --positive"), result.stdout)
        XCTAssertFalse(result.stdout.contains("FIXM-"), "patient ids stay in the file")
        let written = try String(contentsOf: work.appendingPathComponent("labels.csv"), encoding: .utf8)
        XCTAssertTrue(written.contains("\npath,label,patient_id\n"), written)
        XCTAssertTrue(written.contains("benign/a1.dcm,benign,FIXM-A\n"), written)
        let comment = String(written.prefix { $0 != "\n" }.dropFirst())
        XCTAssertNil(try ClassDeclaration.fromComment(comment), "the written comment must not declare classes")

        // Three class folders are three classes: the next step shown is a multi-class declaration.
        let three = work.appendingPathComponent("three")
        try FileManager.default.copyItem(atPath: export, toPath: three.path)
        try FileManager.default.createDirectory(at: three.appendingPathComponent("cyst"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: three.appendingPathComponent("benign/a1.dcm"), to: three.appendingPathComponent("cyst/a1.dcm"))
        let multi = try run(["manifest", "from-folders", three.path, "-o", "three.csv"])
        XCTAssertEqual(multi.status, 0, multi.stderr)
        XCTAssertTrue(multi.stdout.contains("The 3 folders are 3 classes"), multi.stdout)
        XCTAssertTrue(multi.stdout.contains("--classes benign,cyst,malignant\n"), multi.stdout)
        XCTAssertTrue(multi.stdout.contains("'# classes: benign,cyst,malignant; task: multiclass'"), multi.stdout)
    }
}
