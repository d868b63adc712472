import SonoKitCore

/// The bootstrap's draws from the one seeded generator (SonoKitCore's SplitMix64), so that an
/// interval is reproducible from the seed written in the report and a reference script can replay
/// the exact draws.
extension SplitMix64 {
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
