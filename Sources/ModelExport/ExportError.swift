/// Why an export (or its check) failed, in one sentence naming the file and what to do.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    /// The path is not a run folder.
    case notARun(path: String, reason: String)
    /// A run file could not be read (missing checkpoint, damaged card, weights that are not the card's).
    case unreadable(file: String, reason: String)
    /// The checkpoint's tensors do not fit the network the model card describes.
    case checkpointMismatch(file: String, architecture: String, reason: String)
    /// An operator-set version outside `ONNXExporter.supportedOpsets`.
    case unsupportedOpset(Int, supported: ClosedRange<Int>)
    /// A layer type the exporter has no ONNX mapping for.
    case unsupportedLayer(name: String, type: String)
    case writeFailed(file: String, reason: String)
    /// The ONNX checker or ONNX Runtime disagreed with SonoKit (or could not be run).
    case checkFailed(String)

    public var description: String {
        switch self {
        case .notARun(let path, let reason): return "\(path): not a SonoKit run folder: \(reason)"
        case .unreadable(let file, let reason): return "\(file): \(reason)"
        case .checkpointMismatch(let file, let architecture, let reason):
            return "\(file): the checkpoint does not fit the model card's \(architecture) network (\(reason)); "
                + "export the run the checkpoint belongs to, or choose the other checkpoint with --checkpoint best|last"
        case .unsupportedOpset(let opset, let supported):
            return "opset \(opset) is not supported: the exporter targets ONNX opsets \(supported.lowerBound)...\(supported.upperBound) (default \(ONNXExporter.defaultOpset))"
        case .unsupportedLayer(let name, let type):
            return "layer \(name) (\(type)) has no ONNX mapping in this exporter"
        case .writeFailed(let file, let reason): return "\(file): cannot write: \(reason)"
        case .checkFailed(let message): return "ONNX check failed: \(message)"
        }
    }
}
