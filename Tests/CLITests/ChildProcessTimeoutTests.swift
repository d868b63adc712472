import Foundation
import SonoKitTestSupport
import XCTest

/// Every child process of the tests has a deadline (SonoKitTestSupport.ChildProcess): a hung
/// child, and what it started, are killed and the test fails with `TimedOut` instead of hanging
/// the suite (a headless chromium that never exits once did).
final class ChildProcessTimeoutTests: XCTestCase {
    func testAHungChildAndItsChildrenAreKilledAtTheDeadline() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-timeout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        // The shell starts a grandchild that holds stdout open and would write the marker after 8 s.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "echo started; (sleep 8; touch \(marker.path)) & sleep 60"]
        let start = Date()
        XCTAssertThrowsError(try ChildProcess.run(process, timeout: 1)) { error in
            guard let timedOut = error as? ChildProcess.TimedOut else { return XCTFail("\(error)") }
            XCTAssertEqual(timedOut.seconds, 1)
            XCTAssertTrue(timedOut.command.hasPrefix("/bin/sh -c echo started"), timedOut.command)
            XCTAssertEqual(timedOut.stdout, "started\n", "what the child wrote before the deadline")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 6, "SIGTERM at 1 s, SIGKILL 2 s later at the latest")
        sleep(9)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "the grandchild (same process group) was killed too")
    }

    func testAChildWithinItsDeadlineReturnsItsOutputAndStatus() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "cat; echo err >&2; exit 3"]
        let output = try ChildProcess.run(process, input: Data("in\n".utf8), timeout: 30)
        XCTAssertEqual(output.status, 3)
        XCTAssertEqual(output.stdout, "in\n")
        XCTAssertEqual(output.stderr, "err\n")
    }
}
