import Foundation
import SonoKitCore

/// The random draws of the synthetic cohort generator, all from the project's one seeded
/// generator (SonoKitCore's SplitMix64), so that a seed gives the same cohort bit for bit on every
/// machine and Swift version.
///
/// - `uniform(a, b)`: `a + (b − a)·u` with `u = (next() >> 11) · 2⁻⁵³` in [0, 1) (53 exact bits).
/// - `integer(below: n)`: Lemire's multiply-and-reject (exact, no modulo bias).
/// - `normal()`: the Box–Muller transform, `√(−2 ln u₁) · cos(2π u₂)` with `u₁ ∈ (0, 1]`; one
///   standard normal per two uniforms (the sine half is not kept, so a stream's position depends
///   only on how many normals were drawn).
/// - `permutation(n)`: Fisher–Yates from the last index down, `j = integer(below: i + 1)`.
public struct SyntheticDraws: Sendable {
    public private(set) var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// A stream for one named part of the cohort (a study, an instance, a field): the seed mixed
    /// with the path components by SplitMix64 steps, so that streams never overlap in practice
    /// and adding a study does not change the pictures of the others.
    public init(seed: UInt64, path: [UInt64]) {
        var mixer = SplitMix64(seed: seed)
        var state = mixer.next()
        for component in path {
            mixer = SplitMix64(seed: state ^ (component &* 0x9E37_79B9_7F4A_7C15))
            state = mixer.next()
        }
        generator = SplitMix64(seed: state)
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(generator.next() >> 11) * 0x1p-53 }

    /// A uniform double in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }

    /// A uniform integer in 0..<n (n ≥ 1), by Lemire's method.
    public mutating func integer(below n: Int) -> Int {
        precondition(n > 0, "integer(below:) needs a positive bound")
        let bound = UInt64(n)
        var product = generator.next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = generator.next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }

    /// A uniform integer in the closed range.
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + integer(below: range.upperBound - range.lowerBound + 1)
    }

    /// True with probability p.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A standard normal deviate (Box–Muller, cosine branch).
    public mutating func normal() -> Double {
        let u1 = 1.0 - unit()          // (0, 1]: log is finite
        let u2 = unit()
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }

    /// One element, uniformly.
    public mutating func choice<T>(_ items: [T]) -> T {
        precondition(!items.isEmpty, "choice from an empty list")
        return items[integer(below: items.count)]
    }

    /// A uniformly random order of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var order = Array(0..<n)
        var i = n - 1
        while i > 0 {
            let j = integer(below: i + 1)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// The items in a uniformly random order.
    public mutating func shuffled<T>(_ items: [T]) -> [T] { permutation(items.count).map { items[$0] } }
}
