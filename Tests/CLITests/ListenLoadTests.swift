#if canImport(Glibc)
import Glibc
#endif
import Catalog
import Foundation
import SonoKitCore
import SonoKitTestSupport
import XCTest

/// Nothing lost under load (issue 19, "How it is checked"), reduced for the debug test suite:
/// 8 lanes at once, each a `storescu` association after another pushing every SampleStudies image
/// file (2 pushes per lane here; scripts/node/load-test.sh runs 20 on the release build). Every
/// C-STORE is answered Success, every instance is stored once with the dataset byte for byte as
/// sent, the catalog holds exactly what `ingest` of the files gives, and the listener's memory does
/// not grow with the associations served.
final class ListenLoadTests: XCTestCase, ListenTesting {
    func testEightConcurrentLanesOfStorescuLoseNothingAndMemoryStaysFlat() throws {
        let lanes = 8, pushes = 2
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path, "--max-associations", "\(lanes)"], deadline: 900)
        let files = try Self.imageFiles()
        let arguments = try storescuConfiguration(in: folder) + ["-v", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"] + files.map(\.path)
        let command = "storescu " + arguments.map { "'\($0)'" }.joined(separator: " ")

        // Each lane: `pushes` associations one after the other (a new association each time, so
        // that the worker threads of finished associations are exercised as well).
        let lanesLogs = (0..<lanes).map { folder.appendingPathComponent("lane-\($0).log") }
        var processes: [Process] = []
        let start = Date()
        for log in lanesLogs {
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["-s", "KILL", "600", "sh", "-c", "for i in $(seq \(pushes)); do \(command) || exit $?; done"]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            processes.append(process)
        }
        var samples: [Int] = []
        while processes.contains(where: \.isRunning) {
            if let kib = listener.residentKiB { samples.append(kib) }
            usleep(100_000)
        }
        let seconds = Date().timeIntervalSince(start)

        let expectedPerLane = files.count * pushes
        for (process, log) in zip(processes, lanesLogs) {
            let output = try String(contentsOf: log, encoding: .utf8)
            XCTAssertEqual(process.terminationStatus, 0, "\(log.lastPathComponent): \(output.suffix(2000))")
            XCTAssertEqual(output.components(separatedBy: "Received Store Response (Success)").count - 1, expectedPerLane,
                           "\(log.lastPathComponent): every C-STORE answered Success")
            XCTAssertFalse(output.contains("E: "), "\(log.lastPathComponent): \(output.suffix(2000))")
        }
        XCTAssertEqual(listener.stop(), 0)
        let log = listener.log
        let total = lanes * expectedPerLane
        XCTAssertTrue(log.contains("stopped: \(total) instances stored"), String(log.suffix(2000)))
        XCTAssertTrue(log.contains(", 0 refused; \(lanes * pushes) associations accepted, 0 rejected"), String(log.suffix(2000)))
        print("load: \(total) instances in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(total) / seconds))/s), "
              + "\(samples.count) RSS samples, \(samples.min() ?? 0)...\(samples.max() ?? 0) KiB")

        // Every instance once, its dataset byte for byte as sent (SHA-256 of the dataset after the meta header).
        let stored = storedFiles(in: store)
        XCTAssertEqual(stored.count, files.count, "one file per instance, nothing partial: \(stored.map(\.lastPathComponent))")
        let received = Dictionary(try stored.map { (try Part10($0).sopInstanceUID, SHA256Hex.of(try Part10($0).dataset)) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let sent = try Part10(file)
            XCTAssertEqual(received[sent.sopInstanceUID], SHA256Hex.of(sent.dataset), "\(file.path): not stored or not byte-identical")
        }

        // The catalog: exactly what `ingest` of the same files gives.
        let reference = folder.appendingPathComponent("ingest.sqlite")
        let ingest = try SonoKitCommand.run(["ingest"] + files.map(\.path) + ["--catalog", reference.path])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        for table in ["patients", "studies", "series", "instances", "frames", "files", "problems"] {
            XCTAssertEqual(try count(table, in: catalog), try count(table, in: reference), table)
        }
        XCTAssertEqual(try count("instances", in: catalog), files.count)

        // Memory: the peak of the last third of the samples within 10% (at least 8 MiB) of the
        // first third's: no growth with the instances and associations served.
        XCTAssertGreaterThanOrEqual(samples.count, 9, "enough samples")
        let third = samples.count / 3
        let first = samples.prefix(third).max() ?? 0, last = samples.suffix(third).max() ?? 0
        XCTAssertLessThanOrEqual(last, first + max(first / 10, 8192), "RSS grew from \(first) KiB to \(last) KiB")
    }

    /// DcmSCPPool never joins the thread of a finished association; unjoined, each kept its 8 MiB
    /// stack mapping (and some resident pages) until the mapping limit stopped thread creation. The
    /// listener joins them: 120 associations one after the other leave the address space as it was
    /// after the first few (it grew by 8 MiB per association before).
    func testFinishedAssociationsDoNotLeaveTheirThreadsBehind() throws {
        let folder = try temporaryFolder()
        let listener = try ListenerProcess(["--store", folder.appendingPathComponent("store").path, "--catalog", folder.appendingPathComponent("c.sqlite").path])
        func echoes(_ n: Int) throws {
            let result = try tool("sh", ["-c", "for i in $(seq \(n)); do echoscu -aec SONOKIT 127.0.0.1 \(listener.port) || exit 1; done"])
            XCTAssertEqual(result.status, 0, result.output)
        }
        try echoes(8)
        let before = try XCTUnwrap(listener.virtualKiB)
        try echoes(120)
        let after = try XCTUnwrap(listener.virtualKiB)
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertTrue(listener.log.contains("128 associations accepted"), listener.log)
        // 120 leaked stacks would be 960 MiB; the margin leaves room for a malloc arena or two (64 MiB each).
        XCTAssertLessThan(after - before, 256 * 1024, "address space grew from \(before) KiB to \(after) KiB over 120 associations")
    }
}

