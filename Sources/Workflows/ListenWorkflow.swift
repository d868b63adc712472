import Catalog
import DICOM
import DICOMNetwork
import Foundation
import SonoKitCore

/// `listen`: a DICOM node's receiving side. A Storage SCP and Verification SCP on DCMTK's dcmnet
/// (DICOMNetwork.StorageSCP) whose every received instance is made durable in the store and
/// indexed into the catalog exactly as `ingest` indexes one file, before the C-STORE is answered.
///
/// One instance, in order:
/// 1. DCMTK receives the dataset into `STORE/.incoming-*.part` (bit-preserving, with meta header).
///    Below `settings.minFreeBytes` free in the store, it reads the dataset into /dev/null instead
///    and answers 0xA700; a write that fails (disk full, file size limit) or a file shorter than
///    the dataset received is removed and answered 0xA700 there too (CDCMTKNetwork.h). Those
///    refusals reach this workflow only as log lines ending "(status 0xA700)", counted as refused;
///    associations DCMTK's pool rejects over `maxAssociations`, as lines ending "(A-ASSOCIATE-RJ:
///    local limit exceeded)", counted as rejected.
/// 2. Larger than `maxInstanceBytes`: removed, answered 0xA700 (Refused: Out of Resources).
/// 3. Its header is read as `ingest` reads it (`FileScan`); not a usable DICOM instance (no UIDs,
///    unreadable): removed, answered 0xC000 (Error: Cannot Understand); nothing is indexed.
/// 4. Named `STORE/hh/H.dcm`, H = SHA-256 hex of "StudyUID\SeriesUID\SOPInstanceUID" (hh its first
///    two digits): never a path built from attribute values. fsync of the file, rename over any
///    previous copy of the same instance, fsync of the folder.
/// 5. Indexed as `ingest` indexes a file (`Catalog.index(receivedFile:scan:)`, one transaction,
///    its cost independent of the catalog's size). On a write or index error the file is removed and
///    the answer is 0xA700; nothing partial remains (the transaction did not commit), and a copy
///    of the same instance received before is put back (it is what the catalog still describes).
/// 6. Answered 0x0000 Success.
///
/// Logs (one line each) say who connected (calling AE, peer address), what was stored (SOP class
/// name, the first 16 hex digits of H, bytes), what was refused and why; never a patient's name,
/// ID or birth date, nor a UID in clear.
public final class ListenWorkflow: @unchecked Sendable {
    public struct Options: Sendable {
        public var settings: StorageSCP.Settings
        /// The store folder (created if missing).
        public var store: String
        /// The catalog (created if missing), as for `ingest`.
        public var catalog: String
        /// Callers accepted; nil accepts every caller (with a warning in the log).
        public var allow: AllowList?
        /// Instances larger than this (bytes, as received with their meta header) are refused.
        public var maxInstanceBytes: Int64
        /// Called after an instance was indexed and before it is answered (`listen --predict`
        /// queues its study): the study's UID and whether the instance is new (its SOP Instance
        /// UID was not indexed before). A throw answers 0xA700 (the instance stays indexed; the
        /// sender's retry calls this again).
        public var instanceStored: (@Sendable (_ studyUID: String, _ isNew: Bool) throws -> Void)? = nil

        public init(settings: StorageSCP.Settings, store: String, catalog: String, allow: AllowList?, maxInstanceBytes: Int64) {
            self.settings = settings
            self.store = store
            self.catalog = catalog
            self.allow = allow
            self.maxInstanceBytes = maxInstanceBytes
        }
    }

    /// What the listener did before it stopped.
    public struct Result: Sendable {
        public var associationsAccepted = 0
        public var associationsRejected = 0
        public var instancesStored = 0
        public var instancesRefused = 0
        public var bytesStored: Int64 = 0
    }

    public let options: Options
    private let log: @Sendable (String) -> Void
    private let counts = NSLock()
    private var result = Result()
    private var catalog: Catalog?
    /// Stores of one instance (one key) run one at a time: two associations sending the same
    /// instance at once would otherwise interleave rename and index, and the one whose index
    /// failed would remove the file the other had just indexed. 64 stripes by the key's first
    /// two hex digits.
    private let keyLocks = (0..<64).map { _ in NSLock() }

