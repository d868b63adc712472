import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit inspect` end to end: the JSON against Schemas/inspect.schema.json, identifiers only
/// on request, the PNG as the reader decodes it.
final class InspectCommandTests: XCTestCase {
    let fixtures = RepositoryPaths.root.appendingPathComponent("Tests/DICOMTests/Fixtures/reader")

    func testJSONConformsToTheSchemaForEveryFixture() throws {
        for name in ["rgb-jpeg-baseline.dcm", "mono16-voilut.dcm", "cine-rle.dcm", "palette.dcm", "mono1.dcm"] {
            let result = try SonoKitCommand.run(["inspect", fixtures.appendingPathComponent(name).path, "--json", "--include-identifiers"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertNoThrow(try SchemaValidator.validate(Data(result.stdout.utf8), against: "inspect.schema.json"), name)
        }
    }

    func testTheSchemaRejectsWhatItShould() throws {
        // Guards the guard: a document with an unknown key or a wrong type must fail.
        let result = try SonoKitCommand.run(["inspect", fixtures.appendingPathComponent("rgb.dcm").path, "--json"])
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        object["rows"] = "48"
        XCTAssertThrowsError(try SchemaValidator.validate(try JSONSerialization.data(withJSONObject: object), against: "inspect.schema.json"))
        object["rows"] = 48
        object["patient_name"] = "X"
        XCTAssertThrowsError(try SchemaValidator.validate(try JSONSerialization.data(withJSONObject: object), against: "inspect.schema.json"))
    }

    func testJSONReportsDecodingDecisions() throws {
        let result = try SonoKitCommand.run(["inspect", fixtures.appendingPathComponent("rgb-jpeg-baseline.dcm").path, "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let photometric = try XCTUnwrap(object["photometric_interpretation"] as? [String: Any])
        XCTAssertEqual(photometric["stored"] as? String, "YBR_FULL_422")
        XCTAssertEqual(photometric["decoded"] as? String, "RGB")
        XCTAssertEqual(photometric["color_conversion"] as? String, "codec")
        XCTAssertEqual(object["transfer_syntax_uid"] as? String, "1.2.840.10008.1.2.4.50")
        XCTAssertEqual((object["transfer_syntax"] as? [String: Any])?["name"] as? String, "JPEG Baseline")
    }

    // MARK: PHI: identifiers only with --include-identifiers
    func testNoIdentifiersUnlessAskedFor() throws {
        let path = fixtures.appendingPathComponent("mono1.dcm").path
        for arguments in [["inspect", path], ["inspect", path, "--json"]] {
            let result = try SonoKitCommand.run(arguments)
            XCTAssertEqual(result.status, 0)
            for secret in ["FIXTURE", "READER", "FIX-READER-01"] {
                XCTAssertFalse(result.stdout.contains(secret) || result.stderr.contains(secret), "\(arguments): \(secret)")
            }
        }
        let asked = try SonoKitCommand.run(["inspect", path, "--include-identifiers"])
        XCTAssertTrue(asked.stdout.contains("FIX-READER-01"))
    }

    func testPNGIsTheDecodedFrame() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try SonoKitCommand.run(["inspect", fixtures.appendingPathComponent("cine-rle.dcm").path,
                                             "--frame", "2", "--png", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let written = try Data(contentsOf: out)
        let reference = try Data(contentsOf: fixtures.appendingPathComponent("cine-rle.frame2.png"))
        XCTAssertGreaterThan(written.count, 100)
        // Same pixels as dcmj2pnm's frame 2 (compared through PNG decoding in DICOMTests); here: a
        // valid PNG whose header says 64 x 48.
        XCTAssertEqual(Array(written.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(written[16..<24]), Array(reference[16..<24]))
    }

    // MARK: Bad input: a clear error naming the file, non-zero exit
    func testANonDICOMFileGivesAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notes-\(UUID().uuidString).dcm")
        try Data("hello".utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let result = try SonoKitCommand.run(["inspect", path.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains(path.path))
        XCTAssertTrue(result.stderr.contains("not a DICOM file"))
    }

    func testAFramePastTheEndIsRefused() throws {
        let result = try SonoKitCommand.run(["inspect", fixtures.appendingPathComponent("cine-rle.dcm").path, "--frame", "9", "--png", "/tmp/never.png"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("frame 9 requested but the file has 4 frame(s)"), result.stderr)
    }
}
