import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit echo` and `sonokit send` end to end against DCMTK's `storescp`: exit codes, the
/// summary line, folder scanning (DICOMDIR and non-DICOM files skipped), usage errors.
final class NetworkCommandTests: XCTestCase {
    func testEchoSucceedsAgainstStorescpAndFailsWithTheReasonOtherwise() throws {
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF"])
        defer { scp.stop() }
        let ok = try SonoKitCommand.run(["echo", "REF@127.0.0.1:\(scp.port)", "--timeout", "10"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("REF@127.0.0.1:\(scp.port): C-ECHO Success"), ok.stdout)

        let closed = try ReferencePeer.freePort()
        let down = try SonoKitCommand.run(["echo", "REF@127.0.0.1:\(closed)", "--timeout", "5"])
        XCTAssertNotEqual(down.status, 0)
        XCTAssertTrue(down.stderr.contains("REF@127.0.0.1:\(closed)"), down.stderr)
    }

    func testSendPushesEveryDICOMFileOfAFolderAndSkipsTheRest() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-send-\(UUID().uuidString)")
        let received = folder.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "-od", received.path] + StorescpConfiguration.arguments(writingInto: folder))
        defer { scp.stop() }
        let result = try SonoKitCommand.run(["send", RepositoryPaths.sampleStudies.path, "--to", "REF@127.0.0.1:\(scp.port)", "--ae-title", "TESTSCU"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        // SampleStudies: 59 images, a DICOMDIR, labels.csv and labels-multiclass.csv.
        XCTAssertTrue(result.stdout.contains("59 of 59 files stored (0 with a warning status), 0 not stored, 3 skipped"), result.stdout)
        scp.stop()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: received.path).count, 59)
    }

    func testSendExitsNonZeroListingTheFilesNotStored() throws {
        let received = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-send-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: received) }
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "-od", received.path])  // uncompressed transfer syntaxes only
        defer { scp.stop() }
        let result = try SonoKitCommand.run(["send", RepositoryPaths.sampleStudies.path, "--to", "REF@127.0.0.1:\(scp.port)"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("not stored: ") && result.stdout.contains("did not accept"), result.stdout)
    }

    func testUsageErrorsNameTheOption() throws {
        let badPeer = try SonoKitCommand.run(["send", RepositoryPaths.sampleStudies.path, "--to", "REF@127.0.0.1"])
        XCTAssertNotEqual(badPeer.status, 0)
        XCTAssertTrue(badPeer.stderr.contains("--to: REF@127.0.0.1: not a DICOM peer"), badPeer.stderr)
        let badTitle = try SonoKitCommand.run(["echo", "REF@127.0.0.1:104", "--ae-title", "A_TITLE_OF_20_CHARS_"])
        XCTAssertNotEqual(badTitle.status, 0)
        XCTAssertTrue(badTitle.stderr.contains("--ae-title"), badTitle.stderr)
        let missing = try SonoKitCommand.run(["send", "/nonexistent/folder", "--to", "REF@127.0.0.1:104"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/folder: no such file or folder"), missing.stderr)
    }
}
