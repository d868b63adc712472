import Foundation
import SonoKitTestSupport
import XCTest

/// `sonokit listen --tls-*`, `sonokit send/echo --tls-*` end to end, each against DCMTK's own
/// tools as the other side: `storescu +tls` / `echoscu +tls` pushing to our listener, our SCU
/// pushing to `storescp +tls`. Certificates made by `openssl` (TestCertificates).
final class ListenTLSTests: XCTestCase {
    var certs: TestCertificates { try! TestCertificates.shared() }

    /// SampleStudies' ultrasound images (the SOP classes `listen` accepts; not its SR and key
    /// object, the DICOMDIR, the CSVs), their SOP class read by dcmdump.
    private func ultrasoundFiles() throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: RepositoryPaths.sampleStudies, includingPropertiesForKeys: nil)!
        return try enumerator.compactMap { $0 as? URL }
            .filter { $0.lastPathComponent != "DICOMDIR" && (try? Part10($0)) != nil }
            .filter { try DCMTKTools.run("dcmdump", ["-M", "+P", "0002,0002", $0.path]).contains("=Ultrasound") }
            .sorted { $0.path < $1.path }
    }

    /// storescu's association configuration (`-xf FILE Push`): one presentation context per
    /// ultrasound SOP class and transfer syntax of SampleStudies, so every file goes in its own
    /// syntax in one association (storescu's -x options propose one compressed syntax at most).
    private func storescuConfiguration(in folder: URL) throws -> [String] {
        try StorescuConfiguration.arguments(writingInto: folder)
    }

    /// `sonokit listen` with mutual authentication, in the background (under `timeout`).
    private func tlsListener(store: URL, extra: [String] = []) throws -> ReferencePeer {
        try ReferencePeer(SonoKitCommand.executable.path,
                          ["listen", "--store", store.path, "--catalog", store.appendingPathComponent("catalog.sqlite").path,
                           "--tls-cert", certs.server.certificate, "--tls-key", certs.server.key, "--tls-ca", certs.ca, "--timeout", "10"]
                              + extra + ["--port"], deadline: 600)
    }

    private func dcmtk(_ tool: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> ChildProcess.Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        return try ChildProcess.run(process, timeout: timeout)
    }

    private func waitFor(_ listener: ReferencePeer, _ text: String) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < 10 {
            if listener.output.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    // MARK: storescu +tls -> sonokit listen --tls-*

    func testStorescuOverTLSStoresEveryFileByteIdenticalAndOthersAreRefused() throws {
        let store = try temporaryFolder()
        let listener = try tlsListener(store: store)
        defer { listener.stop() }
        let files = try ultrasoundFiles()
        XCTAssertEqual(files.count, 57, "SampleStudies: 57 ultrasound images in 11 transfer syntaxes")
        let push = try dcmtk("storescu", ["-aet", "SCANNER1", "-aec", "SONOKIT", "+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca]
                                 + (try storescuConfiguration(in: try temporaryFolder())) + ["127.0.0.1", "\(listener.port)"] + files.map(\.path),
                             timeout: 300)
        XCTAssertEqual(push.status, 0, push.stderr)
        XCTAssertTrue(waitFor(listener, "TLS from 127.0.0.1"), listener.output)
        XCTAssertTrue(listener.output.contains("scanner-1"), "the client certificate's subject is logged: \(listener.output)")

        // A client whose certificate another CA signed: refused in the handshake, logged, nothing stored.
        let stranger = try dcmtk("storescu", ["-aet", "SCANNER1", "-aec", "SONOKIT", "+tls", certs.stranger.key, certs.stranger.certificate,
                                              "+cf", certs.ca, "127.0.0.1", "\(listener.port)", files[0].path])
        XCTAssertNotEqual(stranger.status, 0)
        XCTAssertTrue(waitFor(listener, "not signed by the CA of \(certs.ca)"), listener.output)
        // A plain DICOM client: fails; the listener logs why and keeps serving.
        let plain = try dcmtk("echoscu", ["-aet", "SCANNER1", "-aec", "SONOKIT", "127.0.0.1", "\(listener.port)"])
        XCTAssertNotEqual(plain.status, 0)
        XCTAssertTrue(waitFor(listener, "does not speak TLS"), listener.output)
        let echo = try dcmtk("echoscu", ["-aet", "SCANNER1", "-aec", "SONOKIT", "+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca,
                                         "127.0.0.1", "\(listener.port)"])
        XCTAssertEqual(echo.status, 0, echo.stderr)
        XCTAssertTrue(waitFor(listener, "association from SCANNER1@127.0.0.1"), listener.output)
        let log = listener.output  // stop() removes the log
        listener.stop()

        // Every file sent is in the store under its hashed name, dataset byte for byte.
        var stored: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: store, includingPropertiesForKeys: nil)!
        for case let url as URL in enumerator where url.pathExtension == "dcm" {
            let file = try Part10(url)
            stored[file.sopInstanceUID] = file.dataset
        }
        XCTAssertEqual(stored.count, files.count, "one stored file per instance sent")
        for file in files {
            let sent = try Part10(file)
            XCTAssertTrue(stored[sent.sopInstanceUID] == sent.dataset, "\(file.lastPathComponent) stored changed or not at all")
        }
        // The stranger's instance (a copy of one already stored) was not received again: one "stored" line per file.
        let storedLines = log.split(separator: "\n").filter { $0.hasPrefix("stored ") }
        XCTAssertEqual(storedLines.count, files.count, log)
    }

    func testUnusableTLSFilesStopListenBeforeItListens() throws {
        let store = try temporaryFolder()
        let port = try ReferencePeer.freePort()
        let mismatched = try SonoKitCommand.run(["listen", "--port", "\(port)", "--store", store.path, "--catalog", store.appendingPathComponent("c.sqlite").path,
                                                 "--tls-cert", certs.server.certificate, "--tls-key", certs.client.key])
        XCTAssertNotEqual(mismatched.status, 0)
        XCTAssertTrue(mismatched.stderr.contains(certs.client.key) && mismatched.stderr.contains("does not belong"), mismatched.stderr)
        XCTAssertFalse(mismatched.stdout.contains("listening on port"), mismatched.stdout)
        let missing = store.appendingPathComponent("nowhere.pem").path
        let unreadable = try SonoKitCommand.run(["listen", "--port", "\(port)", "--store", store.path, "--catalog", store.appendingPathComponent("c.sqlite").path,
                                                 "--tls-cert", missing, "--tls-key", certs.server.key])
        XCTAssertNotEqual(unreadable.status, 0)
        XCTAssertTrue(unreadable.stderr.contains(missing), unreadable.stderr)
        let caAlone = try SonoKitCommand.run(["listen", "--port", "\(port)", "--store", store.path, "--catalog", store.appendingPathComponent("c.sqlite").path,
                                              "--tls-ca", certs.ca])
        XCTAssertNotEqual(caAlone.status, 0)
        XCTAssertTrue(caAlone.stderr.contains("--tls-ca needs --tls-cert and --tls-key"), caAlone.stderr)
    }

    // MARK: sonokit echo/send --tls-* -> storescp +tls

    func testSendAndEchoOverTLSToStorescp() throws {
        let received = try temporaryFolder()
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "+tls", certs.server.key, certs.server.certificate, "+cf", certs.ca,
                                                 "--require-peer-cert", "-od", received.path]
                                    + StorescpConfiguration.arguments(writingInto: try temporaryFolder()))
        defer { scp.stop() }
        let tls = ["--tls-ca", certs.ca, "--tls-cert", certs.client.certificate, "--tls-key", certs.client.key]
        let echo = try SonoKitCommand.run(["echo", "REF@127.0.0.1:\(scp.port)", "--timeout", "10"] + tls)
        XCTAssertEqual(echo.status, 0, echo.stderr)
        XCTAssertTrue(echo.stdout.contains("C-ECHO Success"), echo.stdout)
        let send = try SonoKitCommand.run(["send", RepositoryPaths.sampleStudies.path, "--to", "REF@127.0.0.1:\(scp.port)"] + tls)
        XCTAssertEqual(send.status, 0, send.stdout + send.stderr)
        XCTAssertTrue(send.stdout.contains("59 of 59 files stored"), send.stdout)
        // Without our certificate, storescp (demanding one) does not take us.
        let anonymous = try SonoKitCommand.run(["echo", "REF@127.0.0.1:\(scp.port)", "--timeout", "10", "--tls-ca", certs.ca])
        XCTAssertNotEqual(anonymous.status, 0)
        scp.stop()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: received.path).count, 59)
    }

    func testEchoRefusesAServerNotSignedByTheGivenCA() throws {
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF", "+tls", certs.stranger.key, certs.stranger.certificate, "--ignore-peer-cert"])
        defer { scp.stop() }
        let result = try SonoKitCommand.run(["echo", "REF@127.0.0.1:\(scp.port)", "--timeout", "10", "--tls-ca", certs.ca])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("REF@127.0.0.1:\(scp.port)") && result.stderr.contains("TLS handshake failed")
                      && result.stderr.contains("not signed by the CA of \(certs.ca)"), result.stderr)
    }

    func testTLSUsageErrorsNameTheOption() throws {
        let noCA = try SonoKitCommand.run(["echo", "REF@127.0.0.1:104", "--tls-cert", certs.client.certificate, "--tls-key", certs.client.key])
        XCTAssertNotEqual(noCA.status, 0)
        XCTAssertTrue(noCA.stderr.contains("need --tls-ca") && noCA.stderr.contains("never used unverified"), noCA.stderr)
        let halfPair = try SonoKitCommand.run(["send", RepositoryPaths.sampleStudies.path, "--to", "REF@127.0.0.1:104", "--tls-ca", certs.ca,
                                               "--tls-cert", certs.client.certificate])
        XCTAssertNotEqual(halfPair.status, 0)
        XCTAssertTrue(halfPair.stderr.contains("--tls-cert needs --tls-key"), halfPair.stderr)
        let badCA = try SonoKitCommand.run(["echo", "REF@127.0.0.1:104", "--tls-ca", certs.client.key])
        XCTAssertNotEqual(badCA.status, 0)
        XCTAssertTrue(badCA.stderr.contains(certs.client.key), badCA.stderr)
    }

    private func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-listen-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
