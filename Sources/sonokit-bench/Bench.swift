import ArgumentParser
import SonoKitCLI

/// `sonokit-bench`: benchmarks that run SonoKit and the reference tools (pydicom + Pillow, PyTorch,
/// Keras) on the same work in one invocation and print the ratio. A separate executable, so that
/// the user's `sonokit` carries only user commands. Each benchmark is a subcommand.
@main
struct SonoKitBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonokit-bench",
        abstract: "Benchmarks against the reference tools (same work, same run, ratio printed), and the coverage study of the intervals.",
        version: "0.1.0",
        subcommands: [BenchReader.self, BenchPreprocess.self, BenchCNN.self, BenchTrain.self, BenchCoverage.self]
    )

    /// Runs the benchmark with standard output line-buffered: each line as it finishes.
    static func main() {
        useLineBufferedStandardOutput()
        main(nil)
    }
}
