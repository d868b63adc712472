import CNN
import Foundation
import SonoKitCore

extension TrainedRun {
    /// Writes `model`'s weights as the run's best checkpoint and a model card for them (the card's
    /// `weightsSHA256` and `modelID` are filled in from the written file), atomically, file by
    /// file; returns the run loaded back. Training calls it at the end; tests use it to make runs
    /// from fresh networks.
    @discardableResult
    public static func write(model: Model, card draft: ModelCard, to directory: String) throws -> TrainedRun {
        let run = RunDirectory(directory)
        try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
        try saveWeightsAtomically(model, to: run.bestWeights, metadata: ["role": "best"])
        var card = draft
        card.weightsSHA256 = try RunDirectory.sha256(file: run.bestWeights)
        card.modelID = ModelCard.modelID(architecture: card.architecture, weightsSHA256: card.weightsSHA256)
        try RunJSON.write(card, to: run.modelCard)
        return try TrainedRun(directory: directory)
    }

    /// `Model.saveWeights` writes the sidecar and then the safetensors file, each through
    /// `AtomicFile` (a temporary renamed over the file), so that a run killed mid-write keeps the
    /// previous checkpoint; a failure is a `TrainingError` naming the file.
    static func saveWeightsAtomically(_ model: Model, to url: URL, metadata: [String: String]) throws {
        do { try model.saveWeights(to: url, metadata: metadata) } catch CNNError.writeFailed(let file, let reason) {
            throw TrainingError.writeFailed(file: file, reason: reason)
        }
    }
}
