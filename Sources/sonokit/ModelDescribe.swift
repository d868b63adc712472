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
        """
    )

    @Argument(help: "Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String
    @Option(help: "A .safetensors weights file to check against the architecture (Keras or torchvision names).")
    var weights: String?
    @Option(parsing: .upToNextOption, help: "Layers or blocks to unfreeze (e.g. block5).")
    var fineTune: [String] = []
    @Option(help: "Precision of frozen layers: fp32 or bf16.")
    var precision: String = "fp32"

    func run() throws {
        do {
            let architecture = try Architecture.named(name)
            var rng = SplitMix64(seed: 0)
            let model = try architecture.make(rng: &rng)
            guard let p = Precision(rawValue: precision) else {
                throw ValidationError("--precision must be fp32 or bf16, not '\(precision)'.")
            }
            model.frozenPrecision = p
            if !fineTune.isEmpty { try model.unfreeze(fineTune) }
            print(model)
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
}
