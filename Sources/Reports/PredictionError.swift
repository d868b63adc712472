import Foundation

/// Why prediction reports could not be made or written. Each case names the file or study.
public enum PredictionError: Error, CustomStringConvertible, Equatable {
    case badSecret(path: String, bytes: Int)
    case write(path: String, detail: String)
    case noFrames(studyKey: String)
    case unknownInstance(sopInstanceUID: String)

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
        }
    }
}

/// Atomic file writes: a temporary file in the destination folder, then a rename over the
/// destination, so that a reader never sees a half-written report.
public enum PredictionFiles {
    public static func write(_ data: Data, to path: String, permissions: Int? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString).tmp")
            var attributes: [FileAttributeKey: Any]? = nil
            if let permissions { attributes = [.posixPermissions: permissions] }
            guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: attributes) else {
                throw PredictionError.write(path: path, detail: "cannot create a temporary file in \(folder.path)")
            }
            if rename(temporary.path, url.path) != 0 {
                let detail = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw PredictionError.write(path: path, detail: detail)
            }
        } catch let error as PredictionError {
            throw error
        } catch {
            throw PredictionError.write(path: path, detail: "\(error)")
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}
