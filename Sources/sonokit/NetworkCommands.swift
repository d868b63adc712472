import ArgumentParser
import DICOMNetwork
import Foundation
import SonoKitCLI
import Workflows

/// Our end of an association, shared by `send` and `echo`.
struct AssociationOptions: ParsableArguments {
    @Option(name: .customLong("ae-title"), help: "Our (calling) AE title.")
    var aeTitle: String = "SONOKIT"

    @Option(help: "Seconds allowed for connecting, negotiating and each DIMSE message.")
    var timeout: Int = 30

    @Option(name: .customLong("tls-ca"),
            help: ArgumentHelp("DICOM TLS: the CA certificate (PEM) the peer's certificate must be signed by; the certificate must also be issued for the peer's HOST. Turns TLS on (TLS is never used unverified).",
                               valueName: "CA.pem"))
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("With --tls-ca: our certificate (PEM), for a peer that demands one.", valueName: "CERT.pem"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("With --tls-cert: its private key (PEM, unencrypted).", valueName: "KEY.pem"))
    var tlsKey: String?

    func validate() throws {
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        _ = try settings()
    }

    func settings() throws -> StorageSCU.Settings {
        let tls = try tlsSettings()
        do { return try StorageSCU.Settings(callingAETitle: aeTitle, timeoutSeconds: timeout, tls: tls) } catch let error as DicomNetworkError {
            throw ValidationError("--ae-title: \(error.description)")
        }
    }

    /// TLS when --tls-ca is given (its files loaded and checked now, a usage error naming the file).
    func tlsSettings() throws -> DicomTLS? {
        try requestorTLS(ca: (tlsCA, "--tls-ca"), certificate: (tlsCertificate, "--tls-cert"), key: (tlsKey, "--tls-key"), peer: "peer")
    }
}

/// A requestor's TLS from its three options, each given with the name the command spells it:
/// none without the CA (and the certificate and key then refused: TLS is never used unverified);
/// the certificate and key only together; the files loaded and checked now (a usage error naming
/// the option and the file). `peer` names whose certificate the CA must have signed.
func requestorTLS(ca: (path: String?, option: String), certificate: (path: String?, option: String), key: (path: String?, option: String),
                  peer: String) throws -> DicomTLS? {
    if certificate.path != nil && key.path == nil { throw ValidationError("\(certificate.option) needs \(key.option) (the certificate's private key)") }
    if key.path != nil && certificate.path == nil { throw ValidationError("\(key.option) needs \(certificate.option) (the certificate it belongs to)") }
    guard let caPath = ca.path else {
        if certificate.path != nil {
            throw ValidationError("\(certificate.option) and \(key.option) need \(ca.option) (the CA the \(peer)'s certificate must be signed by): TLS is never used unverified")
        }
        return nil
    }
    let tls = DicomTLS.client(serverCA: caPath, certificate: certificate.path, privateKey: key.path)
    try checkTLS(tls, options: [(ca.option, caPath), (certificate.option, certificate.path), (key.option, key.path)])
    return tls
}

/// Parses `AE@HOST:PORT` for an option or argument, as a usage error naming the option.
func parsePeer(_ text: String, option: String) throws -> DicomPeer {
    do { return try DicomPeer(parsing: text) } catch let error as DicomNetworkError {
        throw ValidationError("\(option): \(error.description)")
    }
}

/// `sonokit echo`: checks that a DICOM peer answers (Verification, C-ECHO).
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a C-ECHO to a DICOM peer (is it there, does it accept our AE title).",
        discussion: """
        Exits 0 when the peer accepted the association and answered Success, 1 otherwise.

        Example:
          sonokit echo PACS@10.0.0.5:104 --ae-title SONOKIT
        """
    )
    @Argument(help: "The peer, AE@HOST:PORT.") var peer: String
    @OptionGroup var association: AssociationOptions

    func validate() throws { _ = try parsePeer(peer, option: "peer") }

    func run() throws {
        let target = try parsePeer(peer, option: "peer")
        let seconds = try workflow { try SendWorkflow.echo(target, settings: try association.settings()) }
        print("\(target): C-ECHO Success (\(String(format: "%.0f", seconds * 1000)) ms)")
    }
}

/// `sonokit send`: pushes DICOM files to a peer with C-STORE (Storage SCU).
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send DICOM files to a DICOM peer with C-STORE (Storage SCU).",
        discussion: """
        Folders are searched recursively for DICOM Part 10 files (DICOMDIRs and other files are
        skipped). Each file goes in its own transfer syntax, unchanged; a file whose SOP class or
        transfer syntax the peer does not accept is reported and the others still go. Prints one
        line per file not stored and a summary; exits 1 when any file was not stored.

        Example:
          sonokit send SampleStudies --to PACS@10.0.0.5:104 --ae-title SONOKIT
        """
    )
    @Argument(help: "DICOM files or folders.") var inputs: [String]
    @Option(help: "The peer, AE@HOST:PORT.") var to: String
    @OptionGroup var association: AssociationOptions

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("name at least one file or folder to send") }
        _ = try parsePeer(to, option: "--to")
    }

    func run() throws {
        let options = SendWorkflow.Options(inputs: inputs, peer: try parsePeer(to, option: "--to"), settings: try association.settings())
        let events = WorkflowEvents(progress: { _, done, total, _, _ in print("send: \(done)/\(total) files") })
        let result = try workflow { try SendWorkflow(options, events: events).run() }
        for outcome in result.failed { print("not stored: \(outcome.path): \(outcome.message ?? "no response")") }
        let megabytes = Double(result.outcomes.filter(\.stored).reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }) / 1_048_576
        print("\(options.peer): \(result.stored) of \(result.outcomes.count) files stored (\(result.warnings) with a warning status), "
              + "\(result.failed.count) not stored, \(result.skipped) skipped; \(String(format: "%.2f", result.seconds)) s, "
              + "\(String(format: "%.1f", megabytes / max(result.seconds, 1e-9))) MB/s")
        if !result.failed.isEmpty { throw ExitCode(1) }
    }
}

/// Loads and checks TLS files now (`DicomTLS.check`), as a usage error that names the option whose
/// file is wrong (the check's message starts with the file).
func checkTLS(_ tls: DicomTLS, options: [(name: String, path: String?)]) throws {
    do { try tls.check() } catch let error as DicomNetworkError {
        guard case .tls(let message) = error else { throw ValidationError(error.description) }
        let option = options.first { $0.path.map { message.hasPrefix($0 + ":") } ?? false }?.name ?? "--tls-*"
        throw ValidationError("\(option): \(message)")
    }
}
