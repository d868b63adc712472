import Foundation
import SonoKitCLI
import XCTest

/// The product's own child processes (SonoKitCLI.ChildProcess: the benchmarks' compilers,
/// Python peers and workers) have a deadline: at it the child's whole process group is killed and
/// a typed error names the command and the deadline, instead of the command hanging for ever.
/// (The tests' runner, SonoKitTestSupport.ChildProcess, is checked in ChildProcessTimeoutTests.)
final class ProductChildProcessTests: XCTestCase {
    func testAHungChildAndWhatItStartedAreKilledAtTheDeadline() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-cli-timeout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        // A grandchild (same process group) that would write the marker 3 s later; the child sleeps on.
        let command = ["/bin/sh", "-c", "echo started; (sleep 3; touch \(marker.path)) & sleep 60"]
        let start = Date()
        XCTAssertThrowsError(try ChildProcess.run(command, timeout: 1)) { error in
            guard let timedOut = error as? ChildProcessTimedOut else { return XCTFail("not a ChildProcessTimedOut: \(error)") }
            XCTAssertEqual(timedOut.command, command)
            XCTAssertEqual(timedOut.seconds, 1)
            XCTAssertTrue(timedOut.description.contains("`/bin/sh -c echo started;"), timedOut.description)
            XCTAssertTrue(timedOut.description.contains("within its 1 s deadline"), timedOut.description)
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 1, "not before the deadline")
        XCTAssertLessThan(elapsed, 2.9, "SIGTERM at 1 s ends the shell; the grace period is not waited out")
        sleep(4)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "the grandchild (same process group) was killed too")
    }

    func testAChildThatClosesItsOutputButRunsOnIsKilledToo() throws {
        let start = Date()
        XCTAssertThrowsError(try ChildProcess.run(["/bin/sh", "-c", "exec >/dev/null; sleep 60"], timeout: 0.5)) { error in
            XCTAssertEqual((error as? ChildProcessTimedOut)?.seconds, 0.5)
            XCTAssertTrue("\(error)".contains("within its 0.5 s deadline"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
    }

    func testAChildThatIgnoresSIGTERMIsKilledAfterTheGracePeriod() throws {
        let start = Date()
        XCTAssertThrowsError(try ChildProcess.run(["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], timeout: 0.5)) { error in
            XCTAssertTrue(error is ChildProcessTimedOut, "\(error)")
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 2.4, "SIGKILL only after the 2 s grace")
        XCTAssertLessThan(elapsed, 5)
    }

    func testAChildWithinItsDeadlineReturnsItsOutputAndStatus() throws {
        let result = try ChildProcess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], quietStderr: true, timeout: 30)
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.output, "out\n")
        XCTAssertGreaterThan(result.peakRSSMiB, 0)
    }

    func testAChildThatReadsStandardInputGetsEndOfFileInsteadOfWaiting() throws {
        let start = Date()
        let result = try ChildProcess.run(["/bin/sh", "-c", "read answer; echo \"got [$answer] $?\""], timeout: 10)
        XCTAssertEqual(result.output, "got [] 1\n")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }
}
