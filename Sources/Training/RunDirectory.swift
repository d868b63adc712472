import Crypto
import Foundation

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

/// SHA-256 helpers (lowercase hex): file hashes recorded in configs and model cards.
public enum Digest {
    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 { digest.map { String(format: "%02x", $0) }.joined() }
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }
    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }
    public static func sha256(file url: URL) throws -> String {
        do { return sha256(try Data(contentsOf: url, options: .mappedIfSafe)) } catch {
            throw TrainingError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }
}

/// Writes `data` to `url` through a temporary file in the same folder and a rename: a reader
/// (or a run killed mid-write) sees the old file or the new one, never half of one.
func writeAtomically(_ data: Data, to url: URL) throws {
    let folder = url.deletingLastPathComponent()
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw TrainingError.writeFailed(file: url.path, reason: reason)
        }
    } catch let e as TrainingError { throw e } catch {
        throw TrainingError.writeFailed(file: url.path, reason: error.localizedDescription)
    }
}

/// JSON as run files hold it: sorted keys, pretty, snake_case (as the CLI prints JSON).
enum RunJSON {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try writeAtomically(try encoder().encode(value), to: url)
    }
    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError.missingFile(file: url.path)
        }
        do { return try decoder().decode(type, from: data) } catch {
            throw TrainingError.unreadable(file: url.path, reason: "\(error)")
        }
    }
}
