import ArgumentParser
import CNN
import Foundation
import SonoKitCore
import SonoKitCLI

/// The `sonokit` command: one tool from a DICOM export to a trained, evaluated classifier and
/// per-study reports. Each subcommand is a thin layer over the libraries in Sources/.
@main
struct SonoKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonokit",
        abstract: "Ultrasound DICOM exports to a trained, evaluated classifier and per-study reports.",
        version: "0.1.0",
        subcommands: [Demo.self, Synth.self, Ingest.self, Inspect.self, CatalogCommand.self, ManifestCommand.self, Preview.self, ModelCommand.self, FeaturesCommand.self, TrainCommand.self, Evaluate.self, Predict.self, ExportCommand.self, Send.self, Echo.self, Listen.self, CacheCommand.self]
    )

    /// Runs the command with standard output line-buffered (see `useLineBufferedStandardOutput`).
    static func main() {
        useLineBufferedStandardOutput()
        // The network's threads follow the CPUs granted (a Slurm task, a container quota) unless
        // the user chose them with OMP_NUM_THREADS.
        if ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] == nil { ComputeThreads.set(CPUBudget.current.count) }
        main(nil)
    }
}
