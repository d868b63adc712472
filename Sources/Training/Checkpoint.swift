import CNN
import Foundation
import SonoKitCore

/// What `last.state.safetensors` holds besides tensors (in its metadata, key "state", as JSON):
/// the loop's progress and the hashes of everything the run depends on.
public struct CheckpointState: Codable, Sendable, Equatable {
    public var format = "sonokit-train-state-1"
    public var progress: TrainingProgress
    /// SHA-256 of config.json's canonical encoding, and the input hashes (also inside the config).
    public var configSHA256: String
    public var manifestHash: String
    public var splitsHash: String
    public var preprocessHash: String
    /// The seed; with `progress` it re-creates every random stream.
    public var seed: UInt64
}

/// The `last` checkpoint: one file (`checkpoints/last.state.safetensors`) with every model tensor,
/// the optimiser's state tensors and `CheckpointState`, written by rename — so whatever moment a
/// run is killed, the file on disk is a complete earlier checkpoint. `last.safetensors` (weights,
/// for people and tools) and `last.state.json` (the state, readable) are written after it.
enum Checkpoint {
    static func configSHA256(_ config: TrainingConfig) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return SHA256Hex.of(try e.encode(config))
    }

    static func writeLast(_ loop: TrainingLoop, run: RunDirectory) throws {
        let state = CheckpointState(progress: loop.progress, configSHA256: try configSHA256(loop.config),
                                    manifestHash: loop.config.manifestHash, splitsHash: loop.config.splitsHash,
                                    preprocessHash: loop.config.preprocessHash, seed: loop.config.seed)
        var tensors = loop.model.namedTensors
        for (k, v) in loop.optimizer.state() { tensors["optimizer/" + k] = v }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(state), as: UTF8.self)
        try writeAtomically(try SafeTensors.encode(tensors, metadata: ["state": json, "format": state.format]), to: run.lastOptimizer)
        try TrainedRun.saveWeightsAtomically(loop.model, to: run.lastWeights,
                                             metadata: ["role": "last", "epoch": "\(loop.progress.epoch)", "step": "\(loop.progress.step)"])
        try writeAtomically(Data(json.utf8), to: run.lastState)
    }

    /// The model tensors, optimiser tensors and state of the last checkpoint.
    static func readLast(run: RunDirectory) throws -> (model: [String: Tensor], optimizer: [String: Tensor], state: CheckpointState) {
        let url = run.lastOptimizer
        guard FileManager.default.fileExists(atPath: url.path) else { throw TrainingError.missingFile(file: url.path) }
        let (tensors, metadata) = try SafeTensors.read(url)
        guard let json = metadata["state"] else { throw TrainingError.unreadable(file: url.path, reason: "no training state in its metadata") }
        let state: CheckpointState
        do { state = try JSONDecoder().decode(CheckpointState.self, from: Data(json.utf8)) } catch {
            throw TrainingError.unreadable(file: url.path, reason: "training state: \(error)")
        }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (k, v) in tensors {
            if k.hasPrefix("optimizer/") { optimizer[String(k.dropFirst("optimizer/".count))] = v } else { model[k] = v }
        }
        return (model, optimizer, state)
    }
}
