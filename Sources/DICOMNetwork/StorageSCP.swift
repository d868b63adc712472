import CDCMTK
import Foundation
import SonoKitCore

/// The DICOM server side through DCMTK's dcmnet (`DcmSCPPool` of `DcmThreadSCP`s): Verification
/// (C-ECHO) and Storage (C-STORE) as a service class provider. Nothing here speaks the protocol.
///
/// Each association runs on a DCMTK worker thread (at most `maxAssociations` at once; one more is
/// rejected by DCMTK with A-ASSOCIATE-RJ, reason "local limit exceeded"). A C-STORE dataset is
/// received by DCMTK into a temporary file in `receiveFolder`, byte for byte as it came off the wire
/// with a Part 10 meta header, and handed to `Handlers.store`, whose status is the C-STORE response:
/// the response leaves only after the handler returned. A receive that fails (peer gone, timeout,
/// broken PDU) removes its temporary file. One `StorageSCP.listen` per process.
public enum StorageSCP {
    /// The storage SOP classes accepted: ultrasound (and its retired variants) and secondary
    /// capture (and its multi-frame variants). Every other SOP class is refused at association time
    /// (its presentation context is rejected: "abstract syntax not supported").
    public static let storageSOPClasses: [(uid: String, name: String)] = [
        ("1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.3.1", "Ultrasound Multi-frame Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.6", "Ultrasound Image Storage (Retired)"),
        ("1.2.840.10008.5.1.4.1.1.3", "Ultrasound Multi-frame Image Storage (Retired)"),
        ("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.7.1", "Multi-frame Single Bit Secondary Capture Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.7.2", "Multi-frame Grayscale Byte Secondary Capture Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.7.3", "Multi-frame Grayscale Word Secondary Capture Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.7.4", "Multi-frame True Color Secondary Capture Image Storage"),
    ]

