import Foundation

/// The certificates of a DICOM TLS test, made at test time with the `openssl` command-line tool
/// (scripts/setup.sh installs it) in a temporary folder: two independent CAs and leaf
/// certificates (RSA 2048, SHA-256, 100 years) for a server and clients.
///
/// - `ca`: the test's CA; `server` and `client` are signed by it.
/// - `otherCA`: a second CA; `stranger` is signed by it, so nothing that trusts `ca` accepts it.
/// - `weakClient`: an RSA 1024 certificate signed by `ca` (refused by OpenSSL security level 2).
/// - `expired`: signed by `ca`, valid until yesterday.
/// - `misnamed`: signed by `ca`, issued for the host pacs.example.org only.
/// Every other leaf is issued for this machine's loopback (subjectAltName DNS:localhost,
/// IP:127.0.0.1, IP:::1), the host a test connects to. Each leaf has `.pem` (certificate) and `.key` (unencrypted private key) paths.
public final class TestCertificates {
    public struct Leaf {
        public let certificate: String
        public let key: String
    }

    public let folder: URL
    public let ca: String
    public let otherCA: String
    public let server: Leaf
    public let client: Leaf
    public let stranger: Leaf
    public let weakClient: Leaf
    public let expired: Leaf
    public let misnamed: Leaf

    /// Makes every certificate in a new temporary folder (each openssl run has a 60 s deadline).
    public init() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-tls-\(UUID().uuidString)")
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func extensions(hosts: String) throws -> URL {
            let file = folder.appendingPathComponent("leaf-\(UUID().uuidString).ext")
            try "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=\(hosts)\n"
                .write(to: file, atomically: true, encoding: .utf8)
            return file
        }
        let loopback = try extensions(hosts: "DNS:localhost,IP:127.0.0.1,IP:::1")
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        func makeCA(_ name: String, _ commonName: String) throws -> String {
            try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "36500", "-subj", "/O=SonoKit tests/CN=\(commonName)",
                              "-keyout", path("\(name).key"), "-out", path("\(name).pem")])
            return path("\(name).pem")
        }
        func makeLeaf(_ name: String, _ commonName: String, signedBy caName: String, bits: Int = 2048, days: Int = 36500, extensions: URL? = nil) throws -> Leaf {
            try Self.openssl(["req", "-newkey", "rsa:\(bits)", "-nodes", "-sha256", "-subj", "/O=SonoKit tests/CN=\(commonName)",
                              "-keyout", path("\(name).key"), "-out", path("\(name).csr")])
            try Self.openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(caName).pem"), "-CAkey", path("\(caName).key"),
                              "-CAcreateserial", "-days", "\(days)", "-sha256", "-extfile", (extensions ?? loopback).path, "-out", path("\(name).pem")])
            return Leaf(certificate: path("\(name).pem"), key: path("\(name).key"))
        }
        ca = try makeCA("ca", "SonoKit Test CA")
        otherCA = try makeCA("other-ca", "Other Test CA")
        server = try makeLeaf("server", "sonokit-node", signedBy: "ca")
        client = try makeLeaf("client", "scanner-1", signedBy: "ca")
        stranger = try makeLeaf("stranger", "stranger", signedBy: "other-ca")
        weakClient = try makeLeaf("weak", "weak-scanner", signedBy: "ca", bits: 1024)
        expired = try makeLeaf("expired", "expired-scanner", signedBy: "ca", days: -1)
        misnamed = try makeLeaf("misnamed", "pacs.example.org", signedBy: "ca", extensions: try extensions(hosts: "DNS:pacs.example.org"))
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// One set per test process, made on first use and removed when the process exits: every TLS
    /// test class of the process uses the same certificates (each set costs a dozen openssl runs).
    public static func shared() throws -> TestCertificates { try sharedSet.get() }

    private static let sharedSet: Result<TestCertificates, Error> = Result {
        let certificates = try TestCertificates()
        sharedFolder = certificates.folder.path
        atexit { if let folder = TestCertificates.sharedFolder { try? FileManager.default.removeItem(atPath: folder) } }
        return certificates
    }
    nonisolated(unsafe) private static var sharedFolder: String?

    /// A file in the folder with `text` in it (a broken PEM, say).
    public func file(_ name: String, _ text: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let output = try ChildProcess.run(process, timeout: 60)
        guard output.status == 0 else {
            throw ReferencePeer.Failure("openssl \(arguments.joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
        }
    }
}
