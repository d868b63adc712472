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

    func validate() throws {
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        _ = try settings()
    }

    func settings() throws -> StorageSCU.Settings {
        do { return try StorageSCU.Settings(callingAETitle: aeTitle, timeoutSeconds: timeout) } catch let error as DicomNetworkError {
            throw ValidationError("--ae-title: \(error.description)")
        }
    }
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
