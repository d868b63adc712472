import ArgumentParser
import CNN
import Foundation
import SonoKitCore

/// `sonokit model ...`: inspecting the built-in CNN architectures.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect the CNN architectures.",
        subcommands: [ModelDescribe.self]
    )
}

/// `sonokit model describe vgg16|small`: layers, output shapes and parameter counts (trainable
/// and frozen), like Keras' `summary()`.
struct ModelDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Print a model's layers, output shapes and parameter counts (trainable / frozen).",
        discussion: """
        Examples:
          sonokit model describe vgg16
          sonokit model describe vgg16 --fine-tune block5
          sonokit model describe small
          sonokit model describe vgg16 --weights vgg16_notop.safetensors
          sonokit model describe vgg16 --kernels     # which oneDNN kernel runs each layer on this CPU
        """
    )

    @Argument(help: "Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String
    @Option(help: "A .safetensors weights file to check against the architecture (Keras or torchvision names).")
    var weights: String?
    @Option(parsing: .upToNextOption, help: "Layers or blocks to unfreeze (e.g. block5).")
    var fineTune: [String] = []
    @Option(help: "Precision of frozen layers: fp32 or bf16 (bf16 only on CPUs with native bf16, AVX-512 BF16).")
    var precision: String = "fp32"
    @Flag(help: "Also list the oneDNN kernel chosen for every layer on this CPU, for inference and for a training step (primitives are created, nothing is run).")
    var kernels = false
    @Option(help: "Images per batch for --kernels.")
    var batch = 8

    func run() throws {
        do {
            let architecture = try Architecture.named(name)
            var rng = SplitMix64(seed: 0)
            let model = try architecture.make(rng: &rng)
            guard let p = Precision(rawValue: precision) else {
                throw ValidationError("--precision must be fp32 or bf16, not '\(precision)'.")
            }
            try p.requireSupported()
            model.frozenPrecision = p
            if !fineTune.isEmpty { try model.unfreeze(fineTune) }
            print(model)
            if kernels { try printKernels(model) }
            if let weights {
                let origin = try model.loadWeights(from: URL(fileURLWithPath: weights))
                print("Weights: \(weights) (\(origin.naming) names) fit; loaded \(origin.loadedLayers.count) layers.")
            } else if architecture == .vgg16 {
                if let url = try? PretrainedWeights.vgg16ImageNet() {
                    print("ImageNet weights: \(url.path)")
                } else {
                    print("ImageNet weights: not installed. \(CNNError.pretrainedWeightsMissing(searched: PretrainedWeights.searchFolders.map { $0.appendingPathComponent(PretrainedWeights.vgg16FileName).path }))")
                }
            }
        } catch let e as CNNError {
            throw ValidationError(e.description)
        }
    }

    /// The oneDNN implementation of every primitive, inference then training step.
    private func printKernels(_ model: Model) throws {
        print("oneDNN kernels on \(CPUInfo.current.summary), batch \(batch):")
        var reference: [KernelChoice] = []
        for (title, training) in [("inference", false), ("training step", true)] {
            print("  \(title):")
            for choice in try model.prepareKernels(batch: batch, training: training) {
                print("    \(choice.operation): \(choice.implementation)\(choice.isReference ? "   <- reference kernel (slow)" : "")")
                if choice.isReference { reference.append(choice) }
            }
        }
        print(reference.isEmpty ? "No reference kernels: every layer runs on a JIT kernel for this CPU."
                                : "\(reference.count) reference kernel(s): this is a SonoKit bug, please report this output.")
    }
}
