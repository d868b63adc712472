import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit synth` end to end: the cohort, its progress and speed lines, no identifier printed,
/// and clear refusals.
final class SynthCommandTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-synth-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testSynthWritesACohortAndPrintsProgressAndSpeedButNoIdentifier() throws {
        let output = work.appendingPathComponent("cohort")
        let r = try SonoKitCommand.run(["synth", "-o", output.path, "--patients", "3", "--seed", "2", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("synth: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("images/s") && r.stdout.contains("frames/s") && r.stdout.contains(" MB"), r.stdout)
        XCTAssertTrue(r.stdout.contains("3 patients"), r.stdout)
        for name in ["labels.csv", "cohort.json", "DICOMDIR"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
        for value in ["SKP0001", "SYNTH^", "SKA0000"] { XCTAssertFalse(r.stdout.contains(value) || r.stderr.contains(value), value) }
        // Rerun into the same folder: an earlier cohort is replaced, not refused.
        XCTAssertEqual(try SonoKitCommand.run(["synth", "-o", output.path, "--patients", "3", "--seed", "3"]).status, 0)
    }

    func testUnusableArgumentsAndAForeignFolderAreRefusedWithWhatToDo() throws {
        let foreign = work.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        let refused = try SonoKitCommand.run(["synth", "-o", foreign.path, "--patients", "2"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("not empty") && refused.stderr.contains("new or empty folder"), refused.stderr)
        let one = try SonoKitCommand.run(["synth", "-o", work.appendingPathComponent("x").path, "--patients", "2", "--classes", "only"])
        XCTAssertNotEqual(one.status, 0)
        XCTAssertTrue(one.stderr.contains("two or more"), one.stderr)
        let positive = try SonoKitCommand.run(["synth", "-o", work.appendingPathComponent("y").path, "--patients", "2", "--positive", "cancer"])
        XCTAssertTrue(positive.stderr.contains("--positive 'cancer'"), positive.stderr)
    }
}
