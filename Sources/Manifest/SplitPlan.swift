/// What to split into: K cross-validation folds of equal size, or named parts with given ratios.
public enum SplitPlan: Codable, Hashable, Sendable {
    /// `fold0 ... fold{K-1}`, each the test fold of one round.
    case folds(Int)
    /// Two ratios -> `train, test`; three -> `train, validation, test`. Ratios sum to 1.
    case ratios([Double])

    public var names: [String] {
        switch self {
        case .folds(let k): return (0..<k).map { "fold\($0)" }
        case .ratios(let r): return r.count == 2 ? ["train", "test"] : ["train", "validation", "test"]
        }
    }

    /// Target fraction of the data per split.
    public var targets: [Double] {
        switch self {
        case .folds(let k): return Array(repeating: 1 / Double(k), count: k)
        case .ratios(let r): return r
        }
    }

    public func validated() throws -> SplitPlan {
        switch self {
        case .folds(let k):
            guard k >= 2 else { throw SplitError.badPlan("--folds must be at least 2, got \(k)") }
        case .ratios(let r):
            guard r.count == 2 || r.count == 3 else { throw SplitError.badPlan("--ratios takes 2 (train,test) or 3 (train,validation,test) numbers, got \(r.count)") }
            guard r.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw SplitError.badPlan("every ratio must be a positive number") }
            let sum = r.reduce(0, +)
            guard abs(sum - 1) < 1e-6 else { throw SplitError.badPlan("the ratios must sum to 1, they sum to \(sum)") }
        }
        return self
    }
}

public enum SplitError: Error, CustomStringConvertible, Equatable {
    case badPlan(String)
    case tooFewGroups(groups: Int, splits: Int)

    public var description: String {
        switch self {
        case .badPlan(let detail): return "Bad split plan: \(detail)."
        case .tooFewGroups(let groups, let splits):
            return "Cannot make \(splits) splits from \(groups) patients: every split needs at least one patient. Use fewer folds or label more patients."
        }
    }
}
