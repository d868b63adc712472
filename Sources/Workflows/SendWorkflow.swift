import DICOMNetwork
import Foundation

/// `send` and `echo`: DICOM files pushed to a peer with C-STORE, and a C-ECHO to check a peer,
/// through DCMTK's Storage SCU (DICOMNetwork.StorageSCU).
public struct SendWorkflow {
    public struct Options: Sendable {
        /// Files and folders; folders are searched recursively for DICOM Part 10 files.
        public var inputs: [String]
        public var peer: DicomPeer
        public var settings: StorageSCU.Settings
        /// Files per association (the progress line advances after each association).
        public var filesPerAssociation = 200

        public init(inputs: [String], peer: DicomPeer, settings: StorageSCU.Settings) {
            self.inputs = inputs
            self.peer = peer
            self.settings = settings
        }
    }

    public struct Result: Sendable {
        /// One outcome per file sent, in the order of the inputs (folders sorted by path).
        public var outcomes: [StorageSCU.Outcome]
        /// Files in the folders that were not sent: not DICOM Part 10 (no "DICM" at byte 128), or a DICOMDIR.
        public var skipped: Int
        public var seconds: Double

        public var stored: Int { outcomes.filter(\.stored).count }
        public var failed: [StorageSCU.Outcome] { outcomes.filter { !$0.stored } }
        /// Stored with a warning status (the peer kept the instance but said something about it).
        public var warnings: Int { outcomes.filter { $0.stored && $0.status != 0 }.count }
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    /// Sends every file, `filesPerAssociation` per association. A file the peer refuses or
    /// answers with a failure status is an outcome, not an error; an association that cannot be
    /// made (peer down, rejected) fails the workflow, naming the peer and DCMTK's reason.
    public func run() throws -> Result {
        let (files, skipped) = try Self.collect(options.inputs)
        guard !files.isEmpty else {
            throw WorkflowError.invalidInput("no DICOM files in \(options.inputs.joined(separator: ", "))" + (skipped > 0 ? " (\(skipped) other files skipped)" : ""))
        }
        let start = Date()
        let progress = events.progress("send", unit: "files")
        var outcomes: [StorageSCU.Outcome] = []
        for chunkStart in stride(from: 0, to: files.count, by: max(1, options.filesPerAssociation)) {
            let chunk = Array(files[chunkStart..<min(files.count, chunkStart + max(1, options.filesPerAssociation))])
            do {
                outcomes += try StorageSCU.store(chunk, to: options.peer, settings: options.settings)
            } catch let failure as StorageSCU.StoreFailure {
                let stored = outcomes.filter(\.stored).count + failure.partial.filter(\.stored).count
                throw WorkflowError.failed("\(failure.description) (\(stored) of \(files.count) files stored before)")
            }
            progress(outcomes.count, files.count)
        }
        events.progressFinished("send")
        return Result(outcomes: outcomes, skipped: skipped, seconds: Date().timeIntervalSince(start))
    }

    /// Sends one C-ECHO to `peer`; returns the seconds it took (association, echo, release).
    public static func echo(_ peer: DicomPeer, settings: StorageSCU.Settings) throws -> Double {
        let start = Date()
        do { try StorageSCU.echo(peer, settings: settings) } catch let error as DicomNetworkError {
            throw WorkflowError.failed(error.description)
        }
        return Date().timeIntervalSince(start)
    }

    /// The files to send: each named file as given; in each named folder, every DICOM Part 10
    /// file except DICOMDIRs, sorted by path. Returns the files and how many folder files were skipped.
    static func collect(_ inputs: [String]) throws -> (files: [String], skipped: Int) {
        var files: [String] = [], skipped = 0
        let manager = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw WorkflowError.invalidInput("\(input): no such file or folder")
            }
            guard isDirectory.boolValue else { files.append(input); continue }
            guard let enumerator = manager.enumerator(at: URL(fileURLWithPath: input), includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw WorkflowError.invalidInput("\(input): cannot list the folder")
            }
            var found: [String] = []
            for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                if url.lastPathComponent.uppercased() != "DICOMDIR" && isPart10(url.path) { found.append(url.path) } else { skipped += 1 }
            }
            files += found.sorted()
        }
        return (files, skipped)
    }

    /// True when the file has the Part 10 preamble and "DICM" prefix (PS3.10 §7.1).
    static func isPart10(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 132), head.count == 132 else { return false }
        return head.suffix(4) == Data("DICM".utf8)
    }
}
