import DICOMNetwork
import Foundation
import SonoKitTestSupport
import XCTest

/// DICOM TLS (dcmtls) on both ends, each against DCMTK's own tools as the independent peer:
/// our Storage SCU against `storescp +tls`, our Storage SCP against `echoscu +tls`. Certificates
/// are made by `openssl` for each test class run (TestCertificates).
final class TLSTests: XCTestCase {
    var certs: TestCertificates { try! TestCertificates.shared() }

    // MARK: The files, checked before any connection

    func testUnusableFilesAreReportedNamingTheFile() throws {
        func message(_ tls: DicomTLS) -> String {
            do { try tls.check(); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(.listener(certificate: certs.server.certificate, privateKey: certs.server.key, clientCA: certs.ca)), "")
        XCTAssertEqual(message(.client(serverCA: certs.ca)), "")
        XCTAssertEqual(message(.client(serverCA: certs.ca, certificate: certs.client.certificate, privateKey: certs.client.key)), "")

        let mismatched = message(.listener(certificate: certs.server.certificate, privateKey: certs.client.key))
        XCTAssertTrue(mismatched.contains(certs.client.key) && mismatched.contains("does not belong to the certificate"), mismatched)
        let missing = certs.folder.appendingPathComponent("missing.pem").path
        let unreadable = message(.listener(certificate: missing, privateKey: certs.server.key))
        XCTAssertTrue(unreadable.contains(missing) && unreadable.contains("cannot read the certificate"), unreadable)
        let garbage = try certs.file("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        let notPEM = message(.listener(certificate: garbage, privateKey: certs.server.key))
        XCTAssertTrue(notPEM.contains(garbage) && notPEM.contains("not a usable PEM certificate"), notPEM)
        let keyAsCA = message(.client(serverCA: certs.server.key))
        XCTAssertTrue(keyAsCA.contains(certs.server.key) && keyAsCA.contains("not a PEM file with CA certificates"), keyAsCA)
        let halfPair = message(.client(serverCA: certs.ca, certificate: certs.client.certificate))
        XCTAssertTrue(halfPair.contains("without its private key"), halfPair)
        // OpenSSL security level 2: an RSA 1024 certificate is not used.
        let weak = message(.listener(certificate: certs.weakClient.certificate, privateKey: certs.weakClient.key))
        XCTAssertTrue(weak.contains(certs.weakClient.certificate), weak)
        XCTAssertThrowsError(try StorageSCU.Settings(tls: .listener(certificate: certs.server.certificate, privateKey: certs.server.key)))
    }

    // MARK: Our SCU against storescp +tls

    /// `storescp +tls KEY CERT +cf CA` demanding a client certificate (its default, -rc).
    private func tlsStorescp(_ leaf: TestCertificates.Leaf, clientCA: String?, extra: [String] = []) throws -> ReferencePeer {
        var arguments = ["--aetitle", "REF", "+tls", leaf.key, leaf.certificate]
        if let clientCA { arguments += ["+cf", clientCA, "--require-peer-cert"] } else { arguments += ["--ignore-peer-cert"] }
        return try ReferencePeer("storescp", arguments + extra)
    }

    func testEchoAndStoreOverTLSWithMutualAuthenticationArriveByteIdentical() throws {
        let received = try temporaryFolder()
        let scp = try tlsStorescp(certs.server, clientCA: certs.ca,
                                  extra: ["+B", "-od", received.path] + StorescpConfiguration.arguments(writingInto: try temporaryFolder()))
        defer { scp.stop() }
        let peer = try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port)
        let settings = try StorageSCU.Settings(timeoutSeconds: 20, tls: .client(serverCA: certs.ca, certificate: certs.client.certificate, privateKey: certs.client.key))
        try StorageSCU.echo(peer, settings: settings)
        let files = Array(try StorageSCUTests.sampleFiles().prefix(12))
        let outcomes = try StorageSCU.store(files.map(\.path), to: peer, settings: settings)
        for outcome in outcomes { XCTAssertEqual(outcome.status, 0x0000, "\(outcome.path): \(outcome.message ?? "")") }
        scp.stop()
        let arrived = try FileManager.default.contentsOfDirectory(at: received, includingPropertiesForKeys: nil).map { try Part10($0) }
        XCTAssertEqual(arrived.count, files.count)
        let byUID = Dictionary(arrived.map { ($0.sopInstanceUID, $0) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let sent = try Part10(file)
            XCTAssertTrue(byUID[sent.sopInstanceUID]?.dataset == sent.dataset, "\(file.path) arrived changed or not at all")
        }
    }

    func testAServerWhoseCertificateIsNotSignedByOurCAIsRefused() throws {
        let scp = try tlsStorescp(certs.stranger, clientCA: nil)
        defer { scp.stop() }
        let peer = try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port)
        XCTAssertThrowsError(try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("REF@127.0.0.1:\(scp.port)"), text)
            XCTAssertTrue(text.contains("the server's certificate") && text.contains("stranger") && text.contains("not signed by the CA of \(certs.ca)"), text)
        }
        // A server whose certificate (signed by our CA) has expired.
        let stale = try tlsStorescp(certs.expired, clientCA: nil)
        defer { stale.stop() }
        XCTAssertThrowsError(try StorageSCU.echo(try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: stale.port),
                                                 settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))) { error in
            XCTAssertTrue("\(error)".contains("expired-scanner") && "\(error)".contains("certificate has expired"), "\(error)")
        }
        // The same server, trusted through its own CA: the refusal above was the CA, nothing else.
        try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.otherCA)))
    }

    /// The server's certificate must be issued for the host we connect to (its subjectAltName), as
    /// a browser checks: signed by our CA is not enough, or any certificate our CA issued to
    /// another machine would let that machine pose as the PACS.
    func testAServerWhoseCertificateIsForAnotherHostIsRefused() throws {
        let scp = try tlsStorescp(certs.misnamed, clientCA: nil)
        defer { scp.stop() }
        for host in ["127.0.0.1", "localhost"] {
            let peer = try DicomPeer(aeTitle: "REF", host: host, port: scp.port)
            XCTAssertThrowsError(try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("REF@\(host):\(scp.port)") && text.contains("pacs.example.org"), text)
                XCTAssertTrue(text.contains(host == "localhost" ? "hostname mismatch" : "IP address mismatch") && text.contains("not issued for \(host)"), text)
            }
        }
        // A certificate issued for the loopback is accepted by name and by address.
        let good = try tlsStorescp(certs.server, clientCA: nil)
        defer { good.stop() }
        for host in ["127.0.0.1", "localhost"] {
            try StorageSCU.echo(try DicomPeer(aeTitle: "REF", host: host, port: good.port), settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))
        }
    }

    func testAServerDemandingAClientCertificateRefusesUsWithoutOne() throws {
        let scp = try tlsStorescp(certs.server, clientCA: certs.ca)
        defer { scp.stop() }
        let peer = try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port)
        XCTAssertThrowsError(try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))) { error in
            XCTAssertTrue("\(error)".contains("over TLS") && "\(error)".contains("certificate"), "\(error)")
        }
        // A certificate from another CA is refused too.
        let stranger = DicomTLS.client(serverCA: certs.ca, certificate: certs.stranger.certificate, privateKey: certs.stranger.key)
        XCTAssertThrowsError(try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: stranger)))
    }

    func testTLSAgainstAPlainServerFailsSayingSo() throws {
        let scp = try ReferencePeer("storescp", ["--aetitle", "REF"])
        defer { scp.stop() }
        let peer = try DicomPeer(aeTitle: "REF", host: "127.0.0.1", port: scp.port)
        XCTAssertThrowsError(try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10, tls: .client(serverCA: certs.ca)))) { error in
            XCTAssertTrue("\(error)".contains("TLS handshake failed: the server closed the connection during the TLS handshake (a plain DICOM server"),
                          "\(error)")
        }
        try StorageSCU.echo(peer, settings: try .init(timeoutSeconds: 10))  // the plain server still serves
    }

    // MARK: Our SCP against echoscu +tls

    func testListenerWithMutualAuthenticationAcceptsOnlyClientsOfItsCA() throws {
        let listener = try InProcessListener(tls: .listener(certificate: certs.server.certificate, privateKey: certs.server.key, clientCA: certs.ca),
                                             refusedCallers: ["INTRUDER"])
        defer { listener.stop() }
        let good = try echoscu(listener.port, ["+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(listener.log.contains { $0.contains("TLS from 127.0.0.1") && $0.contains("scanner-1") }, "\(listener.log)")

        let stranger = try echoscu(listener.port, ["+tls", certs.stranger.key, certs.stranger.certificate, "+cf", certs.ca])
        XCTAssertNotEqual(stranger.status, 0)
        XCTAssertTrue(listener.waitForLog { $0.contains("TLS handshake with 127.0.0.1") && $0.contains("stranger") && $0.contains("not signed by the CA of \(self.certs.ca)") },
                      "\(listener.log)")
        let anonymous = try echoscu(listener.port, ["+tla", "+cf", certs.ca])
        XCTAssertNotEqual(anonymous.status, 0)
        XCTAssertTrue(listener.waitForLog { $0.contains("presented no certificate") }, "\(listener.log)")
        let expired = try echoscu(listener.port, ["+tls", certs.expired.key, certs.expired.certificate, "+cf", certs.ca])
        XCTAssertNotEqual(expired.status, 0)
        XCTAssertTrue(listener.waitForLog { $0.contains("expired-scanner") && $0.contains("certificate has expired") }, "\(listener.log)")
        let plain = try echoscu(listener.port, [])
        XCTAssertNotEqual(plain.status, 0)
        XCTAssertTrue(listener.waitForLog { $0.contains("does not speak TLS") }, "\(listener.log)")
        // The allow-list (here: the policy) still applies after a good handshake.
        let intruder = try echoscu(listener.port, ["-aet", "INTRUDER", "+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca])
        XCTAssertNotEqual(intruder.status, 0)
        XCTAssertTrue(intruder.stderr.contains("Association Rejected"), intruder.stderr)
        // And after every refusal the listener still serves.
        let again = try echoscu(listener.port, ["+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca])
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    func testListenerWithoutClientCAAsksForNoCertificate() throws {
        let listener = try InProcessListener(tls: .listener(certificate: certs.server.certificate, privateKey: certs.server.key))
        defer { listener.stop() }
        let anonymous = try echoscu(listener.port, ["+tla", "+cf", certs.ca])
        XCTAssertEqual(anonymous.status, 0, anonymous.stderr)
        XCTAssertTrue(listener.log.contains { $0.contains("TLS from 127.0.0.1") && $0.contains("no client certificate asked") }, "\(listener.log)")
        // A client ready to show a certificate is not asked for it (had we asked, it would be logged).
        let offering = try echoscu(listener.port, ["+tls", certs.client.key, certs.client.certificate, "+cf", certs.ca])
        XCTAssertEqual(offering.status, 0, offering.stderr)
        XCTAssertEqual(listener.log.filter { $0.contains("TLS from 127.0.0.1") && $0.contains("no client certificate asked") }.count, 2, "\(listener.log)")
        XCTAssertFalse(listener.log.contains { $0.contains("scanner-1") }, "\(listener.log)")
        // echoscu checks our certificate against its CA: another CA fails on the client's side.
        let distrustful = try echoscu(listener.port, ["+tla", "+cf", certs.otherCA])
        XCTAssertNotEqual(distrustful.status, 0)
    }

    /// TLS 1.2 or later only, and in TLS 1.2 only the BCP 195 AEAD suites with forward secrecy
    /// (DCMTK's Non-downgrading BCP 195 profile), as OpenSSL's own client sees it.
    func testListenerNegotiatesOnlyTLS12OrLaterWithBCP195Suites() throws {
        let listener = try InProcessListener(tls: .listener(certificate: certs.server.certificate, privateKey: certs.server.key))
        defer { listener.stop() }
        func sClient(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl", "s_client", "-connect", "127.0.0.1:\(listener.port)", "-CAfile", certs.ca] + arguments
            let output = try ChildProcess.run(process, input: Data(), timeout: 30)
            return output.stdout + output.stderr
        }
        let tls13 = try sClient(["-tls1_3"])
        XCTAssertTrue(tls13.contains("New, TLSv1.3") && tls13.contains("Verify return code: 0 (ok)"), tls13)
        let tls12 = try sClient(["-tls1_2"])
        XCTAssertTrue(tls12.range(of: "New, TLSv1.2, Cipher is (ECDHE|DHE)-RSA-AES(128|256)-GCM-SHA(256|384)", options: .regularExpression) != nil, tls12)
        let tls11 = try sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        XCTAssertTrue(tls11.contains("Cipher is (NONE)"), tls11)
        let cbc = try sClient(["-tls1_2", "-cipher", "AES128-SHA:ECDHE-RSA-AES128-SHA"])
        XCTAssertTrue(cbc.contains("Cipher is (NONE)"), cbc)
        XCTAssertTrue(listener.waitForLog { $0.contains("unsupported protocol") }, "\(listener.log)")
        XCTAssertTrue(listener.waitForLog { $0.contains("no shared cipher") }, "\(listener.log)")
    }

    /// A peer that opens TCP and says nothing holds the accepting thread at most the handshake
    /// bound (min(timeout, 10) s), then the listener serves the next client.
    func testASilentPeerIsCutOffAtTheHandshakeDeadline() throws {
        let listener = try InProcessListener(tls: .listener(certificate: certs.server.certificate, privateKey: certs.server.key), timeoutSeconds: 3)
        defer { listener.stop() }
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = listener.port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        XCTAssertTrue(connected)
        let start = Date()
        let next = try echoscu(listener.port, ["+tla", "+cf", certs.ca, "-to", "30"])
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 9, "served after the silent peer's 3 s deadline")
        XCTAssertTrue(listener.waitForLog { $0.contains("no complete TLS handshake") && $0.contains("within 3 s") }, "\(listener.log)")
    }

    // MARK: Helpers

    private func echoscu(_ port: UInt16, _ arguments: [String]) throws -> ChildProcess.Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["echoscu", "-aec", "SONOKIT"] + arguments + ["127.0.0.1", "\(port)"]
        return try ChildProcess.run(process, timeout: 60)
    }

    private func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-tls-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// `StorageSCP.listen` on a thread of the test process (one at a time), answering C-ECHO only
/// (C-STORE: removes the file, answers 0xA700), refusing the calling AE titles given, and
/// collecting its log lines.
final class InProcessListener: @unchecked Sendable {
    let port: UInt16
    private let lines = NSLock()
    private var collected: [String] = []
    private let done = DispatchSemaphore(value: 0)
    private var failure: String?

    init(tls: DicomTLS?, refusedCallers: Set<String> = [], timeoutSeconds: Int = 10) throws {
        port = try ReferencePeer.freePort()
        let settings = try StorageSCP.Settings(aeTitle: "SONOKIT", port: port, maxAssociations: 4, timeoutSeconds: timeoutSeconds, tls: tls)
        let folder = FileManager.default.temporaryDirectory.path
        let handlers = StorageSCP.Handlers(
            accept: { calling, _, _ in !refusedCallers.contains(calling) },
            store: { path, _, _, _ in unlink(path); return 0xA700 },
            log: { [weak self] line in self?.append(line) })
        let worker = Thread { [weak self] in
            do { try StorageSCP.listen(settings, receiveFolder: folder, handlers: handlers) } catch { self?.failure = "\(error)" }
            self?.done.signal()
        }
        worker.start()
        let start = Date()
        // Wait for the port without connecting to it (a probe would count as a failed handshake).
        while !Self.listening(on: port) {
            if let failure { throw ReferencePeer.Failure("the listener did not start: \(failure)") }
            guard Date().timeIntervalSince(start) < 20 else { throw ReferencePeer.Failure("the listener did not open port \(port) within 20 s") }
            usleep(20_000)
        }
    }

    var log: [String] { lines.lock(); defer { lines.unlock() }; return collected }

    /// Waits up to 10 s for a log line matching `predicate` (the listener logs on its own thread).
    func waitForLog(_ predicate: (String) -> Bool) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < 10 {
            if log.contains(where: predicate) { return true }
            usleep(50_000)
        }
        return false
    }

    func stop() {
        StorageSCP.stop()
        _ = done.wait(timeout: .now() + 30)
    }

    private func append(_ line: String) {
        lines.lock()
        collected.append(line)
        lines.unlock()
    }

    /// True when something listens on TCP `port` (from /proc/net/tcp: state 0A, LISTEN).
    static func listening(on port: UInt16) -> Bool {
        let hex = String(format: ":%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count > 3, fields[1].hasSuffix(hex), fields[3] == "0A" { return true }
            }
        }
        return false
    }
}
