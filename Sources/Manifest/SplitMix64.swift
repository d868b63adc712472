/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
/// the constants of Vigna's reference `splitmix64.c`): a 64-bit state advanced by the golden-ratio
/// increment and a bijective mixer. Explicit and portable, so a seed gives the same split on every
/// machine and Swift version (Swift's `SystemRandomNumberGenerator` cannot be seeded).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
