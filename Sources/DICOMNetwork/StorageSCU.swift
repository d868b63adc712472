import CDCMTK
import Foundation

/// The DICOM client side through DCMTK's dcmnet (`DcmSCU`): Verification (C-ECHO) and Storage
/// (C-STORE) as a service class user. Nothing here speaks the protocol itself.
///
/// Files go as they are stored: each (SOP class, transfer syntax) pair of the files is proposed
/// in its own presentation context with only that transfer syntax, so the peer receives the
/// dataset without transcoding, or refuses that file (reported in its outcome).
public enum StorageSCU {
    /// Our end of an association.
    public struct Settings: Sendable, Equatable {
        /// The calling AE title (ours).
        public var callingAETitle: String
        /// Seconds allowed for the TCP connect, association negotiation and each DIMSE message.
        public var timeoutSeconds: Int
        /// The largest PDU we accept (0: DCMTK's default, 16 KiB).
        public var maxPDU: UInt32
        /// DICOM TLS (`DicomTLS.client`: the CA the server's certificate must chain to, our
        /// certificate and key if the server asks); nil: plain TCP.
        public var tls: DicomTLS?

        /// Throws when the AE title is not one, or when `tls` is not a requestor's TLS.
        public init(callingAETitle: String = "SONOKIT", timeoutSeconds: Int = 30, maxPDU: UInt32 = 0, tls: DicomTLS? = nil) throws {
            self.callingAETitle = try DicomPeer.validAETitle(callingAETitle)
            self.timeoutSeconds = max(1, timeoutSeconds)
            self.maxPDU = maxPDU
            if let tls, tls.isListener { throw DicomNetworkError.tls("a listener's TLS files given to a requestor (use DicomTLS.client)") }
            self.tls = tls
        }
    }

    /// What became of one file of `store`.
    public struct Outcome: Sendable, Equatable {
        public var path: String
        /// The C-STORE response status, nil when the file was not sent or no response came back.
        public var status: UInt16?
        /// Why the file was not stored, or what a non-Success status means; nil on Success.
        public var message: String?

        /// True for Success (0x0000) and the warnings (0xB000, 0xB006, 0xB007, 0x0001): the peer kept the instance.
        public var stored: Bool {
            guard let status else { return false }
            return status == 0x0000 || status == 0x0001 || (status & 0xF000) == 0xB000
        }
    }

    /// Opens an association with `peer` proposing Verification, sends one C-ECHO and releases.
    /// Throws `DicomNetworkError.association` when the peer cannot be reached, rejects the
    /// association, fails the TLS handshake (the message says why: e.g. its certificate is not
    /// signed by `settings.tls`'s CA) or does not answer Success.
    public static func echo(_ peer: DicomPeer, settings: Settings) throws {
        var error = SKError()
        let ok = withParameters(peer, settings) { sk_echo($0, &error) }
        guard ok == 1 else { throw DicomNetworkError.association(peer: peer.description, detail: message(of: error)) }
    }

    /// Sends `paths` over one association and returns one outcome per path, in order. Files the
    /// peer refused or that are not DICOM Part 10 have `status == nil` and a message. Throws
    /// when the association cannot be made or breaks; `partial` then holds what was known.
    public static func store(_ paths: [String], to peer: DicomPeer, settings: Settings) throws -> [Outcome] {
        guard !paths.isEmpty else { return [] }
        var outcomes = [SKStoreOutcome](repeating: SKStoreOutcome(), count: paths.count)
        var error = SKError()
        let cPaths = paths.map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        let ok = withParameters(peer, settings) { parameters in
            cPaths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pointers in
                sk_store_files(parameters, pointers.baseAddress, paths.count, &outcomes, &error)
            }
        }
        let result = zip(paths, outcomes).map { path, outcome -> Outcome in
            let text = withUnsafeBytes(of: outcome.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            return Outcome(path: path, status: outcome.sent == 1 ? outcome.status : nil, message: text.isEmpty ? nil : text)
        }
        guard ok == 1 else {
            throw StoreFailure(error: .association(peer: peer.description, detail: message(of: error)), partial: result)
        }
        return result
    }

    /// An association that could not be made or broke during `store`, with the outcomes so far.
    public struct StoreFailure: Error, CustomStringConvertible {
        public var error: DicomNetworkError
        public var partial: [Outcome]
        public var description: String { error.description }
    }

    private static func withParameters<T>(_ peer: DicomPeer, _ settings: Settings, _ body: (UnsafePointer<SKAssociationParameters>) -> T) -> T {
        settings.callingAETitle.withCString { calling in
            peer.aeTitle.withCString { called in
                peer.host.withCString { host in
                    settings.tls.withFiles { tls in
                        var parameters = SKAssociationParameters(calling_ae: calling, called_ae: called, host: host, port: peer.port,
                                                                 timeout_seconds: Int32(settings.timeoutSeconds), max_pdu: settings.maxPDU,
                                                                 tls: tls)
                        return body(&parameters)
                    }
                }
            }
        }
    }

    private static func message(of error: SKError) -> String {
        withUnsafeBytes(of: error.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
