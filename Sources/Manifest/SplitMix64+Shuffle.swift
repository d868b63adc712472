import SonoKitCore

/// The split's draws from the one seeded generator (SonoKitCore's SplitMix64): bounded integers by
/// rejecting the modulo remainder, and a Fisher-Yates shuffle. Written out here, not taken from
/// the standard library, so that every splits file ever written is reproduced draw for draw.
extension SplitMix64 {
    /// A uniform integer in `0..<bound` by rejection (no modulo bias).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt64.max - (UInt64.max % bound)   // largest multiple of bound, exclusive
        while true {
            let value = next()
            if value < limit { return value % bound }
        }
    }

    /// Fisher-Yates shuffle driven only by this generator (Swift's `shuffle(using:)` does not
    /// promise the same algorithm across versions).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(next(below: UInt64(i + 1)))
            array.swapAt(i, j)
        }
    }
}
