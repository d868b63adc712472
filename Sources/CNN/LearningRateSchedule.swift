import Foundation

/// Learning rate as a function of the epoch (0-based), set on the optimiser before each epoch.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// lr(e) = base.
    case constant
    /// lr(e) = base · factor^⌊e / every⌋ (Keras/PyTorch StepLR).
    case step(every: Int, factor: Float)
    /// lr(e) = floor + (base − floor) · (1 + cos(π · min(e, total) / total)) / 2
    /// (PyTorch CosineAnnealingLR's closed form, without restarts).
    case cosine(totalEpochs: Int, floor: Float)

    public func learningRate(base: Float, epoch: Int) -> Float {
        switch self {
        case .constant:
            return base
        case let .step(every, factor):
            return base * pow(factor, Float(epoch / max(every, 1)))
        case let .cosine(total, floor):
            let e = Double(min(epoch, total)) / Double(max(total, 1))
            return floor + (base - floor) * Float((1 + cos(Double.pi * e)) / 2)
        }
    }
}
