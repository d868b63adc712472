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

    /// `Model.saveWeights` writes the safetensors file in one piece; here it goes to a temporary
    /// name first and is renamed, so that a run killed mid-write keeps the previous checkpoint.
    static func saveWeightsAtomically(_ model: Model, to url: URL, metadata: [String: String]) throws {
        let temporary = AtomicFile.temporaryURL(for: url)
        try model.saveWeights(to: temporary, metadata: metadata)
        let sidecarTemp = temporary.appendingPathExtension("json"), sidecar = url.appendingPathExtension("json")
        for (from, to) in [(sidecarTemp, sidecar), (temporary, url)] {
            do { try AtomicFile.replace(to, with: from) } catch let error as AtomicFile.WriteError {
                throw TrainingError.writeFailed(file: to.path, reason: error.reason)
            }
        }
    }
}