    /// The transfer syntaxes accepted, in order of preference when a peer proposes several in one
    /// presentation context: exactly those SonoKit decodes (`TransferSyntax.isDecodable`), the
    /// compressed ones first so that a peer offering its file's own syntax is not asked to
    /// decompress. Any other (JPEG 2000, HTJ2K, MPEG, JPEG XL, ...) is refused at association time.
    public static let transferSyntaxes: [(uid: String, name: String)] = [
        ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
        ("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
        ("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
        ("1.2.840.10008.1.2.4.70", "JPEG Lossless, First-Order Prediction (Process 14 SV1)"),
        ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
        ("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"),
        ("1.2.840.10008.1.2.5", "RLE Lossless"),
        ("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
        ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
        ("1.2.840.10008.1.2.2", "Explicit VR Big Endian (Retired)"),
        ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ]

    /// The name of an accepted SOP class, or nil.
    public static func sopClassName(_ uid: String) -> String? {
        storageSOPClasses.first { $0.uid == uid }?.name
    }

    /// Our end: where we listen and what we allow.
    public struct Settings: Sendable, Equatable {
        public var aeTitle: String
        public var port: UInt16
        /// The largest PDU we receive, in bytes (0: DCMTK's default, 16 KiB; else 4096...131072).
        public var maxPDU: UInt32
        /// Associations served at once.
        public var maxAssociations: Int
        /// Seconds allowed for association negotiation and for each DIMSE message.
        public var timeoutSeconds: Int
        /// DICOM TLS only (`DicomTLS.listener`; a client CA demands client certificates); nil:
        /// plain TCP. The TLS handshake of each connection runs before its association request
        /// is read, on the accepting thread, bounded by min(timeoutSeconds, 10) s.
        public var tls: DicomTLS?
        /// A C-STORE arriving when the receive folder's filesystem has fewer bytes than this
        /// available is read without being written and answered 0xA700 (0: no check). Without such
        /// a reserve a full disk is still answered 0xA700 when DCMTK can read the rest of the
        /// dataset, but a write failing on the dataset's last PDV makes DCMTK 3.6.7 wait for data
        /// that never comes: the association is aborted at the DIMSE timeout.
        public var minFreeBytes: UInt64 = 0

        public init(aeTitle: String, port: UInt16, maxPDU: UInt32 = 0, maxAssociations: Int = 8, timeoutSeconds: Int = 30,
                    tls: DicomTLS? = nil) throws {
            if let tls, !tls.isListener { throw DicomNetworkError.tls("a requestor's TLS files given to a listener (use DicomTLS.listener)") }
            self.tls = tls
            self.aeTitle = try DicomPeer.validAETitle(aeTitle)
            guard port > 0 else { throw DicomNetworkError.invalidPeer("\(aeTitle)@:0", reason: "port 0 is not a port to listen on") }
            guard maxPDU == 0 || (4096...131_072).contains(maxPDU) else {
                throw DicomNetworkError.invalidSetting("the maximum PDU size \(maxPDU) is outside 4096...131072 bytes (DCMTK's limits)")
            }
            guard (1...1024).contains(maxAssociations) else {
                throw DicomNetworkError.invalidSetting("the number of concurrent associations \(maxAssociations) is outside 1...1024")
            }
            self.port = port
            self.maxPDU = maxPDU
            self.maxAssociations = maxAssociations
            self.timeoutSeconds = max(1, timeoutSeconds)
        }
    }

    /// What the listener asks of its owner. Called on DCMTK's worker threads, possibly at once.
    public struct Handlers: Sendable {
        /// Whether to accept an association (calling AE, called AE, peer IP); false rejects it
        /// with A-ASSOCIATE-RJ "calling AE title not recognized".
        public var accept: @Sendable (_ callingAE: String, _ calledAE: String, _ peerIP: String) -> Bool
        /// One received instance in a temporary file it now owns (to rename or remove); returns
        /// the C-STORE status.
        public var store: @Sendable (_ temporaryPath: String, _ sopClassUID: String, _ callingAE: String, _ peerIP: String) -> UInt16
        /// A line of DCMTK's about an association (abort, receive failure, DIMSE error).
        public var log: @Sendable (String) -> Void

        public init(accept: @escaping @Sendable (String, String, String) -> Bool,
                    store: @escaping @Sendable (String, String, String, String) -> UInt16,
                    log: @escaping @Sendable (String) -> Void) {
            self.accept = accept
            self.store = store
            self.log = log
        }
    }

    /// Listens on `settings.port` (all interfaces) until `stop()`; returns after the running
    /// associations have ended. Temporary files are received into `receiveFolder` (put it on the
    /// filesystem of the final files so that their rename is atomic). Throws when the port cannot
    /// be opened (in use, privileged) or the TLS files cannot be used (before listening).
    public static func listen(_ settings: Settings, receiveFolder: String, handlers: Handlers) throws {
        let box = Unmanaged.passRetained(HandlerBox(handlers))
        defer { box.release() }
        let sopClasses = storageSOPClasses.map { strdup($0.uid) }
        let syntaxes = transferSyntaxes.map { strdup($0.uid) }
        defer { (sopClasses + syntaxes).forEach { free($0) } }
        var error = SKError()
        stopRequested.withLock { $0 = false }
        let ok = settings.aeTitle.withCString { aeTitle in
            receiveFolder.withCString { folder in
                sopClasses.map { UnsafePointer($0) }.withUnsafeBufferPointer { classPointers in
                    syntaxes.map { UnsafePointer($0) }.withUnsafeBufferPointer { syntaxPointers in
                        var parameters = SKListenerParameters(
                            ae_title: aeTitle, port: settings.port, store_dir: folder, max_pdu: settings.maxPDU,
                            max_associations: UInt16(settings.maxAssociations), timeout_seconds: Int32(settings.timeoutSeconds),
                            sop_classes: classPointers.baseAddress, sop_class_count: classPointers.count,
                            transfer_syntaxes: syntaxPointers.baseAddress, transfer_syntax_count: syntaxPointers.count,
                            context: box.toOpaque(),
                            policy: { context, calling, called, ip in
                                let box = Unmanaged<HandlerBox>.fromOpaque(context!).takeUnretainedValue()
                                return box.handlers.accept(String(cString: calling!), String(cString: called!), String(cString: ip!)) ? 1 : 0
                            },
                            on_store: { context, path, sopClass, calling, ip in
                                let box = Unmanaged<HandlerBox>.fromOpaque(context!).takeUnretainedValue()
                                return box.handlers.store(String(cString: path!), String(cString: sopClass!), String(cString: calling!), String(cString: ip!))
                            },
                            log: { context, line in
                                let box = Unmanaged<HandlerBox>.fromOpaque(context!).takeUnretainedValue()
                                box.handlers.log(String(cString: line!))
                            },
                            tls: nil)
                        // A stop asked before DCMTK's loop started would be lost (the pool resets its
                        // run mode when it starts): repeat it until listen returns.
                        finished.withLock { $0 = false }
                        let stopper = Thread {
                            while !finished.withLock({ $0 }) {
                                if stopRequested.withLock({ $0 }) { sk_listener_stop() }
                                usleep(200_000)
                            }
                        }
                        stopper.start()
                        sk_listener_set_min_free_space(settings.minFreeBytes)
                        let result = settings.tls.withFiles { files -> Int32 in
                            parameters.tls = files
                            return sk_listen(&parameters, &error)
                        }
                        finished.withLock { $0 = true }
                        return result
                    }
                }
            }
        }
        guard ok == 1 else {
            throw DicomNetworkError.association(peer: "\(settings.aeTitle) on port \(settings.port)",
                                                detail: withUnsafeBytes(of: error.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
    }

    /// Stops the running `listen`: no new association is accepted; it returns within about a
    /// second after the running associations end. Safe from any thread (not a signal handler:
    /// route signals through a `DispatchSourceSignal`).
    public static func stop() {
        stopRequested.withLock { $0 = true }
        sk_listener_stop()
    }

    private static let stopRequested = Locked(false)
    private static let finished = Locked(true)

    private final class HandlerBox {
        let handlers: Handlers
        init(_ handlers: Handlers) { self.handlers = handlers }
    }
}
