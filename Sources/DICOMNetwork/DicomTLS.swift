import CDCMTK
import Foundation

/// DICOM TLS (PS3.15 Annex B, secure transport connection) through DCMTK's dcmtls and OpenSSL:
/// the PEM files of one end of an association. Nothing here speaks TLS; DCMTK and OpenSSL do.
///
/// What every TLS connection of SonoKit uses: DCMTK's Non-downgrading BCP 195 profile (TLS 1.2
/// or 1.3 only; TLS 1.2 with the four ECDHE/DHE AES-GCM suites of BCP 195), OpenSSL security
/// level 2 (RSA and DH keys of at least 2048 bits, no SHA-1 certificate signatures).
///
/// What is verified: the peer's certificate chain up to `ca`, its validity dates and signatures
/// (OpenSSL's X.509 verification). Not verified: the host name or address in the certificate (as
/// in DCMTK's storescu/storescp): whoever holds a certificate signed by `ca` is trusted, so use a
/// CA that signs only DICOM nodes. Not checked: revocation (no CRL).
///
/// - A listener (`StorageSCP.Settings.tls`, `listener(...)`): its own certificate and key; with a
///   `ca`, every client must present a certificate signed by it (mutual authentication), and a
///   client without one is refused during the handshake (logged: address, reason); without a
///   `ca`, clients are not asked for certificates.
/// - A requestor (`StorageSCU.Settings.tls`, `client(...)`): the `ca` the server's certificate
///   must chain to is required (never an unverified TLS connection); a certificate and key
///   (together) are shown to a server that asks for one.
public struct DicomTLS: Sendable, Equatable {
    /// PEM: our certificate (optionally followed by intermediate certificates).
    public var certificate: String?
    /// PEM: the certificate's private key, unencrypted (a service has nobody to type a password).
    public var privateKey: String?
    /// PEM: the CA certificate(s) the peer's certificate must chain to.
    public var ca: String?
    /// Which end these files are for (the rules above differ).
    public var isListener: Bool

    /// A listener's TLS: its certificate and key; `clientCA` turns on mutual authentication.
    public static func listener(certificate: String, privateKey: String, clientCA: String? = nil) -> DicomTLS {
        DicomTLS(certificate: certificate, privateKey: privateKey, ca: clientCA, isListener: true)
    }

    /// A requestor's TLS: `serverCA` the server's certificate must chain to; a certificate and
    /// key (both or neither) for a server that demands one.
    public static func client(serverCA: String, certificate: String? = nil, privateKey: String? = nil) -> DicomTLS {
        DicomTLS(certificate: certificate, privateKey: privateKey, ca: serverCA, isListener: false)
    }

    /// Loads the files as DCMTK will when the connection is made, without touching the network:
    /// throws `DicomNetworkError.tls` naming the file that cannot be read, is not PEM, is an
    /// encrypted key, or a key that does not belong to the certificate; or the rule broken (a
    /// certificate without its key, a requestor without a CA).
    public func check() throws {
        var error = SKError()
        let ok = withFiles { files in sk_tls_check(files, isListener ? 1 : 0, &error) }
        guard ok == 1 else {
            throw DicomNetworkError.tls(withUnsafeBytes(of: error.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
    }

    /// Calls `body` with the C form of the files (valid only during the call).
    func withFiles<T>(_ body: (UnsafePointer<SKTLSFiles>) -> T) -> T {
        Self.withOptionalCString(certificate) { certificate in
            Self.withOptionalCString(privateKey) { key in
                Self.withOptionalCString(ca) { ca in
                    var files = SKTLSFiles(certificate: certificate, private_key: key, ca: ca)
                    return body(&files)
                }
            }
        }
    }

    private static func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}

extension Optional where Wrapped == DicomTLS {
    /// Calls `body` with the C form of the files, or nil for a plain TCP connection.
    func withFiles<T>(_ body: (UnsafePointer<SKTLSFiles>?) -> T) -> T {
        switch self {
        case .none: return body(nil)
        case .some(let tls): return tls.withFiles { body($0) }
        }
    }
}
