/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator that passes BigCrush, fully
/// determined by one 64-bit seed. Used for the bootstrap so that an interval is reproducible from
/// the seed written in the report, and so that a reference script can replay the exact draws.
///
///     state += 0x9E3779B97F4A7C15
///     z = state; z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) · 0x94D049BB133111EB
///     next = z ^ (z >> 31)
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

    /// A uniform integer in 0..<bound by Lemire's multiply-and-reject method (2019): exact, no
    /// modulo bias. Spelled out (rather than `Int.random(in:using:)`) so that the draws are a
    /// documented function of the seed, independent of the Swift standard library version.
    public mutating func uniform(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
