/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
/// the constants of Vigna's reference `splitmix64.c`): a 64-bit state advanced by the golden-ratio
/// increment and a bijective mixer. The one seeded generator of the project: weight
/// initialisation and dropout (CNN), every training stream (Training), the patient shuffle of
/// splits (Manifest) and the bootstrap (Evaluation) all draw from it, so a seed gives the same
/// numbers bit for bit on every machine and Swift version (`SystemRandomNumberGenerator` cannot be
/// seeded, and the standard library's `random(in:using:)` does not promise its algorithm).
///
///     state += 0x9E3779B97F4A7C15
///     z = state; z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) · 0x94D049BB133111EB
///     next = z ^ (z >> 31)
///
/// Bounded integers are drawn by each module's own documented method (Manifest: rejection of
/// the modulo remainder, `next(below:)`; Evaluation: Lemire's multiply-and-reject,
/// `uniform(below:)`), kept as extensions there so that every recorded split and interval is
/// reproduced draw for draw.
public struct SplitMix64: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The whole generator state; saving it and restoring it resumes the same stream.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in [0, 1) from the top 24 bits (exactly representable, no rounding bias).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// An independent stream derived from this one (for a sub-task such as one layer's init).
    public mutating func split() -> SplitMix64 { SplitMix64(seed: next()) }

    /// A uniform float in [-limit, limit).
    public mutating func nextUniform(limit: Float) -> Float {
        (nextUnitFloat() * 2 - 1) * limit
    }
}