/// The catalog written from several threads at once, as DCMTK's worker threads write it
/// (`Catalog.index(receivedFile:scan:)`, one GRDB `DatabaseQueue`): 8 threads indexing every
/// SampleStudies image between them give the catalog `ingest` gives; 8 threads indexing the same
/// file give one instance.
final class ListenCatalogConcurrencyTests: XCTestCase, ListenTesting {
    func testEightThreadsIndexingAtOnceGiveWhatIngestGives() throws {
        let folder = try temporaryFolder()
        let files = try Self.imageFiles()
        let copies = try files.enumerated().map { index, file -> URL in
            let copy = folder.appendingPathComponent("in/\(index).dcm")
            try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: file, to: copy)
            return copy
        }
        let catalog = try Catalog(path: folder.appendingPathComponent("threads.sqlite").path)
        let errors = Locked<[String]>([])
        func onEightThreads(_ body: @escaping @Sendable (Int) throws -> Void) {
            let group = DispatchGroup()
            for lane in 0..<8 {
                group.enter()
                Thread {
                    do { try body(lane) } catch { errors.withLock { $0.append("\(error)") } }
                    group.leave()
                }.start()
            }
            group.wait()
        }
        let paths = copies.map(\.path)
        onEightThreads { lane in
            for path in paths.enumerated().filter({ $0.offset % 8 == lane }).map(\.element) {
                _ = try catalog.index(receivedFile: path, scan: FileScan.scan(path: path, verify: false))
            }
        }
        XCTAssertEqual(errors.withLock { $0 }, [])
        let reference = folder.appendingPathComponent("ingest.sqlite")
        let ingest = try SonoKitCommand.run(["ingest", folder.appendingPathComponent("in").path, "--catalog", reference.path])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        let expected = try Catalog(path: reference.path).summary()
        var got = try catalog.summary()
        XCTAssertEqual(got, expected)
        XCTAssertEqual(got.dicomInstances, files.count)

        // The same file from 8 threads at once: one instance, one file row.
        let same = folder.appendingPathComponent("same.sqlite")
        let single = try Catalog(path: same.path)
        let path = paths[0]
        onEightThreads { _ in _ = try single.index(receivedFile: path, scan: FileScan.scan(path: path, verify: false)) }
        XCTAssertEqual(errors.withLock { $0 }, [])
        got = try single.summary()
        XCTAssertEqual(got.dicomInstances, 1)
        XCTAssertEqual(got.files, 1)
        XCTAssertEqual(got.problemsByKind, [:])
    }
}
