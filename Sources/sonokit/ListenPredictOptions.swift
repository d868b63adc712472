import ArgumentParser
import DICOMNetwork
import Foundation
import Workflows

/// The options of `listen` that make it predict completed studies and send the SRs back.
struct ListenPredictOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Predict each completed study with this trained run (as `sonokit predict --html --sr` would) and queue it in the catalog.",
                               valueName: "RUN_DIR"))
    var predict: String?
    @Option(name: .customLong("study-timeout"),
            help: ArgumentHelp("A study is complete when none of its instances has arrived for this long (e.g. 30s, 2m, 1.5s; default 30s).", valueName: "DURATION"))
    var studyTimeout: String?
    @Option(help: ArgumentHelp("Folder of the (pseudonymous) reports; default: STORE-predictions beside the store.", valueName: "DIR"))
    var out: String?
    @Option(name: .customLong("forward-sr"),
            help: ArgumentHelp("Send each study's SR (carrying the study's Patient and General Study modules) to this PACS by C-STORE, retrying with backoff.",
                               valueName: "AE@HOST:PORT"))
    var forwardSR: String?
    @Option(name: .customLong("forward-calling-ae"), help: "Our calling AE title towards the PACS (default: --ae-title).")
    var forwardCallingAE: String?
    @Option(name: .customLong("forward-tls-ca"),
            help: ArgumentHelp("Send the SRs over DICOM TLS; the PACS's certificate must be signed by this CA (PEM) and issued for the HOST of --forward-sr.", valueName: "CA.pem"))
    var forwardTLSCA: String?
    @Option(name: .customLong("forward-tls-cert"), help: ArgumentHelp("With --forward-tls-ca: our certificate (PEM), for a PACS that demands one.", valueName: "CERT.pem"))
    var forwardTLSCertificate: String?
    @Option(name: .customLong("forward-tls-key"), help: ArgumentHelp("With --forward-tls-cert: its private key (PEM, unencrypted).", valueName: "KEY.pem"))
    var forwardTLSKey: String?

    /// The forwarding's TLS (a requestor's, verified against --forward-tls-ca), nil without it;
    /// the files are loaded and checked now (a usage error naming the option and the file).
    func forwardTLS() throws -> DicomTLS? {
        try requestorTLS(ca: (forwardTLSCA, "--forward-tls-ca"), certificate: (forwardTLSCertificate, "--forward-tls-cert"),
                         key: (forwardTLSKey, "--forward-tls-key"), peer: "PACS")
    }

    /// The queue's options, nil without --predict; options that need --predict are refused without it.
    func queueOptions(store: String, catalog: String, ourAETitle: String, timeout: Int) throws -> NodeQueue.Options? {
        guard let run = predict else {
            for (given, name) in [(studyTimeout, "--study-timeout"), (out, "--out"), (forwardSR, "--forward-sr"), (forwardCallingAE, "--forward-calling-ae"),
                                  (forwardTLSCA, "--forward-tls-ca"), (forwardTLSCertificate, "--forward-tls-cert"), (forwardTLSKey, "--forward-tls-key")]
            where given != nil {
                throw ValidationError("\(name) applies only with --predict RUN_DIR")
            }
            return nil
        }
        for (given, name) in [(forwardCallingAE, "--forward-calling-ae"), (forwardTLSCA, "--forward-tls-ca"),
                              (forwardTLSCertificate, "--forward-tls-cert"), (forwardTLSKey, "--forward-tls-key")] where given != nil && forwardSR == nil {
            throw ValidationError("\(name) applies only with --forward-sr")
        }
        var seconds: TimeInterval = 30
        if let studyTimeout {
            guard let parsed = Self.duration(studyTimeout), parsed > 0 else {
                throw ValidationError("--study-timeout \(studyTimeout): give a positive duration such as 30s, 2m or 1.5s")
            }
            seconds = parsed
        }
        var peer: DicomPeer? = nil
        var settings = try StorageSCU.Settings(timeoutSeconds: timeout)
        if let forwardSR {
            do { peer = try DicomPeer(parsing: forwardSR) } catch let error as DicomNetworkError {
                throw ValidationError("--forward-sr \(forwardSR): \(error.description)")
            }
            let tls = try forwardTLS()
            do { settings = try StorageSCU.Settings(callingAETitle: forwardCallingAE ?? ourAETitle, timeoutSeconds: timeout, tls: tls) } catch let error as DicomNetworkError {
                throw ValidationError("\(forwardCallingAE == nil ? "--ae-title" : "--forward-calling-ae"): \(error.description)")
            }
        }
        let folder = (store as NSString).standardizingPath
        let output = out ?? ((folder as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent((folder as NSString).lastPathComponent + "-predictions")
        let outputPath = (output as NSString).standardizingPath
        if outputPath == folder || outputPath.hasPrefix(folder + "/") {
            throw ValidationError("--out \(output): inside the store; the reports folder must be outside it (the store holds identifiers)")
        }
        return NodeQueue.Options(runDirectory: run, output: output, store: store, catalog: catalog, studyTimeout: seconds,
                                 forward: peer, forwardSettings: settings)
    }

    /// "30s", "2m", "1h", "500ms" or a plain number of seconds.
    static func duration(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where t.hasSuffix(suffix) {
            return Double(t.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(t)
    }
}
