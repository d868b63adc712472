import ArgumentParser
import Catalog
import Foundation

/// `sonokit demo`: the whole path on SampleStudies/. At this stage: ingest into a catalog and
/// print its summary (training, evaluation and prediction join as they are built).
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run SonoKit's path on the bundled SampleStudies/ (synthetic ultrasound studies).",
        discussion: """
        Example:
          sonokit demo                 # outputs under ./demo-output
          sonokit demo -o /tmp/demo --samples SampleStudies
        """
    )

    @Option(name: .shortAndLong, help: "Folder for the outputs.") var output: String = "demo-output"
    @Option(help: "The sample export.") var samples: String = "SampleStudies"

    func run() throws {
        guard FileManager.default.fileExists(atPath: samples) else {
            throw CommandFailure("\(samples): not found; run the demo from the repository root or pass --samples DIR")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let catalogPath = (output as NSString).appendingPathComponent("catalog.sqlite")

        print("== 1. ingest \(samples) -> \(catalogPath)")
        let catalog = try Catalog(path: catalogPath)
        let progress = ProgressLine("ingest")
        let run = try Ingestor().run(folders: [samples], into: catalog) { p in
            progress.update(done: p.done, total: p.total, elapsed: p.elapsed)
        }
        progress.finish()
        print(IngestText.render(run: run, summary: try catalog.summary(), problems: try catalog.problems(), catalogPath: catalogPath))
        print("\nNext: sonokit inspect FILE --json, sonokit catalog summary --catalog \(catalogPath)")
    }
}
