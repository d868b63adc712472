import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `sonokit` command: one tool from a DICOM export to a trained, evaluated classifier and
/// per-study reports. Each subcommand is a thin layer over the libraries in Sources/.
@main
struct SonoKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonokit",
        abstract: "Ultrasound DICOM exports to a trained, evaluated classifier and per-study reports.",
        version: "0.1.0",
        subcommands: [Demo.self, Ingest.self, Inspect.self, CatalogCommand.self, ManifestCommand.self, Preview.self, ModelCommand.self, TrainCommand.self, Evaluate.self, Predict.self, Bench.self]
    )

    /// Runs the command with standard output line-buffered: progress reaches a log file, a pipe
    /// or a batch system's output file line by line as it happens, not in 4 KiB blocks when the
    /// buffer fills (or never, when a long step is interrupted).
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        main(nil)
    }
}
