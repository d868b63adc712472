import Foundation
import SonoKitTestSupport
import XCTest

/// Progress reaches a file or a pipe line by line (a log, `tee`, a batch system's output file):
/// C stdio buffers a pipe in 4 KiB blocks unless told otherwise, and the demo's first 4 KiB end
/// only after training — so a user watching the log saw nothing for the whole training step.
final class LineBufferedOutputTests: XCTestCase {
    func testDemoPrintsItsFirstStepBeforeGoingOn() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("line-buffer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = SonoKitCommand.executable
        process.arguments = ["demo", "-o", output.path, "--samples", RepositoryPaths.sampleStudies.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // A silent, hung child would block the reads below forever: kill its process group
        // after 10 minutes (the pipe then ends and the test fails on what it has).
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(-pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 600, execute: watchdog)
        defer {
            watchdog.cancel()
            if process.isRunning { kill(-pid, SIGKILL) }
            process.waitUntilExit()
        }
        // Each read returns as soon as anything is written: read until the first step's command
        // line is complete (or the output ends).
        var received = ""
        while !(received.contains("$ sonokit ingest") && received.hasSuffix("\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received += String(decoding: chunk, as: UTF8.self)
        }
        if received.isEmpty {
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return XCTFail("sonokit demo wrote nothing and ended with status \(process.terminationStatus): \(message)")
        }
        XCTAssertTrue(received.hasPrefix("\n== 1. index the export\n$ sonokit ingest"), "first output: \(received.prefix(200))")
        XCTAssertFalse(received.contains("== 2."), "output came in a block, not line by line: \(received.count) bytes at once")
    }
}