    /// `log` receives every log line (it is called from several threads, one line at a time).
    public init(_ options: Options, log: @escaping @Sendable (String) -> Void) {
        self.options = options
        let lock = NSLock()
        self.log = { line in lock.lock(); log(line); lock.unlock() }
    }

    /// Opens the store and catalog and serves until `ListenWorkflow.stop()` (SIGTERM/SIGINT in the
    /// command); returns after the running associations have ended.
    public func run() throws -> Result {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: options.store, withIntermediateDirectories: true) } catch {
            throw WorkflowError.invalidInput("--store \(options.store): cannot create the folder: \(error.localizedDescription)")
        }
        // A receive cut by kill -9 leaves its temporary file: never indexed, removed here.
        let stale = ((try? fm.contentsOfDirectory(atPath: options.store)) ?? []).filter { $0.hasPrefix(".incoming-") && $0.hasSuffix(".part") }
        for name in stale { try? fm.removeItem(atPath: options.store + "/" + name) }
        if !stale.isEmpty { log("removed \(stale.count) incomplete receive(s) left by an earlier run") }
        do { catalog = try Catalog(path: options.catalog) } catch {
            throw WorkflowError.invalidInput("--catalog \(options.catalog): \(error)")
        }
        if options.allow == nil {
            log("warning: no --allow given: every calling AE title from every host is accepted")
        }
        let settings = options.settings
        log("listening on port \(settings.port) as \(settings.aeTitle): \(StorageSCP.storageSOPClasses.count) storage SOP classes, "
            + "\(StorageSCP.transferSyntaxes.count) transfer syntaxes, at most \(settings.maxAssociations) associations at once"
            + (settings.minFreeBytes > 0 ? ", instances refused while the store has less than \(settings.minFreeBytes) bytes free" : ""))
        if let tls = settings.tls {
            log("DICOM TLS only (TLS 1.2+, DCMTK's Non-downgrading BCP 195 profile), certificate \(tls.certificate ?? "?"); "
                + (tls.ca.map { "mutual authentication: clients must present a certificate signed by \($0)" } ?? "clients are not asked for certificates"))
        }
        let handlers = StorageSCP.Handlers(
            accept: { [self] calling, called, ip in accept(calling: calling, called: called, ip: ip) },
            store: { [self] path, sopClass, calling, ip in store(path, sopClass: sopClass, calling: calling, ip: ip) },
            // DCMTK's side answers 0xA700 itself when the store has no room or a write fails
            // (its line says so): those count as refused.
            log: { [self] line in
                if line.hasSuffix("(status 0xA700)") { tally { $0.instancesRefused += 1 } }
                if line.hasSuffix("(A-ASSOCIATE-RJ: local limit exceeded)") { tally { $0.associationsRejected += 1 } }
                log(line)
            })
        do { try StorageSCP.listen(settings, receiveFolder: options.store, handlers: handlers) } catch {
            throw WorkflowError.failed("\(error)")
        }
        counts.lock()
        defer { counts.unlock() }
        log("stopped: \(result.instancesStored) instances stored (\(result.bytesStored) bytes), \(result.instancesRefused) refused; "
            + "\(result.associationsAccepted) associations accepted, \(result.associationsRejected) rejected")
        return result
    }

    /// Stops the running listener (see `StorageSCP.stop`).
    public static func stop() { StorageSCP.stop() }

    /// The store's file name of an instance: SHA-256 hex of its three UIDs joined by backslashes
    /// (a character no UID holds).
    public static func instanceKey(studyUID: String, seriesUID: String, sopInstanceUID: String) -> String {
        SHA256Hex.of(studyUID + "\\" + seriesUID + "\\" + sopInstanceUID)
    }

    /// Where the instance with `key` lives in `store`.
    public static func path(ofKey key: String, in store: String) -> String {
        store + "/" + String(key.prefix(2)) + "/" + key + ".dcm"
    }

    // MARK: - Handlers (DCMTK worker threads)

    private func accept(calling: String, called: String, ip: String) -> Bool {
        let who = "\(calling)@\(ip)"
        if let allow = options.allow, let reason = allow.refusal(callingAE: calling, peerIP: ip) {
            tally { $0.associationsRejected += 1 }
            log("rejected association from \(who) (called \(called)): \(reason) (A-ASSOCIATE-RJ: calling AE title not recognized)")
            return false
        }
        tally { $0.associationsAccepted += 1 }
        log("association from \(who) (called \(called))")
        return true
    }

    private func store(_ temporary: String, sopClass: String, calling: String, ip: String) -> UInt16 {
        let who = "\(calling)@\(ip)"
        let name = StorageSCP.sopClassName(sopClass) ?? sopClass
        let refuse = { (status: UInt16, reason: String) -> UInt16 in
            try? FileManager.default.removeItem(atPath: temporary)
            self.tally { $0.instancesRefused += 1 }
            self.log("refused \(name) from \(who): \(reason) (status 0x\(String(status, radix: 16, uppercase: true)))")
            return status
        }
        let refuseKeeping = { (status: UInt16, reason: String) -> UInt16 in
            self.tally { $0.instancesRefused += 1 }
            self.log("refused \(name) from \(who): \(reason) (status 0x\(String(status, radix: 16, uppercase: true)))")
            return status
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: temporary))?[.size] as? NSNumber)?.int64Value ?? 0
        if size > options.maxInstanceBytes {
            return refuse(0xA700, "\(size) bytes is more than --max-instance-size \(options.maxInstanceBytes)")
        }
        let scan = FileScan.scan(path: temporary, verify: false)
        guard case let .instance(metadata, _, _) = scan else {
            return refuse(0xC000, "not a DICOM instance with Study, Series and SOP Instance UIDs that SonoKit can read")
        }
        let key = Self.instanceKey(studyUID: metadata.studyInstanceUID, seriesUID: metadata.seriesInstanceUID,
                                   sopInstanceUID: metadata.sopInstanceUID)
        let final = Self.path(ofKey: key, in: options.store)
        let keyLock = keyLocks[(Int(key.prefix(2), radix: 16) ?? 0) % keyLocks.count]
        keyLock.lock()
        defer { keyLock.unlock() }
        // A re-sent instance: its indexed copy stays reachable (a hard link named like a receive,
        // so that a restart removes it) until the new one is indexed; if indexing fails, it goes
        // back, matching the catalog's rows again.
        let previous = options.store + "/.incoming-\(UUID().uuidString).previous.part"
        let hasPrevious = FileManager.default.fileExists(atPath: final) && link(final, previous) == 0
        defer { if hasPrevious { unlink(previous) } }
        do { try Self.commit(temporary, to: final) } catch {
            return refuse(0xA700, "cannot write the instance to the store: \(error)")
        }
        guard let catalog else { return refuse(0xA700, "no catalog") }
        let isNew = (try? catalog.instance(sopUID: metadata.sopInstanceUID)) == nil
        do {
            let run = try catalog.index(receivedFile: final, scan: scan)
            if run.duplicates > 0 { log("note: instance \(key.prefix(16)) was already indexed from another file; that record is kept") }
        } catch {
            if !(hasPrevious && rename(previous, final) == 0) { try? FileManager.default.removeItem(atPath: final) }
            return refuse(0xA700, "cannot index the instance into the catalog: \(error)" + (hasPrevious ? "; the copy received before is kept" : ""))
        }
        if let instanceStored = options.instanceStored {
            do { try instanceStored(metadata.studyInstanceUID, isNew) } catch {
                return refuseKeeping(0xA700, "cannot queue the study for prediction: \(error)")
            }
        }
        tally { $0.instancesStored += 1; $0.bytesStored += size }
        log("stored \(name) \(key.prefix(16)) \(size) bytes from \(who)")
        return 0x0000
    }

    private func tally(_ change: (inout Result) -> Void) {
        counts.lock()
        change(&result)
        counts.unlock()
    }

    /// fsync `temporary`, rename it to `final` (creating its folder), fsync the folder(s): after
    /// this returns the file survives a power cut under its final name. On error `temporary` is
    /// removed by the caller.
    static func commit(_ temporary: String, to final: String) throws {
        try fsyncPath(temporary)
        let folder = (final as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try fsyncPath((folder as NSString).deletingLastPathComponent)
        }
        try AtomicFile.replace(URL(fileURLWithPath: final), with: URL(fileURLWithPath: temporary))
        try fsyncPath(folder)
    }

    private static func fsyncPath(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
    }
}
