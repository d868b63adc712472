import CNN
import SonoKitCore

/// Every random stream of a run, derived from the one `--seed`: each stream is a pure function of
/// (seed, purpose, counters), so that nothing random has to be saved to resume a run — a
/// checkpoint's epoch and batch counters re-create exactly the numbers an uninterrupted run would
/// have drawn next.
///
///     derive(seed, p, a, b) = SplitMix64(seed ⊕ (p·φ)) → next() ⊕ a → SplitMix64 → next() ⊕ b → SplitMix64
///
/// with φ = 0x9E3779B97F4A7C15 (distinct purposes start from well separated states).
public enum SeedStreams {
    public enum Purpose: UInt64 { case initialisation = 1, shuffle = 2, augmentation = 3, dropout = 4 }

    public static func stream(_ seed: UInt64, _ purpose: Purpose, _ counters: UInt64...) -> SplitMix64 {
        var g = SplitMix64(seed: seed ^ (purpose.rawValue &* 0x9E37_79B9_7F4A_7C15))
        for c in counters { g = SplitMix64(seed: g.next() ^ c) }
        return g
    }

    /// The visiting order of `count` training samples in `epoch` (Fisher–Yates with the shuffle stream).
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var g = stream(seed, .shuffle, UInt64(epoch))
        var order = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = Int(g.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }
}
