import ArgumentParser
import SonoKitCLI

/// The `sonokit` command: one tool from a DICOM export to a trained, evaluated classifier and
/// per-study reports. Each subcommand is a thin layer over the libraries in Sources/.
@main
struct SonoKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonokit",
        abstract: "Ultrasound DICOM exports to a trained, evaluated classifier and per-study reports.",
        version: "0.1.0",
        subcommands: [Demo.self, Synth.self, Ingest.self, Inspect.self, CatalogCommand.self, ManifestCommand.self, Preview.self, ModelCommand.self, TrainCommand.self, Evaluate.self, Predict.self, ExportCommand.self, Send.self, Echo.self]
    )

    /// Runs the command with standard output line-buffered (see `useLineBufferedStandardOutput`).
    static func main() {
        useLineBufferedStandardOutput()
        main(nil)
    }
}
