import Catalog
import Foundation
import SonoKitCore

/// `ingest`: every DICOM file under the folders indexed into a catalog (created when missing).
public struct IngestWorkflow {
    public struct Options: Sendable {
        public var folders: [String]
        public var catalog: String
        /// Threads reading headers.
        public var jobs = CPUBudget.current.count
        /// A deterministic share of the files (`.whole` for all).
        public var shard: Shard = .whole
        /// Also decode every frame and record its content hash.
        public var verify = false
        /// Files per transaction: a run killed mid-way loses at most this many files' work.
        public var batchSize = 64

        public init(folders: [String], catalog: String) {
            self.folders = folders
            self.catalog = catalog
        }
    }

    public struct Result: Sendable {
        /// What this run did.
        public var run: IngestRun
        /// The catalog's totals after it.
        public var summary: CatalogSummary
        /// Every file of the catalog that could not be indexed.
        public var problems: [CatalogProblem]
    }

    public let options: Options
    public let events: WorkflowEvents

    public init(_ options: Options, events: WorkflowEvents = .silent) {
        self.options = options
        self.events = events
    }

    public func run() throws -> Result {
        let store = try Catalog(path: options.catalog)
        let ingestor = Ingestor(jobs: options.jobs, shard: options.shard, verify: options.verify, batchSize: options.batchSize)
        let run = try ingestor.run(folders: options.folders, into: store) { p in
            events.progress("ingest", p.done, p.total, p.elapsed, "files")
        }
        events.progressFinished("ingest")
        return Result(run: run, summary: try store.summary(), problems: try store.problems())
    }
}
