import ArgumentParser
import SonoKitCLI
import Catalog
import Foundation
import SonoKitCore
import Workflows

/// `sonokit ingest`: index DICOM exports into a SQLite catalog.
struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index every DICOM file under the folders into a SQLite catalog (patients, studies, series, instances, frames, problems).",
        discussion: """
        Files are recognised by content, not by extension; DICOMDIR and non-DICOM files are skipped
        and counted. Re-running skips files already indexed and unchanged (path, size, mtime), and a
        run that was killed resumes where it stopped. Patients and studies are printed only as
        pseudonymous keys.

        Examples:
          sonokit ingest /data/export --catalog work/catalog.sqlite
          sonokit ingest /data/export --catalog work/catalog.sqlite --jobs 8 --verify
          sonokit ingest /data/export --catalog shard0.sqlite --shard 0/4   # then: sonokit catalog merge
        """
    )

    @Argument(help: "Folders (or files) of a DICOM export.")
    var folders: [String]

    @Option(help: "The catalog file (created when missing).")
    var catalog: String

    @Option(help: "Threads reading headers (default: the CPUs this process may use: SLURM_CPUS_PER_TASK, cgroup quota, affinity).")
    var jobs: Int = CPUBudget.current.count

    @Option(help: "Index only shard I of N (0 <= I < N), a deterministic share of the files.")
    var shard: String?

    @Flag(help: "Also decode every frame, record its content hash and list files whose pixels cannot be decoded.")
    var verify = false

    @Option(help: "Files committed per transaction; a killed run loses at most one batch's work.")
    var batchSize = 64

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("--shard must be I/N with 0 <= I < N, e.g. 0/4; got '\(shard)'")
        }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        var options = IngestWorkflow.Options(folders: folders, catalog: catalog)
        options.jobs = jobs
        options.shard = shard.flatMap(Shard.init(parsing:)) ?? .whole
        options.verify = verify
        options.batchSize = batchSize
        try Self.execute(options, json: json)
    }

    /// Runs the ingest workflow and prints its summary (text or JSON).
    static func execute(_ options: IngestWorkflow.Options, json: Bool = false) throws {
        let result = try workflow { try IngestWorkflow(options, events: .terminal()).run() }
        if json {
            struct Output: Encodable { let run: IngestRun; let catalog: CatalogSummary; let problems: [CatalogProblem] }
            print(try SonoKitJSON.string(Output(run: result.run, catalog: result.summary, problems: result.problems)))
        } else {
            print(IngestText.render(run: result.run, summary: result.summary, problems: result.problems, catalogPath: options.catalog))
        }
    }
}

enum IngestText {
    static func render(run: IngestRun, summary: CatalogSummary, problems: [CatalogProblem], catalogPath: String) -> String {
        ([runLine(run)] + catalogLines(summary: summary, problems: problems, catalogPath: catalogPath)).joined(separator: "\n")
    }

    /// What one ingest run did.
    static func runLine(_ run: IngestRun) -> String {
        let rate = run.seconds > 0 ? Double(run.filesSeen - run.unchanged) / run.seconds : 0
        return "This run: \(run.filesSeen) files seen, \(run.unchanged) unchanged and skipped, \(run.newInstances) instances indexed, \(run.nonDICOM) not DICOM, \(run.dicomdir) DICOMDIR, \(run.duplicates) duplicates, \(run.problems) problems in \(String(format: "%.2f", run.seconds)) s (\(String(format: "%.0f", rate)) files/s)"
    }

    /// The catalog's totals and its first problems (also `catalog summary`).
    static func catalogLines(summary: CatalogSummary, problems: [CatalogProblem], catalogPath: String) -> [String] {
        var lines: [String] = []
        lines.append("Catalog \(catalogPath):")
        lines.append("  files seen            \(summary.files)")
        lines.append("  DICOM instances       \(summary.dicomInstances) (\(summary.imageInstances) images, \(summary.dicomInstances - summary.imageInstances) non-image objects)")
        lines.append("  ultrasound instances  \(summary.ultrasoundInstances)")
        lines.append("  frames                \(summary.frames)")
        lines.append("  series / studies      \(summary.series) / \(summary.studies)")
        lines.append("  patients              \(summary.patients)")
        lines.append("  skipped               \(summary.nonDICOMFiles) not DICOM, \(summary.dicomdirFiles) DICOMDIR, \(summary.duplicateFiles) duplicate copies")
        let total = summary.problemsByKind.values.reduce(0, +)
        lines.append("  problems              \(total)" + (total == 0 ? "" : " (" + summary.problemsByKind.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"))
        for problem in problems.prefix(20) {
            lines.append("    \(problem.message)")
        }
        if problems.count > 20 {
            lines.append("    ... and \(problems.count - 20) more (sonokit catalog problems --catalog \(catalogPath))")
        }
        return lines
    }
}
