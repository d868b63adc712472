/// Mid-ranks: the rank of each value in ascending order, 1-based, with tied values sharing the mean
/// of the ranks they occupy (values 0.3, 0.5, 0.5, 0.9 get ranks 1, 2.5, 2.5, 4).
///
/// Mid-ranks are what make the Mann-Whitney AUC count a tied (positive, negative) pair as one half,
/// and they are the building block of the fast DeLong algorithm (Sun & Xu 2014). O(n log n).
func midranks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
        // Positions i...j (0-based) hold one tied value: ranks i+1 ... j+1, mean (i + j)/2 + 1.
        let rank = Double(i + j) / 2 + 1
        for k in i...j { ranks[order[k]] = rank }
        i = j + 1
    }
    return ranks
}

/// The `q`-quantile of `sorted` (ascending) by linear interpolation between order statistics
/// (Hyndman & Fan type 7, numpy's default `method="linear"`): h = (n - 1) q,
/// Q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
func quantileType7(sorted: [Double], _ q: Double) -> Double {
    precondition(!sorted.isEmpty && (0...1).contains(q))
    let h = Double(sorted.count - 1) * q
    let lo = Int(h.rounded(.down))
    let hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
}
