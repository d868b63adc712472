import SonoKitCore

/// Stratified group splitting: every group (patient) goes to exactly one split, and each split's
/// class distribution stays as close to the whole data set's as the groups allow.
///
/// The algorithm is scikit-learn's `StratifiedGroupKFold` (sklearn/model_selection/_split.py,
/// version 1.9), generalised from K equal folds to splits with target fractions `t_f`:
///
/// 1. Groups in a fixed order (sorted by key, then shuffled by a ``SplitMix64`` seeded with the
///    seed), then stably sorted by decreasing standard deviation of their class counts, so that the
///    groups that are hardest to balance (many studies of one class) are placed first and
///    groups with equal spread keep the shuffled order.
/// 2. Each group in turn goes to the split `f` minimising
///
///        mean over classes c of  std over splits g of  n[g][c] / (N[c] * t_g * F)
///
///    where `n` are the counts with the group tentatively added to `f`, `N[c]` the class totals
///    and `F` the number of splits (population standard deviation). With equal fractions
///    `t_g = 1/F` this is exactly scikit-learn's criterion `std(n[g][c] / N[c])`. Near-ties
///    (numpy's `isclose`: |a-b| <= 1e-8 + 1e-5|b|) go to the split with the fewest samples
///    relative to its target, `sum_c n[f][c] / (t_f F)` measured before adding the group.
/// 3. One departure from scikit-learn: when the groups left are just enough to fill the splits
///    still empty, they go only to those, so no split is ever empty.
///
/// Counts are *studies* per class per patient, since study-level results are primary.
/// With the identity order (no shuffle) the result equals scikit-learn's `shuffle=False` result,
/// which the tests check against fixtures that scikit-learn produced.
public enum StratifiedGroupSplitter {

    /// One group and its count per class (in declared class order).
    public struct Group: Hashable, Sendable {
        public var key: String
        public var classCounts: [Int]
        public init(key: String, classCounts: [Int]) {
            self.key = key
            self.classCounts = classCounts
        }
    }

    /// Assigns groups to splits. Returns the split index of every group, keyed by group key.
    /// Throws when there are fewer groups than splits.
    public static func assign(_ groups: [Group], plan: SplitPlan, seed: UInt64) throws -> [String: Int] {
        let plan = try plan.validated()
        let targets = plan.targets
        guard groups.count >= targets.count else { throw SplitError.tooFewGroups(groups: groups.count, splits: targets.count) }
        // Sort by the UTF-8 bytes of the key: independent of locale and of String's Unicode ordering.
        var ordered = groups.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&ordered)
        let placement = assignInOrder(ordered.map(\.classCounts), targets: targets)
        var result: [String: Int] = [:]
        for (group, split) in zip(ordered, placement) { result[group.key] = split }
        return result
    }

    /// The greedy core on groups already in their (shuffled) order; returns the split index per
    /// group, in the same order.
    public static func assignInOrder(_ counts: [[Int]], targets: [Double]) -> [Int] {
        let splitCount = targets.count
        guard let classCount = counts.first?.count else { return [] }
        var totals = Array(repeating: 0.0, count: classCount)
        for row in counts { for c in 0..<classCount { totals[c] += Double(row[c]) } }

        // Stable sort by decreasing spread of the class counts.
        let spread = counts.map { row in populationStandardDeviation(row.map(Double.init)) }
        let order = counts.indices.sorted { a, b in spread[a] != spread[b] ? spread[a] > spread[b] : a < b }

        var perSplit = Array(repeating: Array(repeating: 0.0, count: classCount), count: splitCount)
        var placement = Array(repeating: -1, count: counts.count)
        let scale = targets.map { $0 * Double(splitCount) }   // 1 for equal folds
        var groupsPerSplit = Array(repeating: 0, count: splitCount)
        for (position, groupIndex) in order.enumerated() {
            let group = counts[groupIndex].map(Double.init)
            var best = 0
            var bestScore = Double.infinity
            var bestFill = Double.infinity
            // Never leave a split empty: once the groups left are just enough for the empty splits,
            // only those are candidates (scikit-learn can leave a fold empty; a split without data
            // is useless here).
            let emptySplits = (0..<splitCount).filter { groupsPerSplit[$0] == 0 }
            let candidates = order.count - position <= emptySplits.count ? emptySplits : Array(0..<splitCount)
            for candidate in candidates {
                var score = 0.0
                for c in 0..<classCount {
                    var column = [Double](repeating: 0, count: splitCount)
                    for g in 0..<splitCount {
                        let n = perSplit[g][c] + (g == candidate ? group[c] : 0)
                        column[g] = totals[c] > 0 ? n / totals[c] / scale[g] : 0
                    }
                    score += populationStandardDeviation(column)
                }
                score /= Double(classCount)
                let fill = perSplit[candidate].reduce(0, +) / scale[candidate]
                let close = abs(score - bestScore) <= 1e-8 + 1e-5 * abs(bestScore)
                if score < bestScore || (close && fill < bestFill) {
                    best = candidate
                    bestScore = score
                    bestFill = fill
                }
            }
            for c in 0..<classCount { perSplit[best][c] += group[c] }
            groupsPerSplit[best] += 1
            placement[groupIndex] = best
        }
        return placement
    }

    /// sqrt(mean((x - mean(x))^2)), numpy's default `ddof=0`.
    static func populationStandardDeviation(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return variance.squareRoot()
    }
}
