import ArgumentParser

/// `sonokit bench ...`: benchmarks that run SonoKit and the reference tools on the same work in
/// one invocation and print the ratio. Each benchmark is a subcommand.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against the reference tools (same work, same run, ratio printed).",
        subcommands: [BenchReader.self, BenchPreprocess.self, BenchCNN.self, BenchTrain.self]
    )
}
