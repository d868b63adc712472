#if canImport(Glibc)
import Glibc
#endif
import Catalog
import Foundation
import SonoKitCore
import SonoKitTestSupport
import XCTest

/// `sonokit listen` under faults (issue 19, "How it is checked"): the listener killed with SIGKILL
/// during a transfer, PDUs cut short on the wire (bytes written by hand, PS3.8 §9.3), and a full
/// disk. Each time the sender sees a failure and never a success for what was not stored, nothing
/// partial stays in the store or the catalog, and the listener (or its restart) serves again.
final class ListenFaultTests: XCTestCase, ListenTesting {
    // MARK: kill -9

    func testAListenerKilledDuringATransferFailsTheSenderAndARestartCleansUpAndStoresEverythingOnce() throws {
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let arguments = ["--store", store.path, "--catalog", catalog.path]
        let listener = try ListenerProcess(arguments)
        let files = try Self.imageFiles()
        let configuration = try storescuConfiguration(in: folder)
        let first = try tool("storescu", configuration + ["-v", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"] + files.prefix(3).map(\.path))
        XCTAssertEqual(first.output.components(separatedBy: "Received Store Response (Success)").count - 1, 3, first.output)

        // A 200 MB instance sent in 4 KiB PDUs; the listener is killed while it arrives.
        let source = try XCTUnwrap(try files.first { try Part10($0).transferSyntax == "1.2.840.10008.1.2.1" })
        let big = folder.appendingPathComponent("big.dcm"), raw = folder.appendingPathComponent("big.raw")
        try FileManager.default.copyItem(at: source, to: big)
        FileManager.default.createFile(atPath: raw.path, contents: Data(count: 200 << 20))
        _ = try DCMTKTools.run("dcmodify", ["-nb", "-gin", "-mf", "(7fe0,0010)=\(raw.path)", big.path])
        let senderLog = folder.appendingPathComponent("sender.log")
        FileManager.default.createFile(atPath: senderLog.path, contents: nil)
        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        sender.arguments = ["-s", "KILL", "120", "storescu", "-v", "-aec", "SONOKIT", "--max-pdu", "4096", "127.0.0.1", "\(listener.port)", big.path]
        sender.standardOutput = try FileHandle(forWritingTo: senderLog)
        sender.standardError = sender.standardOutput
        try sender.run()
        func partial() -> [URL] { storedFiles(in: store).filter { $0.lastPathComponent.hasPrefix(".incoming-") } }
        let start = Date()
        while partial().isEmpty && Date().timeIntervalSince(start) < 60 && sender.isRunning { usleep(5_000) }
        XCTAssertEqual(partial().count, 1, "the transfer started")
        listener.killHard()
        sender.waitUntilExit()
        let sent = try String(contentsOf: senderLog, encoding: .utf8)
        XCTAssertFalse(sent.contains("Received Store Response (Success)"), "the sender saw a success: \(sent)")
        XCTAssertTrue(sent.contains("Store Failed"), "the sender reports the failure: \(sent)")
        XCTAssertEqual(partial().count, 1, "kill -9 leaves the partial receive (the restart must remove it)")

        // The restart (same port, store and catalog): the partial file goes, nothing partial was indexed.
        let restarted = try ListenerProcess(arguments, port: listener.port)
        XCTAssertTrue(restarted.log.contains("removed 1 incomplete receive(s) left by an earlier run"), restarted.log)
        XCTAssertEqual(partial(), [])
        XCTAssertEqual(try count("instances", in: catalog), 3, "only the instances answered Success before the kill")
        XCTAssertEqual(try count("files", in: catalog), 3)
        XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(restarted.port)"]).status, 0, "serving again")
        let again = try tool("storescu", configuration + ["-v", "-aec", "SONOKIT", "127.0.0.1", "\(restarted.port)"] + files.map(\.path))
        XCTAssertEqual(again.output.components(separatedBy: "Received Store Response (Success)").count - 1, files.count, again.output)
        XCTAssertEqual(restarted.stop(), 0)
        let stored = storedFiles(in: store)
        XCTAssertEqual(stored.count, files.count, "each instance once (the 3 re-sent ones replaced, not doubled)")
        let received = Dictionary(try stored.map { (try Part10($0).sopInstanceUID, SHA256Hex.of(try Part10($0).dataset)) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let sentFile = try Part10(file)
            XCTAssertEqual(received[sentFile.sopInstanceUID], SHA256Hex.of(sentFile.dataset), file.path)
        }
        XCTAssertEqual(try count("instances", in: catalog), files.count)
        XCTAssertEqual(try count("files", in: catalog), files.count)
        XCTAssertEqual(try count("problems", in: catalog), 0)
    }

    // MARK: Truncated PDUs (written by hand, PS3.8 §9.3)

    func testPDUsCutShortLeaveNothingAndTheListenerKeepsServing() throws {
        let folder = try temporaryFolder()
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path])
        let sopClass = "1.2.840.10008.5.1.4.1.1.6.1", instance = "1.2.826.0.1.3680043.10.1.99.1"

        // 1. A valid A-ASSOCIATE-RQ, then a P-DATA-TF claiming 16000 bytes of which 70 come, then close.
        // 2. The same with a complete C-STORE-RQ command first, so that the dataset's receive has
        //    begun (a temporary file exists) when the connection goes.
        for withCommand in [false, true] {
            let socket = try HandMadeAssociation(port: listener.port, calling: "HANDMADE", called: "SONOKIT",
                                                 abstractSyntax: sopClass, transferSyntax: "1.2.840.10008.1.2.1")
            if withCommand { try socket.send(HandMadeAssociation.pData(context: 1, command: true, last: true,
                                                                        HandMadeAssociation.cStoreRequest(sopClass: sopClass, instance: instance))) }
            let claimed = 16_000, fragment = [UInt8](repeating: 0x42, count: 64)
            let pdvLength = claimed - 4
            try socket.send([0x04, 0x00] + HandMadeAssociation.be32(claimed) + HandMadeAssociation.be32(pdvLength)
                            + [1, withCommand ? 0x00 : 0x01] + fragment)
            socket.close()
            XCTAssertTrue(listener.waitForLog(withCommand ? "receive failed" : "DIMSE error"), listener.log)
            XCTAssertEqual(storedFiles(in: store), [], "nothing stored, no partial file")
            XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "still serving: \(listener.log)")
        }
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertTrue(listener.log.contains("stopped: 0 instances stored"), listener.log)
        XCTAssertEqual(try count("instances", in: catalog), 0)
        XCTAssertEqual(try count("files", in: catalog), 0)
    }

