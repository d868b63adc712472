#if canImport(Glibc)
import Glibc
#endif
import Catalog
import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit listen` end to end with DCMTK's `storescu` and `echoscu` as the independent peers:
/// what arrives is the sent dataset byte for byte, stored once, indexed as `ingest` indexes the
/// same files; the allow-list rejects with the right reason; garbage on the port, a client killed
/// mid-transfer and an oversize instance leave nothing behind; SIGTERM exits 0.
final class ListenCommandTests: XCTestCase, ListenTesting {
    // MARK: Storing

    func testStorescuPushIsStoredOnceByteIdenticalAndIndexedAsIngestWould() throws {
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path, "--allow", "STORESCU@127.0.0.1", "--allow", "VERIFY1@localhost"])
        let echo = try tool("echoscu", ["-aet", "VERIFY1", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertEqual(echo.status, 0, echo.output)
        let files = try Self.imageFiles()
        XCTAssertEqual(files.count, 57)
        let configuration = try storescuConfiguration(in: folder)
        // Twice: a re-sent instance replaces its own file and row, it is never stored twice.
        for _ in 0..<2 {
            let push = try tool("storescu", configuration + ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"] + files.map(\.path))
            XCTAssertEqual(push.status, 0, push.output)
            XCTAssertFalse(push.output.contains("E:"), push.output)
        }
        XCTAssertEqual(listener.stop(), 0, "SIGTERM: finish, exit 0")
        let log = listener.log
        XCTAssertTrue(log.contains("stopped: 114 instances stored"), log)
        XCTAssertTrue(log.contains("association from VERIFY1@127.0.0.1"), "a name on the allow-list is resolved: \(log)")

        // Every instance once, the dataset byte for byte as sent, under its hashed name.
        let stored = storedFiles(in: store)
        XCTAssertEqual(stored.count, files.count, stored.map(\.lastPathComponent).joined(separator: " "))
        XCTAssertTrue(stored.allSatisfy { $0.lastPathComponent.range(of: "^[0-9a-f]{64}\\.dcm$", options: .regularExpression) != nil })
        let received = Dictionary(try stored.map { (try Part10($0).sopInstanceUID, try Part10($0)) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let sent = try Part10(file)
            guard let got = received[sent.sopInstanceUID] else { XCTFail("\(file.path) not stored"); continue }
            XCTAssertEqual(got.transferSyntax, sent.transferSyntax, file.path)
            XCTAssertTrue(got.dataset == sent.dataset, "\(file.path): the dataset differs")
        }

        // The catalog holds what `ingest` of the same files gives.
        let reference = folder.appendingPathComponent("ingest.sqlite")
        let ingest = try SonoKitCommand.run(["ingest"] + files.map(\.path) + ["--catalog", reference.path])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        for table in ["patients", "studies", "series", "instances", "frames", "problems"] {
            XCTAssertEqual(try count(table, in: catalog), try count(table, in: reference), table)
        }
        XCTAssertEqual(try count("instances", in: catalog), 57)

        // No patient identifier and no UID in the log.
        // (The peers' AE titles are chosen not to contain a sample value: "ECHO" is one.)
        for value in try SampleIdentifiers.values() { XCTAssertFalse(log.contains(value), "the log holds an identifier") }
        for uid in received.keys { XCTAssertFalse(log.contains(uid), "the log holds a SOP Instance UID") }
    }

    // MARK: Access control

    func testCallersNotOnTheAllowListAreRejectedWithTheReasonAndLogged() throws {
        let folder = try temporaryFolder()
        let listener = try ListenerProcess(["--store", folder.appendingPathComponent("store").path, "--catalog", folder.appendingPathComponent("c.sqlite").path,
                                     "--allow", "SCANNER1@127.0.0.1", "--allow", "PACS@10.255.255.1"])
        let allowed = try tool("echoscu", ["-aet", "SCANNER1", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertEqual(allowed.status, 0, allowed.output)
        let unknown = try tool("echoscu", ["-aet", "INTRUDER", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.output.contains("Calling AE Title Not Recognized"), unknown.output)
        let wrongHost = try tool("echoscu", ["-aet", "PACS", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertNotEqual(wrongHost.status, 0)
        XCTAssertTrue(wrongHost.output.contains("Calling AE Title Not Recognized"), wrongHost.output)
        XCTAssertEqual(listener.stop(), 0)
        let log = listener.log
        XCTAssertTrue(log.contains("rejected association from INTRUDER@127.0.0.1 (called SONOKIT): calling AE title not on the allow-list"), log)
        XCTAssertTrue(log.contains("rejected association from PACS@127.0.0.1 (called SONOKIT): calling AE title allowed only from 10.255.255.1"), log)
        XCTAssertTrue(log.contains("1 associations accepted, 2 rejected"), log)

        let open = try ListenerProcess(["--store", folder.appendingPathComponent("store2").path, "--catalog", folder.appendingPathComponent("c2.sqlite").path])
        XCTAssertEqual(try tool("echoscu", ["-aet", "ANYONE", "-aec", "SONOKIT", "127.0.0.1", "\(open.port)"]).status, 0)
        open.stop()
        XCTAssertTrue(open.log.contains("warning: no --allow given"), open.log)
    }

    // MARK: Faults

    func testGarbageOnThePortAndAClientKilledMidTransferLeaveNothingAndTheListenerKeepsServing() throws {
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("c.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path])

        // Not DICOM: an HTTP request on the port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = listener.port.bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
        XCTAssertTrue(connected)
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        _ = garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        usleep(300_000)
        close(fd)
        XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "still serving after garbage: \(listener.log)")

        // A 200 MB instance whose sender is killed (SIGKILL) while its dataset is arriving.
        let source = try XCTUnwrap(try Self.imageFiles().first { try Part10($0).transferSyntax == "1.2.840.10008.1.2.1" })
        let big = folder.appendingPathComponent("big.dcm"), raw = folder.appendingPathComponent("big.raw")
        try FileManager.default.copyItem(at: source, to: big)
        FileManager.default.createFile(atPath: raw.path, contents: Data(count: 200 << 20))
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-mf", "(7fe0,0010)=\(raw.path)", big.path])
        let sender = Process()
        // Run directly (not under `timeout`) so that SIGKILL reaches storescu itself; its deadline is
        // the 30 s wait below, after which it is killed in any case.
        sender.executableURL = URL(fileURLWithPath: "/usr/bin/storescu")
        sender.arguments = ["-aec", "SONOKIT", "--max-pdu", "4096", "127.0.0.1", "\(listener.port)", big.path]
        sender.standardOutput = FileHandle.nullDevice
        sender.standardError = FileHandle.nullDevice
        try sender.run()
        let start = Date()
        func partial() -> [URL] { storedFiles(in: store).filter { $0.lastPathComponent.hasPrefix(".incoming-") } }
        while partial().isEmpty && Date().timeIntervalSince(start) < 30 && sender.isRunning { usleep(5_000) }
        XCTAssertFalse(partial().isEmpty, "the transfer started")
        kill(sender.processIdentifier, SIGKILL)
        sender.waitUntilExit()
        XCTAssertTrue(listener.waitForLog("receive failed"), listener.log)
        XCTAssertEqual(storedFiles(in: store), [], "no partial file")
        XCTAssertEqual(try count("instances", in: catalog), 0)
        XCTAssertEqual(try count("files", in: catalog), 0, "no row")
        XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "still serving")
        XCTAssertEqual(listener.stop(), 0)
    }

    func testAnInstanceLargerThanTheLimitIsAnsweredWithAFailureStatusAndNotKept() throws {
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("c.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path, "--max-instance-size", "100000"])
        let files = try Self.imageFiles()
        let large = try XCTUnwrap(files.first { (try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0 > 200_000 })
        let small = try XCTUnwrap(files.first { (try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0 < 90_000 })
        let configuration = try storescuConfiguration(in: folder)
        // -nh: go on after the refusal; -v: print the response status.
        let push = try tool("storescu", configuration + ["-nh", "-v", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)", large.path, small.path])
        // storescu 3.6.7 exits 0 whatever the response statuses; -v prints each one in DCMTK's words.
        XCTAssertEqual(push.status, 0, push.output)
        XCTAssertTrue(push.output.contains("Received Store Response (Refused: OutOfResources)"), push.output)
        XCTAssertTrue(push.output.contains("Received Store Response (Success)"), push.output)
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertTrue(listener.log.contains("is more than --max-instance-size 100000 (status 0xA700)"), listener.log)
        XCTAssertEqual(storedFiles(in: store).count, 1, "only the small instance")
        XCTAssertEqual(try count("instances", in: catalog), 1)
    }

    func testUsageErrorsNameTheOption() throws {
        let pdu = try SonoKitCommand.run(["listen", "--store", "/tmp/x", "--catalog", "/tmp/x.sqlite", "--max-pdu", "100"])
        XCTAssertNotEqual(pdu.status, 0)
        XCTAssertTrue(pdu.stderr.contains("--max-pdu"), pdu.stderr)
        let allow = try SonoKitCommand.run(["listen", "--store", "/tmp/x", "--catalog", "/tmp/x.sqlite", "--allow", "NOHOST"])
        XCTAssertNotEqual(allow.status, 0)
        XCTAssertTrue(allow.stderr.contains("--allow: NOHOST"), allow.stderr)
    }
}

// MARK: - Shared by the Listen*Tests

/// `sonokit listen ... --port P` under coreutils' `timeout` (deadline `deadline` s, 240 by
/// default), on a free port (or `port`, e.g. to restart a listener where it was), its standard
/// output and error in a file read by `log`. `wrapper` goes before `timeout` (e.g. `prlimit`).
final class ListenerProcess {
    let process = Process()
    let port: UInt16
    let logFile: URL

    /// `environment`: variables set for the listener on top of the test's own.
    init(_ arguments: [String], port: UInt16? = nil, wrapper: [String] = [], deadline: Int = 240, environment: [String: String] = [:]) throws {
        self.port = try port ?? ReferencePeer.freePort()
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-listen-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let command = ["/usr/bin/timeout", "-s", "TERM", "-k", "5", "\(deadline)", SonoKitCommand.executable.path, "listen"]
            + arguments + ["--port", "\(self.port)"]
        process.executableURL = URL(fileURLWithPath: (wrapper + command)[0])
        process.arguments = Array((wrapper + command).dropFirst())
        process.standardOutput = handle
        process.standardError = handle
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try process.run()
        let start = Date()
        while !Self.isListening(self.port) {
            guard process.isRunning else { throw ReferencePeer.Failure("sonokit listen exited: \(log)") }
            guard Date().timeIntervalSince(start) < 30 else { stop(); throw ReferencePeer.Failure("not listening after 30 s: \(log)") }
            usleep(20_000)
        }
    }

    /// Whether a socket listens on TCP `port` (/proc/net/tcp and tcp6, state 0A), seen without
    /// connecting: a probe connection would be an association attempt that holds one of the
    /// listener's `--max-associations` workers for a moment.
    static func isListening(_ port: UInt16) -> Bool {
        let local = String(format: ":%04X", port)
        return ["/proc/net/tcp", "/proc/net/tcp6"].contains { table in
            ((try? String(contentsOfFile: table, encoding: .utf8)) ?? "").split(separator: "\n").contains { line in
                let fields = line.split(separator: " ")
                return fields.count > 3 && fields[1].hasSuffix(local) && fields[3] == "0A"
            }
        }
    }

    deinit {
        if process.isRunning {
            if let pid = listenerPID { kill(pid, SIGKILL) }
            kill(process.processIdentifier, SIGKILL)
        }
        try? FileManager.default.removeItem(at: logFile)
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The `sonokit` process itself (the child of `timeout`, found through `prlimit` too), or nil
    /// when it has exited.
    var listenerPID: pid_t? {
        var pid = process.processIdentifier
        for _ in 0..<3 {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8),
                  let child = text.split(separator: " ").first.flatMap({ pid_t($0) }) else { return nil }
            if (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?.hasPrefix("sonokit") == true { return child }
            pid = child
        }
        return nil
    }

    /// The listener's resident set size in KiB (VmRSS of /proc/PID/status), or nil when it has exited.
    var residentKiB: Int? { status("VmRSS:") }

    /// The listener's address space in KiB (VmSize), or nil when it has exited.
    var virtualKiB: Int? { status("VmSize:") }

    private func status(_ field: String) -> Int? {
        guard let pid = listenerPID, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// SIGTERM (forwarded by `timeout`) and the exit status.
    @discardableResult func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL to the listener itself (no chance to clean up), then waits for `timeout` to exit.
    func killHard() {
        if let pid = listenerPID { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits (at most 20 s) until the log contains `text`.
    func waitForLog(_ text: String) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < 20 {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }
}

/// The helpers of the `sonokit listen` tests (a protocol, so that each test class has them
/// without inheriting another class's tests).
protocol ListenTesting: XCTestCase {}

extension ListenTesting {
    /// A DCMTK tool with a 120 s deadline: status and output (standard output and error together).
    func tool(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "120", name] + arguments
        let result = try ChildProcess.run(process)
        return (result.status, result.stdout + result.stderr)
    }

    /// The ultrasound image files of SampleStudies (its SR and key object are not image storage).
    static func imageFiles() throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: RepositoryPaths.sampleStudies, includingPropertiesForKeys: nil)!
        return try enumerator.compactMap { $0 as? URL }
            .filter { $0.lastPathComponent != "DICOMDIR" && !$0.pathExtension.hasSuffix("csv") && (try? Part10($0)) != nil }
            .filter { try DCMTKTools.run("dcmdump", ["+P", "0008,0016", $0.path]).contains("Ultrasound") }
            .sorted { $0.path < $1.path }
    }

    /// A storescu association configuration proposing each (US SOP class, transfer syntax) pair in
    /// its own presentation context, so that every file goes in its own transfer syntax (storescu's
    /// defaults propose uncompressed syntaxes only and would transcode).
    func storescuConfiguration(in folder: URL) throws -> [String] {
        try StorescuConfiguration.arguments(writingInto: folder)
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-listen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The number of rows of `table` (patients, studies, series, instances, frames, files,
    /// problems), read through the Catalog module (no `sqlite3` CLI needed).
    func count(_ table: String, in catalog: URL) throws -> Int {
        let summary = try Catalog(path: catalog.path).summary()
        switch table {
        case "patients": return summary.patients
        case "studies": return summary.studies
        case "series": return summary.series
        case "instances": return summary.dicomInstances
        case "frames": return summary.frames
        case "files": return summary.files
        case "problems": return summary.problemsByKind.values.reduce(0, +)
        default: XCTFail("no count for table \(table)"); return -1
        }
    }

    func storedFiles(in store: URL) -> [URL] {
        (FileManager.default.enumerator(at: store, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { !$0.hasDirectoryPath && (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }

}
