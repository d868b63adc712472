import Foundation

extension Catalog {
    /// Indexes one file that was just written under `path` (an instance received by `listen`)
    /// exactly as `ingest` indexes a file (the same transaction writing patients, studies, series,
    /// the instance, its frames and the `files` row), given its `scan` (`FileScan.scan` of the
    /// same bytes, e.g. read before the file was renamed to `path`).
    ///
    /// Unlike `Ingestor.run` it does not first read the size and mtime of every file the catalog
    /// knows (to skip unchanged ones): the file is (re)indexed whatever was recorded for its path,
    /// and the cost of one call does not grow with the catalog (`Ingestor.run` on one file read
    /// all N rows of `files`, so a node slowed down with every instance it had received).
    /// Safe from several threads at once (the catalog's database queue serializes the writes).
    public func index(receivedFile path: String, scan: FileScan) throws -> IngestRun {
        var run = IngestRun()
        let files = try ExportWalker.files(under: [path])
        guard let file = files.first else { throw ExportWalker.Failure.notAFolder(path) }
        run.filesSeen = 1
        let outcome = try record([(file, scan)])
        run.newInstances = outcome.instances
        run.nonDICOM = outcome.nonDICOM
        run.dicomdir = outcome.dicomdir
        run.duplicates = outcome.duplicates
        run.problems = outcome.problems
        return run
    }
}