    // MARK: Limits

    /// `--max-associations 1`: while one association is open, the next is rejected by DCMTK's
    /// pool (A-ASSOCIATE-RJ rejected-transient, service-provider presentation-related, "local limit
    /// exceeded"); once it is gone, callers are served again.
    func testAnAssociationOverTheLimitIsRejectedAndServedOnceThereIsRoom() throws {
        let folder = try temporaryFolder()
        let listener = try ListenerProcess(["--store", folder.appendingPathComponent("store").path,
                                            "--catalog", folder.appendingPathComponent("c.sqlite").path, "--max-associations", "1"])
        let holder = try HandMadeAssociation(port: listener.port, calling: "HOLDER", called: "SONOKIT",
                                             abstractSyntax: "1.2.840.10008.1.1", transferSyntax: "1.2.840.10008.1.2")
        let over = try tool("echoscu", ["-v", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertNotEqual(over.status, 0)
        XCTAssertTrue(over.output.contains("Reason: Local Limit Exceeded"), over.output)
        holder.close()
        XCTAssertTrue(listener.waitForLog("association aborted by HOLDER"), listener.log)
        var served = false
        for _ in 0..<50 where !served {  // the pool frees the worker once its thread has ended
            served = try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status == 0
            if !served { usleep(100_000) }
        }
        XCTAssertTrue(served, listener.log)
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertTrue(listener.log.contains("rejected association from ECHOSCU@127.0.0.1 (called SONOKIT): 1 associations running, "
                                            + "the --max-associations limit (A-ASSOCIATE-RJ: local limit exceeded)"), listener.log)
        // At least the one above (an echo right after the holder left may find its worker not yet gone).
        XCTAssertTrue(listener.log.contains("2 associations accepted, ") && !listener.log.contains(" 0 rejected"), listener.log)
    }

    // MARK: Association threads that end before their start has returned

    /// DCMTK 3.6.7's pool deletes an association's worker object as soon as its thread ends, and
    /// `OFThread::start` stores the new thread's ID into that object after `pthread_create`
    /// returns: an association that ends before its start returns (a caller rejected at once, a
    /// quick C-ECHO on a loaded machine) made the listener write 8 bytes into freed memory
    /// (valgrind: "Invalid write of size 8 at OFThread::start, 8 bytes inside a block of size 112
    /// free'd by notifyThreadExit"); a node under load died of it with "malloc(): unsorted double
    /// linked list corrupted". Here every thread start of the listener's main thread returns
    /// 300 ms late (an LD_PRELOAD wrapper of pthread_create), so that each worker ends first, and
    /// glibc keeps freed chunks of that size in its unsorted list (no tcache, no fastbins), where
    /// a write at offset 8 is its back pointer and the next malloc aborts. The listener must serve
    /// rejected and accepted callers and a push, and stop with status 0.
    func testAssociationsEndingBeforeTheirThreadStartReturnsLeaveTheHeapIntact() throws {
        let folder = try temporaryFolder()
        let wrapper = try lateThreadStartLibrary(in: folder)
        let store = folder.appendingPathComponent("store"), catalog = folder.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path, "--allow", "ECHOSCU@127.0.0.1", "--allow", "STORESCU@127.0.0.1"],
                                           environment: ["LD_PRELOAD": wrapper.path, "SONOKIT_TEST_THREAD_START_DELAY_MS": "300",
                                                         "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0"])
        for _ in 0..<4 {
            XCTAssertNotEqual(try tool("echoscu", ["-aet", "INTRUDER", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "rejected")
            XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "accepted: \(listener.log)")
        }
        let files = Array(try Self.imageFiles().prefix(4))
        let pushed = try tool("storescu", try storescuConfiguration(in: folder) + ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"] + files.map(\.path))
        XCTAssertEqual(pushed.status, 0, pushed.output + listener.log)
        XCTAssertEqual(listener.stop(), 0, listener.log)
        XCTAssertFalse(listener.log.contains("malloc"), listener.log)
        XCTAssertTrue(listener.log.contains("stopped: \(files.count) instances stored"), listener.log)
        XCTAssertTrue(listener.log.contains("5 associations accepted, 4 rejected"), listener.log)
    }

    /// A shared library wrapping pthread_create: in the process's main thread it returns
    /// SONOKIT_TEST_THREAD_START_DELAY_MS late (built with the C compiler of the toolchain).
    func lateThreadStartLibrary(in folder: URL) throws -> URL {
        let source = folder.appendingPathComponent("late-thread-start.c"), library = folder.appendingPathComponent("late-thread-start.so")
        try """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <pthread.h>
        #include <stdlib.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        typedef int (*create_t)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
        int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*body)(void *), void *argument) {
            static create_t real;
            if (!real) real = (create_t)dlsym(RTLD_NEXT, "pthread_create");
            int result = real(thread, attributes, body, argument);
            const char *delay = getenv("SONOKIT_TEST_THREAD_START_DELAY_MS");
            if (result == 0 && delay && getpid() == (pid_t)syscall(SYS_gettid)) usleep((useconds_t)atoi(delay) * 1000);
            return result;
        }
        """.write(to: source, atomically: true, encoding: .utf8)
        let compiler = ["cc", "clang"].first { name in
            (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
        }
        let build = try tool(try XCTUnwrap(compiler, "no C compiler (cc or the toolchain's clang) on PATH"),
                             ["-shared", "-fPIC", "-O1", "-o", library.path, source.path, "-ldl"])
        XCTAssertEqual(build.status, 0, build.output)
        return library
    }

    // MARK: Disk full

    /// The store on a 3 MiB tmpfs with `--min-free-space 1 MiB` (when the test runs as root and may
    /// mount: the reserve check), and the listener under `prlimit --fsize` (any user: a write that
    /// fails with EFBIG part-way through a dataset): every C-STORE is answered, Success or 0xA700
    /// (Refused: Out of Resources), never an abort; what was refused left nothing; what was answered
    /// Success is whole; the listener serves on.
    func testAFullDiskIsAnsweredWithOutOfResourcesAndLeavesNothingPartial() throws {
        let folder = try temporaryFolder()
        let files = try Self.imageFiles()
        let configuration = try storescuConfiguration(in: folder)

        let mountPoint = folder.appendingPathComponent("tmpfs")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        if getuid() == 0, try tool("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint.path]).status == 0 {
            defer { _ = try? tool("umount", [mountPoint.path]) }
            print("disk full: a 3 MiB tmpfs, --min-free-space 1048576")
            try checkFullDisk(store: mountPoint.appendingPathComponent("store"), catalog: folder.appendingPathComponent("a.sqlite"),
                              options: ["--min-free-space", "1048576"], wrapper: [], files: files, configuration: configuration)
        } else {
            print("disk full: not root or mount refused; the tmpfs case is not run (the prlimit case is)")
        }

        // A file size limit of 400 kB: the small instances (and the catalog's first writes) fit; the
        // 1.2 MB one fails part-way (DCMTK drains the rest of its dataset and we answer 0xA700).
        print("disk full: prlimit --fsize=400000 (EFBIG)")
        func size(_ url: URL) throws -> Int { try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0 }
        let small = try files.filter { try size($0) < 100_000 }.prefix(2)
        let large = try XCTUnwrap(files.first { try size($0) > 1_000_000 })
        XCTAssertEqual(small.count, 2)
        try checkFullDisk(store: folder.appendingPathComponent("store-b"), catalog: folder.appendingPathComponent("b.sqlite"), options: [],
                          wrapper: ["/usr/bin/prlimit", "--fsize=400000"], files: [small.first!, large, small.last!], configuration: configuration)
    }

    /// The catalog on a 3 MiB tmpfs filled up after a first instance was stored: the same instance
    /// sent again cannot be indexed, is answered 0xA700, and the copy received before stays in the
    /// store under its name, as the catalog still describes it. Needs root (mount).
    func testAnInstanceThatCannotBeIndexedKeepsTheCopyReceivedBefore() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a tmpfs for the catalog") }
        let folder = try temporaryFolder()
        let mountPoint = folder.appendingPathComponent("catalog-fs")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard try tool("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint.path]).status == 0 else {
            throw XCTSkip("mount -t tmpfs refused")
        }
        defer { _ = try? tool("umount", [mountPoint.path]) }
        let store = folder.appendingPathComponent("store"), catalog = mountPoint.appendingPathComponent("node.sqlite")
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path])
        let file = try XCTUnwrap(try Self.imageFiles().first)
        let configuration = try storescuConfiguration(in: folder)
        func push() throws -> String {
            try tool("storescu", configuration + ["-v", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)", file.path]).output
        }
        XCTAssertTrue(try push().contains("Received Store Response (Success)"))
        let filler = mountPoint.appendingPathComponent("filler")
        _ = try tool("dd", ["if=/dev/zero", "of=\(filler.path)", "bs=64k"])  // until the tmpfs is full
        let refused = try push()
        XCTAssertTrue(refused.contains("Received Store Response (Refused: OutOfResources)"), refused)
        XCTAssertTrue(listener.log.contains("cannot index the instance into the catalog"), listener.log)
        XCTAssertTrue(listener.log.contains("the copy received before is kept"), listener.log)
        try FileManager.default.removeItem(at: filler)

        let stored = storedFiles(in: store)
        XCTAssertEqual(stored.count, 1, "the copy received before is still there, no backup left: \(stored)")
        let sent = try Part10(file)
        XCTAssertEqual(try stored.map { try Part10($0).dataset }, [sent.dataset])
        let indexed = try XCTUnwrap(try Catalog(path: catalog.path).instance(sopUID: sent.sopInstanceUID))
        XCTAssertEqual(indexed.path, stored.first?.path, "the catalog describes the file that is there")
        XCTAssertTrue(try push().contains("Received Store Response (Success)"), "room again: stored")
        XCTAssertEqual(listener.stop(), 0)
        XCTAssertEqual(storedFiles(in: store).count, 1)
        XCTAssertEqual(try count("instances", in: catalog), 1)
    }

    func checkFullDisk(store: URL, catalog: URL, options: [String], wrapper: [String], files: [URL], configuration: [String]) throws {
        let listener = try ListenerProcess(["--store", store.path, "--catalog", catalog.path] + options, wrapper: wrapper)
        let push = try tool("storescu", configuration + ["-v", "-nh", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"] + files.map(\.path))
        let successes = push.output.components(separatedBy: "Received Store Response (Success)").count - 1
        let refusals = push.output.components(separatedBy: "Received Store Response (Refused: OutOfResources)").count - 1
        XCTAssertEqual(successes + refusals, files.count, "every C-STORE answered, Success or 0xA700: \(push.output.suffix(3000))")
        XCTAssertGreaterThan(successes, 0, push.output)
        XCTAssertGreaterThan(refusals, 0, push.output)
        XCTAssertFalse(push.output.contains("Association Aborted"), push.output)
        XCTAssertEqual(try tool("echoscu", ["-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"]).status, 0, "still serving: \(listener.log)")
        XCTAssertEqual(listener.stop(), 0, listener.log)
        XCTAssertTrue(listener.log.contains("stopped: \(successes) instances stored"), listener.log)
        XCTAssertTrue(listener.log.contains(", \(refusals) refused;"), listener.log)
        let stored = storedFiles(in: store)
        XCTAssertEqual(stored.filter { $0.lastPathComponent.hasPrefix(".incoming-") }, [], "no partial file")
        XCTAssertEqual(stored.count, successes, "one file per instance answered Success")
        XCTAssertEqual(try count("instances", in: catalog), successes)
        XCTAssertEqual(try count("files", in: catalog), successes)
        // What was answered Success is whole: its dataset is the sent one, byte for byte.
        let sent = Dictionary(try files.map { (try Part10($0).sopInstanceUID, SHA256Hex.of(try Part10($0).dataset)) }, uniquingKeysWith: { a, _ in a })
        for file in stored {
            let got = try Part10(file)
            XCTAssertEqual(SHA256Hex.of(got.dataset), sent[got.sopInstanceUID], "\(file.path) is not whole")
        }
    }
}

/// One association made by hand on a TCP socket: the bytes of PS3.8 §9.3 (A-ASSOCIATE-RQ,
/// P-DATA-TF) written here, so that a test can send what no DICOM toolkit would (a PDU cut short).
final class HandMadeAssociation {
    private let fd: Int32

    /// Connects to 127.0.0.1:`port`, sends an A-ASSOCIATE-RQ with one presentation context (ID 1)
    /// and reads the answer; throws unless it is an A-ASSOCIATE-AC accepting the context.
    init(port: UInt16, calling: String, called: String, abstractSyntax: String, transferSyntax: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { Glibc.close(fd); throw ReferencePeer.Failure("cannot connect to port \(port)") }
        func ae(_ title: String) -> [UInt8] { Array(title.utf8) + [UInt8](repeating: 0x20, count: 16 - title.utf8.count) }
        let presentationContext = Self.item(0x20, [1, 0, 0, 0] + Self.item(0x30, Array(abstractSyntax.utf8)) + Self.item(0x40, Array(transferSyntax.utf8)))
        let userInformation = Self.item(0x50, Self.item(0x51, Self.be32(16384)) + Self.item(0x52, Array("1.2.826.0.1.3680043.10.1.99".utf8)))
        let body = [0x00, 0x01, 0x00, 0x00] + ae(called) + ae(calling) + [UInt8](repeating: 0, count: 32)
            + Self.item(0x10, Array("1.2.840.10008.3.1.1.1".utf8)) + presentationContext + userInformation
        try send([0x01, 0x00] + Self.be32(body.count) + body)
        let header = try receive(6)
        guard header[0] == 0x02 else {
            let rest = (try? receive(4)) ?? []
            close()
            throw ReferencePeer.Failure("not an A-ASSOCIATE-AC: PDU type \(header[0]) \(rest) (for an A-ASSOCIATE-RJ: reserved, result, source, reason)")
        }
        let answer = try receive(Int(header[2]) << 24 | Int(header[3]) << 16 | Int(header[4]) << 8 | Int(header[5]))
        // Items after the 68 fixed bytes: the presentation context item (0x21), result byte 0 = acceptance.
        var offset = 68, accepted = false
        while offset + 4 <= answer.count {
            let length = Int(answer[offset + 2]) << 8 | Int(answer[offset + 3])
            if answer[offset] == 0x21, offset + 6 < answer.count { accepted = answer[offset + 4] == 1 && answer[offset + 6] == 0 }
            offset += 4 + length
        }
        guard accepted else { close(); throw ReferencePeer.Failure("the presentation context was not accepted") }
    }

    deinit { close() }

    func close() { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ReferencePeer.Failure("send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    func receive(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count), got = 0
        while got < count {
            let n = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ReferencePeer.Failure("connection closed or timed out after \(got) of \(count) bytes") }
            got += n
        }
        return bytes
    }

    /// An item or sub-item: type, reserved byte, 2-byte big-endian length, value.
    static func item(_ type: UInt8, _ value: [UInt8]) -> [UInt8] { [type, 0x00] + be16(value.count) + value }
    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func be32(_ value: Int) -> [UInt8] { be16(value >> 16) + be16(value & 0xFFFF) }

    /// A P-DATA-TF with one PDV: message control header bit 0 = command, bit 1 = last fragment.
    static func pData(context: UInt8, command: Bool, last: Bool, _ fragment: [UInt8]) -> [UInt8] {
        let pdv = be32(fragment.count + 2) + [context, (command ? 1 : 0) | (last ? 2 : 0)] + fragment
        return [0x04, 0x00] + be32(pdv.count) + pdv
    }

    /// A C-STORE-RQ command set (PS3.7 §9.3.1.1), implicit VR little endian as every command is.
    static func cStoreRequest(sopClass: String, instance: String) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
        func element(_ tag: Int, _ value: [UInt8]) -> [UInt8] { le16(0x0000) + le16(tag) + le32(value.count) + value }
        func uid(_ text: String) -> [UInt8] { Array(text.utf8) + (text.utf8.count % 2 == 1 ? [0] : []) }
        let elements = element(0x0002, uid(sopClass)) + element(0x0100, le16(0x0001)) + element(0x0110, le16(1))
            + element(0x0700, le16(0)) + element(0x0800, le16(0x0000)) + element(0x1000, uid(instance))
        return element(0x0000, le32(elements.count)) + elements
    }
}
