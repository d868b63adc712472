/// Errors of training and of loading a run. Each names the file, option or value concerned and
/// says what to do.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case missingFile(file: String)
    case unreadable(file: String, reason: String)
    case writeFailed(file: String, reason: String)
    /// The manifest has validation errors (listed by the caller); nothing is trained on bad labels.
    case invalidManifest(file: String, errors: Int)
    /// A split the run needs has no images (or lacks a class).
    case emptySplit(name: String, reason: String)
    /// `--resume` with inputs or options that differ from the run's.
    case resumeMismatch(run: String, differences: [String])
    /// The loss became NaN or infinite.
    case nonFiniteLoss(epoch: Int, batch: Int, loss: Float)
    /// An option value that cannot work.
    case invalidOption(name: String, reason: String)
    /// A preprocessed frame of the wrong size for the model.
    case wrongFrameSize(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .missingFile(let file): return "\(file): not found (is this a run directory written by `sonokit train`?)"
        case .unreadable(let file, let reason): return "\(file): cannot read: \(reason)"
        case .writeFailed(let file, let reason): return "\(file): cannot write: \(reason)"
        case .invalidManifest(let file, let errors):
            return "\(file): \(errors) validation error(s); fix them (sonokit manifest validate lists them) before training"
        case .emptySplit(let name, let reason): return "split '\(name)': \(reason)"
        case .resumeMismatch(let run, let differences):
            return "\(run): cannot resume, the inputs or options differ from the run's: \(differences.joined(separator: "; ")). "
                + "Resume with the same manifest, splits and options, or start a new run with -o NEW_DIR."
        case .nonFiniteLoss(let epoch, let batch, let loss):
            return "training stopped: the loss became \(loss) at epoch \(epoch), batch \(batch). "
                + "Lower the learning rate (--lr), check the inputs' normalisation (--normalize), or resume from the last checkpoint."
        case .invalidOption(let name, let reason): return "\(name): \(reason)"
        case .wrongFrameSize(let expected, let got):
            return "the model takes \(expected)x\(expected) frames, got \(got)x\(got); preprocess with the run's configuration"
        }
    }
}
