import Foundation
import SonoKitCore

/// Why prediction reports could not be made or written. Each case names the file or study.
public enum PredictionError: Error, CustomStringConvertible, Equatable {
    case badSecret(path: String, bytes: Int)
    case write(path: String, detail: String)
    case noFrames(studyKey: String)
    case unknownInstance(sopInstanceUID: String)
    /// A multi-class input whose size is not the model's number of classes.
    case classCount(what: String, classes: [String])

    public var description: String {
        switch self {
        case let .badSecret(path, bytes):
            return "\(path): the key secret must be 32 bytes, found \(bytes); delete the file to start new keys"
        case let .write(path, detail):
            return "\(path): cannot write: \(detail)"
        case let .noFrames(key):
            return "study \(key): no frame could be predicted"
        case let .unknownInstance(uid):
            return "a predicted frame names an instance that was not part of the input (\(uid.prefix(8))...)"
        case let .classCount(what, classes):
            return "\(what), but the model has \(classes.count) classes (\(classes.joined(separator: ", "))): give one value per class in this order"
        }
    }
}

/// Atomic file writes: a temporary file in the destination folder, then a rename over the
/// destination, so that a reader never sees a half-written report.
public enum PredictionFiles {
    public static func write(_ data: Data, to path: String, permissions: Int? = nil) throws {
        do {
            try AtomicFile.write(data, to: path, permissions: permissions)
        } catch let error as AtomicFile.WriteError {
            throw PredictionError.write(path: path, detail: error.reason)
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}
