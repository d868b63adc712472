import Dispatch
import Foundation

/// Timing helpers shared by the benchmarks: the same work measured the same way everywhere.
enum BenchTiming {
    /// Runs `body(i)` for i in 0..<count on `threads` threads pulling from a shared counter.
    static func parallel(_ count: Int, threads: Int, _ body: @escaping (Int) -> Void) {
        let lock = NSLock()
        var next = 0
        DispatchQueue.concurrentPerform(iterations: min(threads, max(count, 1))) { _ in
            while true {
                lock.lock(); let i = next; next += 1; lock.unlock()
                guard i < count else { return }
                body(i)
            }
        }
    }

    /// The shortest wall time of `repeats` runs of `work`, in seconds (best-of is the least
    /// disturbed by other processes on a shared machine).
    static func best(_ repeats: Int, _ work: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now()
            work()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        }
        return best
    }

    /// A rate for a table: no decimals from 100 up, one below.
    static func format(_ x: Double) -> String { String(format: x >= 100 ? "%.0f" : "%.1f", x) }
}
