import Foundation
import SonoKitCore

/// The files of a run directory (see ../shared/RUN-CONTRACT.md), by name:
///
///     config.json            TrainingConfig (every option, hashes of preprocessing, manifest, splits)
///     model-card.json        ModelCard
///     history.csv            epoch,loss,val_loss,val_auc,lr,seconds
///     checkpoints/best.safetensors (+ best.safetensors.json sidecar)   weights of the best epoch
///     checkpoints/last.safetensors (+ last.safetensors.json sidecar)   latest weights
///     checkpoints/last.state.safetensors + last.state.json             optimizer state; epoch, step, callbacks, hashes
///     inputs/manifest.csv, inputs/splits.csv                           copies of the inputs used
public struct RunDirectory: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    func file(_ name: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(name) }
    public var config: URL { file("config.json") }
    public var modelCard: URL { file("model-card.json") }
    public var history: URL { file("history.csv") }
    public var checkpoints: URL { file("checkpoints") }
    public var bestWeights: URL { checkpoints.appendingPathComponent("best.safetensors") }
    public var lastWeights: URL { checkpoints.appendingPathComponent("last.safetensors") }
    public var lastOptimizer: URL { checkpoints.appendingPathComponent("last.state.safetensors") }
    public var lastState: URL { checkpoints.appendingPathComponent("last.state.json") }
    public var inputs: URL { file("inputs") }
    public var manifestCopy: URL { inputs.appendingPathComponent("manifest.csv") }
    public var splitsCopy: URL { inputs.appendingPathComponent("splits.csv") }
}

extension RunDirectory {
    /// SHA-256 (lowercase hex) of a file whose hash a run records (weights, manifest, splits); an
    /// unreadable file is a `TrainingError` naming it.
    public static func sha256(file url: URL) throws -> String {
        do { return try SHA256Hex.of(file: url) } catch {
            throw TrainingError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }
}

/// Writes `data` to `url` atomically (SonoKitCore's `AtomicFile`): a reader (or a run killed
/// mid-write) sees the old file or the new one, never half of one.
func writeAtomically(_ data: Data, to url: URL) throws {
    do { try AtomicFile.write(data, to: url) } catch let error as AtomicFile.WriteError {
        throw TrainingError.writeFailed(file: url.path, reason: error.reason)
    }
}

/// Run files in the project's JSON convention (SonoKitCore's `SonoKitJSON`: snake_case, sorted, pretty).
enum RunJSON {
    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try writeAtomically(try SonoKitJSON.encoder().encode(value), to: url)
    }
    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError.missingFile(file: url.path)
        }
        do { return try SonoKitJSON.decoder().decode(type, from: data) } catch {
            throw TrainingError.unreadable(file: url.path, reason: "\(error)")
        }
    }
}
