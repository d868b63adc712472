import ArgumentParser
import DICOMNetwork
import Foundation
import SonoKitCLI
import Workflows

/// `sonokit listen`: a DICOM node receiving studies (Storage SCP + Verification SCP).
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive DICOM instances over the network (C-STORE, C-ECHO) into a store and a catalog.",
        discussion: """
        A Storage SCP and Verification SCP on DCMTK's dcmnet. Accepts the ultrasound image storage
        SOP classes (US, US multi-frame and their retired variants) and secondary capture (and its
        multi-frame variants) in the transfer syntaxes SonoKit decodes; others are refused at
        association time. Each instance is written atomically to STORE/hh/H.dcm (H = SHA-256 of its
        Study, Series and SOP Instance UIDs), indexed into the catalog as `ingest` does, and only
        then answered Success; on a write or index error it is answered with a failure status and
        nothing is left. Logs one line per association and instance (no patient identifiers, no UIDs).
        SIGTERM or SIGINT: stop accepting, finish the running associations, exit 0.

        Example:
          sonokit listen --port 11112 --ae-title SONOKIT --store /srv/sonokit/store \\
            --catalog /srv/sonokit/catalog.sqlite --allow SCANNER1@10.0.0.7 --allow PACS@pacs.example.org

        Predict each study 30 s after its last instance arrived and send its SR to the PACS
        (README: "Predicting and sending results back"):
          sonokit listen --store /srv/sonokit/store --catalog /srv/sonokit/catalog.sqlite \\
            --predict /srv/sonokit/runs/exp1 --study-timeout 30s --forward-sr PACS@pacs.example.org:104
        """
    )
    @Option(help: "TCP port to listen on (all interfaces).") var port: Int = 11112
    @Option(name: .customLong("ae-title"), help: "Our AE title.") var aeTitle: String = "SONOKIT"
    @Option(help: "Folder the received instances are stored in (created if missing).") var store: String
    @Option(help: "The catalog to index them into (created if missing).") var catalog: String
    @Option(help: ArgumentHelp("A caller accepted, CALLING_AE@HOST (HOST an IP or a name); repeat for several. Without it every caller is accepted (with a warning).",
                               valueName: "AE@HOST"))
    var allow: [String] = []
    @Option(name: .customLong("max-associations"), help: "Associations served at once; one more is rejected (local limit exceeded).")
    var maxAssociations: Int = 8
    @Option(name: .customLong("max-pdu"), help: "Largest PDU we receive, bytes (4096-131072).") var maxPDU: Int = 65536
    @Option(name: .customLong("max-instance-size"), help: "Largest instance accepted, bytes; a larger one is answered 0xA700 and not kept.")
    var maxInstanceSize: Int64 = 1 << 30
    @Option(help: "Seconds allowed for association negotiation and each DIMSE message.") var timeout: Int = 30
    @Option(name: .customLong("min-free-space"), help: "Bytes the store's filesystem must have free for an instance to be received; below it, instances are answered 0xA700 (0: no check).")
    var minFreeSpace: UInt64 = 256 << 20
    @OptionGroup(title: "DICOM TLS") var tls: ListenTLSOptions
    @OptionGroup var node: ListenPredictOptions

    func validate() throws {
        _ = try options()
        if maxInstanceSize < 1 { throw ValidationError("--max-instance-size must be at least 1 byte") }
        _ = try node.queueOptions(store: store, catalog: catalog, ourAETitle: aeTitle, timeout: timeout)
    }

    func options() throws -> ListenWorkflow.Options {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535") }
        var settings: StorageSCP.Settings
        do {
            settings = try StorageSCP.Settings(aeTitle: aeTitle, port: UInt16(port), maxPDU: UInt32(clamping: max(0, maxPDU)),
                                               maxAssociations: maxAssociations, timeoutSeconds: timeout, tls: try tls.settings())
        } catch let error as DicomNetworkError {
            let option = "\(error)".contains("PDU") ? "--max-pdu" : "\(error)".contains("associations") ? "--max-associations" : "--ae-title"
            throw ValidationError("\(option): \(error.description)")
        }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        settings.minFreeBytes = minFreeSpace
        var allowList: AllowList?
        if !allow.isEmpty {
            do { allowList = try AllowList(parsing: allow) } catch let error as DicomNetworkError {
                throw ValidationError("--allow: \(error.description)")
            }
        }
        return ListenWorkflow.Options(settings: settings, store: store, catalog: catalog, allow: allowList, maxInstanceBytes: maxInstanceSize)
    }

    func run() throws {
        var listenOptions = try options()
        let queue = try node.queueOptions(store: store, catalog: catalog, ourAETitle: aeTitle, timeout: timeout)
            .map { NodeQueue($0) { line in print(line) } }
        if let queue {
            try workflow { try queue.start() }
            listenOptions.instanceStored = { studyUID, isNew in try queue.instanceStored(studyUID: studyUID, isNew: isNew) }
        }
        let listener = ListenWorkflow(listenOptions) { line in print(line) }
        // Past a file size limit (ulimit -f) a write fails with EFBIG, answered 0xA700, instead of
        // SIGXFSZ ending the node.
        signal(SIGXFSZ, SIG_IGN)
        // SIGTERM/SIGINT through dispatch sources (a signal handler may not take locks).
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                print("signal \(signalNumber): no new associations; finishing the running ones")
                ListenWorkflow.stop()
            }
            source.resume()
            sources.append(source)
        }
        _ = try workflow { try listener.run() }
        queue?.stop()
        sources.forEach { $0.cancel() }
        // Everything is durable now (each instance, queue state and report was committed before it
        // was answered or logged). End here, without C++ static destructors: DCMTK's globals (its
        // dictionary, logger, codec registry) are torn down by exit() while threads that DCMTK's
        // pool, GRDB or Dispatch started may still be winding down, and a node stopped by SIGTERM
        // twice ended in heap corruption there ("malloc(): unaligned fastbin chunk") after its
        // final "stopped:" line: its exit status would have told systemd that the stop failed.
        fflush(stdout)
        fflush(stderr)
        _exit(0)
    }
}

/// `listen --tls-cert CERT --tls-key KEY [--tls-ca CA]`: the listener speaks DICOM TLS only.
struct ListenTLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Our certificate (PEM); with --tls-key the listener speaks TLS only.", valueName: "CERT.pem"))
    var certificate: String?
    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The certificate's private key (PEM, unencrypted).", valueName: "KEY.pem"))
    var privateKey: String?
    @Option(name: .customLong("tls-ca"),
            help: ArgumentHelp("Mutual authentication: clients must present a certificate signed by this CA (PEM); others are refused in the TLS handshake.",
                               valueName: "CA.pem"))
    var ca: String?

    /// The listener's TLS, nil without --tls-*; the files are loaded and checked now (a usage
    /// error naming the file, before anything listens).
    func settings() throws -> DicomTLS? {
        switch (certificate, privateKey) {
        case (nil, nil):
            if ca != nil { throw ValidationError("--tls-ca needs --tls-cert and --tls-key (the listener's own certificate and key)") }
            return nil
        case (.some, nil): throw ValidationError("--tls-cert needs --tls-key (the certificate's private key)")
        case (nil, .some): throw ValidationError("--tls-key needs --tls-cert (the certificate it belongs to)")
        case let (.some(certificate), .some(privateKey)):
            let tls = DicomTLS.listener(certificate: certificate, privateKey: privateKey, clientCA: ca)
            try checkTLS(tls, options: [("--tls-cert", certificate), ("--tls-key", privateKey), ("--tls-ca", ca)])
            return tls
        }
    }
}
